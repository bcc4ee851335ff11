import type { Entry } from "../types.js";
import type { StoreContext } from "./context.js";
import {
  addIn,
  ENTRY_COLUMNS,
  entryOf,
  NO_VIEW_COLUMNS,
  OWN_VIEW,
  SHARED_VIEW,
  VIEW_COLUMNS,
} from "./rows.js";
import type { Visibility } from "../types.js";
import type { EntrySize, GetQuery, Locus, SizesQuery } from "./types.js";
import { mayInherit } from "./views.js";

/** The read path: entries by query, one by path, and each run's newest match. */

/** The FROM and WHERE of a query's rows, shared by the full read and the lean one. */
interface Located {
  readonly from: string;
  readonly where: string[];
  readonly params: unknown[];
  readonly viewColumns: string;
}

function locate(ctx: StoreContext, query: SizesQuery): Located {
  const where: string[] = [];
  const params: unknown[] = [];
  let from: string;
  let viewColumns = VIEW_COLUMNS;
  if (query.runId !== undefined) {
    if (mayInherit(ctx, query.runId, query)) {
      from = `(SELECT ${OWN_VIEW} FROM run_views WHERE run_id = ?
        UNION ALL SELECT ${SHARED_VIEW} FROM run_view_sets l
          JOIN view_set_rows s ON s.set_id = l.set_id
          WHERE l.run_id = ? AND NOT EXISTS
            (SELECT 1 FROM run_views o WHERE o.run_id = l.run_id AND o.entry_id = s.entry_id)
      ) v JOIN entries e ON e.id = v.entry_id`;
      params.push(query.runId, query.runId);
    } else {
      from = `run_views v JOIN entries e ON e.id = v.entry_id`;
      where.push("v.run_id = ?");
      params.push(query.runId);
    }
  } else {
    // No view outside a run. (A `LEFT JOIN run_views ON 0` here made SQLite scan every view for every entry.)
    from = "entries e";
    viewColumns = NO_VIEW_COLUMNS;
    const scopes = ["global"];
    if (query.projectId !== undefined) scopes.push(`project:${query.projectId}`);
    where.push(`e.scope IN (${scopes.map(() => "?").join(", ")})`);
    params.push(...scopes);
  }
  if (query.path !== undefined) {
    where.push("e.path = ?");
    params.push(query.path);
  }
  if (query.pattern !== undefined) {
    where.push("e.path GLOB ?");
    params.push(query.pattern);
  }
  if (query.bodyFilter !== undefined) {
    where.push("e.body GLOB ?");
    params.push(/[*?[]/.test(query.bodyFilter) ? query.bodyFilter : `*${query.bodyFilter}*`);
  }
  addIn(where, params, "e.scheme", query.scheme);
  if (query.runId !== undefined) {
    addIn(where, params, "v.state", query.state);
    addIn(where, params, "v.visibility", query.visibility);
  } else if (query.state !== undefined || query.visibility !== undefined) {
    where.push("0"); // outside a run nothing has a state or visibility to match
  }
  return { from, where, params, viewColumns };
}

/** Entries matching a query. Inside a run, only entries the run has a view of. */
export function get(ctx: StoreContext, query: GetQuery): Entry[] {
  const { from, where, params, viewColumns } = locate(ctx, query);
  const withBody = query.includeBody !== false;
  const order =
    query.order === "updated"
      ? "e.updated_at, e.id"
      : query.order === "id"
        ? "e.id"
        : "e.path, e.id";
  const select: unknown[] = [];
  let columns = ENTRY_COLUMNS;
  if (query.attributeKeys !== undefined) {
    columns = ENTRY_COLUMNS.replace("e.attributes", attributesWith(query.attributeKeys.length));
    select.push(...query.attributeKeys);
  }
  params.unshift(...select);
  let sql = `SELECT ${columns}, ${withBody ? "e.body" : "'' AS body"}, ${viewColumns}
    FROM ${from} WHERE ${where.length ? where.join(" AND ") : "1"} ORDER BY ${order}`;
  if (query.limit !== undefined) {
    sql += " LIMIT ? OFFSET ?";
    params.push(query.limit, query.offset ?? 0);
  }
  return ctx
    .prepared(sql)
    .all(...params)
    .map(entryOf);
}

/**
 * Path, scheme, visibility and full tokens of each entry matching a query, in no particular order:
 * for totals and indexes over many entries, which need neither bodies nor attributes nor whole
 * entries (at 100k rows this is several times cheaper than `get`).
 */
export function sizes(ctx: StoreContext, query: SizesQuery): EntrySize[] {
  const { from, where, params } = locate(ctx, query);
  const visibility = query.runId !== undefined ? "v.visibility" : "NULL";
  return ctx
    .prepared(
      `SELECT e.path, e.scheme, ${visibility}, e.tokens FROM ${from}
        WHERE ${where.length ? where.join(" AND ") : "1"}`,
    )
    .all(...params)
    .map((row) => {
      const [path, scheme, vis, tokens] = row as [string, string, Visibility | null, number];
      return { path, scheme, visibility: vis, tokens };
    });
}

/**
 * The attributes column cut to some keys, in SQL (its `?`s are the keys): the record is parsed in
 * SQLite and only the kept keys reach JavaScript. json_each gives true/false as 1/0, so those two
 * are turned back into JSON; objects and arrays come out of it as JSON already.
 */
function attributesWith(keys: number): string {
  if (keys === 0) return "'{}' AS attributes";
  return `(SELECT coalesce(json_group_object(a.key, CASE a.type WHEN 'true' THEN json('true')
      WHEN 'false' THEN json('false') ELSE a.value END), '{}')
    FROM json_each(e.attributes) a WHERE a.key IN (${Array(keys).fill("?").join(", ")})) AS attributes`;
}

/**
 * The newest (by id) run-owned entry matching `pattern` in each run of a project — what a list
 * of runs shows as each one's latest word — in one query, however many runs there are. Only id,
 * path and body: a list of a thousand runs should not pay for whole entries.
 */
export function newestPerRun(
  ctx: StoreContext,
  projectId: number,
  pattern: string,
): Map<number, { readonly id: number; readonly path: string; readonly body: string }> {
  const rows = ctx.stmt.newestPerRun.all(pattern, projectId) as [number, number, string, string][];
  return new Map(rows.map(([runId, id, path, body]) => [runId, { id, path, body }]));
}

/** One entry by exact path, or undefined. */
export function getOne(ctx: StoreContext, locus: Locus, path: string): Entry | undefined {
  return get(ctx, { ...locus, path })[0];
}
