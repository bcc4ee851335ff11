import { createHash } from "node:crypto";
import type { Db } from "./db/open.js";
import { badRequest, RummyError } from "./errors.js";
import { schemeOf } from "./paths.js";
import { mayWrite, type Scheme, type SchemeRegistry } from "./schemes.js";
import { statusOf } from "./status.js";
import type { Tokenizer } from "./tokens.js";
import {
  type Attributes,
  ENTRY_STATES,
  type Entry,
  type EntryState,
  VISIBILITIES,
  type Visibility,
  WRITERS,
  type Writer,
} from "./types.js";

/** Where a write or read happens: inside a run (through its views) or at project/global level. */
export interface Locus {
  /** The run whose view is read or written. Implies the project. */
  readonly runId?: number;
  /** Required for project-scoped entries when no run is given. */
  readonly projectId?: number;
}

export interface SetInput extends Locus {
  readonly path: string;
  /** New body. Omitted: the body is left as it is (or empty on create). */
  readonly body?: string;
  /** Append `body` to the existing body instead of replacing it. */
  readonly append?: boolean;
  readonly state?: EntryState;
  /** Why an entry failed or was cancelled (`permission:403`, `exit:1`). `null` clears it. */
  readonly outcome?: string | null;
  readonly visibility?: Visibility;
  /** Shallow-merged into the existing attributes; a `null` value deletes the key. */
  readonly attributes?: Attributes;
  readonly turn?: number;
  readonly loopId?: number | null;
  readonly writer?: Writer;
}

/** A bulk change of the run's views of every entry matching a glob. Bodies never change in bulk. */
export interface SetPatternInput extends Locus {
  readonly pattern: string;
  readonly state?: EntryState;
  readonly outcome?: string | null;
  readonly visibility?: Visibility;
  readonly attributes?: Attributes;
  readonly writer?: Writer;
  /** Only entries whose view is currently in one of these visibilities. */
  readonly whereVisibility?: Visibility | readonly Visibility[];
  /** Only entries whose body matches (glob; plain text matches as a substring). */
  readonly bodyFilter?: string;
}

export interface WriteResult {
  readonly ok: boolean;
  /** HTTP-style status of the write: the entry's projected status, or why it failed. */
  readonly status: number;
  readonly path: string;
  readonly state?: EntryState;
  readonly outcome?: string | null;
  readonly entryId?: number;
  readonly created?: boolean;
  /** How many entries a pattern or removal touched. */
  readonly count?: number;
  readonly paths?: readonly string[];
  /** A sentence for whoever made the write when it did not succeed. */
  readonly error?: string;
}

export interface GetQuery extends Locus {
  /** An exact path. */
  readonly path?: string;
  /** A glob over paths (`known://*`, `src/*.ts`); `*` crosses `/`. */
  readonly pattern?: string;
  /** A glob over bodies; text without wildcards matches as a substring. */
  readonly bodyFilter?: string;
  readonly scheme?: string | readonly string[];
  readonly state?: EntryState | readonly EntryState[];
  readonly visibility?: Visibility | readonly Visibility[];
  /** Leave bodies out (empty strings) when only metadata is needed. Default true. */
  readonly includeBody?: boolean;
  readonly order?: "path" | "id" | "updated";
  readonly limit?: number;
  readonly offset?: number;
}

export interface RemoveInput extends Locus {
  readonly path?: string;
  readonly pattern?: string;
  /** With a pattern: only entries whose body matches. */
  readonly bodyFilter?: string;
  readonly writer?: Writer;
}

export interface CopyInput extends Locus {
  readonly from: string;
  readonly to: string;
  readonly writer?: Writer;
  readonly turn?: number;
  readonly loopId?: number | null;
  readonly visibility?: Visibility;
}

export type StoreChange =
  | {
      readonly op: "set";
      readonly runId: number | null;
      readonly path: string;
      readonly scope: string;
      readonly state: EntryState | null;
      readonly visibility: Visibility | null;
      readonly created: boolean;
      readonly appended: boolean;
      readonly writer: Writer;
    }
  | {
      readonly op: "rm";
      readonly runId: number | null;
      readonly path: string;
      readonly scope: string;
      readonly writer: Writer;
    };

export type StoreObserver = (change: StoreChange) => void;

const MAX_PATH = 2048;

interface Query {
  all(...params: unknown[]): unknown[];
}
const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
const ENTRY_COLUMNS = `e.id, e.scope, e.path, e.scheme, e.attributes, e.hash, e.tokens,
  e.created_at, e.updated_at`;
const VIEW_COLUMNS = `v.run_id, v.loop_id, v.turn, v.state, v.outcome, v.visibility,
  v.write_count, v.writer`;
const OWN_VIEW = `run_id, entry_id, loop_id, turn, state, outcome, visibility, write_count, writer`;
const SHARED_VIEW = `l.run_id, s.entry_id, NULL, l.turn, 'resolved', NULL, s.visibility, 1, l.writer`;
const NO_VIEW_COLUMNS = `NULL AS run_id, NULL AS loop_id, NULL AS turn, NULL AS state, NULL AS outcome,
  NULL AS visibility, NULL AS write_count, NULL AS writer`;

/** The per-run part of a row: what a run's view says about an entry. */
type ViewFields = Pick<
  Row,
  "state" | "outcome" | "visibility" | "turn" | "loop_id" | "write_count"
>;

interface Row {
  id: number;
  scope: string;
  path: string;
  scheme: string;
  body?: string;
  attributes: string;
  hash: string | null;
  tokens: number;
  created_at: string;
  updated_at: string;
  run_id: number | null;
  loop_id: number | null;
  turn: number | null;
  state: EntryState | null;
  outcome: string | null;
  visibility: Visibility | null;
  write_count: number | null;
  writer: Writer | null;
}

/**
 * The entries store: every piece of model-facing state, addressed by path.
 * Content lives once per scope in `entries`; each run sees an entry through
 * its own row in `run_views` (state, outcome, visibility, turn, loop). All
 * verbs are synchronous and each is one transaction, so a write that
 * returned is committed.
 */
export class EntryStore {
  readonly #db: Db;
  readonly #schemes: SchemeRegistry;
  readonly #tokenizer: Tokenizer;
  readonly #observers = new Set<StoreObserver>();
  readonly #runProject = new Map<number, number>();
  readonly #stmt;

  constructor(db: Db, schemes: SchemeRegistry, tokenizer: Tokenizer) {
    this.#db = db;
    this.#schemes = schemes;
    this.#tokenizer = tokenizer;
    this.#stmt = {
      runProject: db.prepare("SELECT project_id FROM runs WHERE id = ?").pluck(),
      findForRun: db.prepare(
        `SELECT ${ENTRY_COLUMNS}, ${VIEW_COLUMNS} FROM entries e
         LEFT JOIN run_views v ON v.entry_id = e.id AND v.run_id = ?
         WHERE e.scope = ? AND e.path = ?`,
      ),
      body: db.prepare("SELECT body FROM entries WHERE id = ?").pluck(),
      insertEntry: db
        .prepare(
          `INSERT INTO entries (scope, path, body, attributes, hash, tokens)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
        )
        .pluck(),
      replaceBody: db.prepare(
        `UPDATE entries SET body = ?, attributes = ?, hash = ?, tokens = ?, updated_at = ${NOW}
         WHERE id = ?`,
      ),
      appendBody: db.prepare(
        `UPDATE entries SET body = body || ?, attributes = ?, hash = NULL, tokens = tokens + ?,
           updated_at = ${NOW} WHERE id = ?`,
      ),
      setAttributes: db.prepare(
        `UPDATE entries SET attributes = ?, updated_at = ${NOW} WHERE id = ?`,
      ),
      insertView: db.prepare(
        `INSERT INTO run_views (run_id, entry_id, loop_id, turn, state, outcome, visibility, writer)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateView: db.prepare(
        `UPDATE run_views SET loop_id = ?, turn = ?, state = ?, outcome = ?, visibility = ?,
           writer = ?, write_count = write_count + 1, updated_at = ${NOW}
         WHERE run_id = ? AND entry_id = ?`,
      ),
      deleteView: db.prepare("DELETE FROM run_views WHERE run_id = ? AND entry_id = ?"),
      insertViewCounted: db.prepare(
        `INSERT INTO run_views (run_id, entry_id, loop_id, turn, state, outcome, visibility, writer,
           write_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // Seeks each run's own scope by path prefix (the GLOB), so the cost follows the matches.
      newestPerRun: db
        .prepare(
          `SELECT m.run_id, e.id, e.path, e.body FROM
             (SELECT r.id AS run_id, max(x.id) AS entry_id FROM runs r
                JOIN entries x ON x.scope = 'run:' || r.id AND x.path GLOB ?
                JOIN run_views o ON o.run_id = r.id AND o.entry_id = x.id
              WHERE r.project_id = ? GROUP BY r.id) m
           JOIN entries e ON e.id = m.entry_id`,
        )
        .raw(),
      runSet: db.prepare("SELECT set_id, turn, writer FROM run_view_sets WHERE run_id = ?"),
      shared: db.prepare(
        `SELECT s.visibility, l.turn, l.writer FROM run_view_sets l
         JOIN view_set_rows s ON s.set_id = l.set_id AND s.entry_id = ? WHERE l.run_id = ?`,
      ),
      sharedOnly: db
        .prepare(
          `SELECT s.entry_id FROM run_view_sets l JOIN view_set_rows s ON s.set_id = l.set_id
           WHERE l.run_id = ? AND NOT EXISTS
             (SELECT 1 FROM run_views o WHERE o.run_id = l.run_id AND o.entry_id = s.entry_id)`,
        )
        .pluck(),
      setSchemes: db.prepare("SELECT schemes FROM view_sets WHERE id = ?").pluck(),
      findSet: db.prepare("SELECT id FROM view_sets WHERE scope = ? AND digest = ?").pluck(),
      setSize: db.prepare("SELECT count(*) FROM view_set_rows WHERE set_id = ?").pluck(),
      retireSet: db.prepare("UPDATE view_sets SET digest = NULL WHERE id = ?"),
      insertSet: db
        .prepare("INSERT INTO view_sets (scope, digest, schemes) VALUES (?, ?, ?) RETURNING id")
        .pluck(),
      insertSetRow: db.prepare(
        "INSERT INTO view_set_rows (set_id, entry_id, visibility) VALUES (?, ?, ?)",
      ),
      link: db.prepare(
        "INSERT INTO run_view_sets (run_id, set_id, turn, writer) VALUES (?, ?, ?, ?)",
      ),
      ownCopy: db.prepare(
        `INSERT INTO run_views (run_id, entry_id, turn, state, visibility, write_count, writer)
         SELECT l.run_id, s.entry_id, l.turn, 'resolved', s.visibility, 1, l.writer
         FROM run_view_sets l JOIN view_set_rows s ON s.set_id = l.set_id
         WHERE l.run_id = ? AND NOT EXISTS
           (SELECT 1 FROM run_views o WHERE o.run_id = l.run_id AND o.entry_id = s.entry_id)`,
      ),
      unlink: db.prepare("DELETE FROM run_view_sets WHERE run_id = ? RETURNING set_id").pluck(),
      dropUnusedSet: db.prepare(
        "DELETE FROM view_sets WHERE id = ? AND NOT EXISTS (SELECT 1 FROM run_view_sets WHERE set_id = ?)",
      ),
      deleteEntry: db.prepare("DELETE FROM entries WHERE id = ?"),
    };
  }

  /** Subscribes to committed changes. Observers run synchronously after the commit; keep them cheap. */
  observe(observer: StoreObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** Runs `fn` in one transaction: many writes, one commit (nested calls join the outer one). */
  batch<T>(fn: () => T): T {
    const pending: StoreChange[] = [];
    const previous = this.#pending;
    this.#pending = previous ?? pending;
    try {
      const result = this.#db.transaction(fn)();
      if (!previous) this.#flush(pending);
      return result;
    } finally {
      this.#pending = previous;
    }
  }

  #pending: StoreChange[] | undefined;
  readonly #queries = new Map<string, Query>();

  /** Queries are built from a few optional clauses, so their shapes repeat: prepare each once. */
  #prepared(sql: string): Query {
    let stmt = this.#queries.get(sql);
    if (!stmt) {
      if (this.#queries.size > 500) this.#queries.clear();
      stmt = this.#db.prepare(sql) as unknown as Query;
      this.#queries.set(sql, stmt);
    }
    return stmt;
  }

  #notify(change: StoreChange): void {
    if (this.#pending) this.#pending.push(change);
    else this.#flush([change]);
  }

  #flush(changes: StoreChange[]): void {
    for (const change of changes) {
      for (const observer of this.#observers) {
        try {
          observer(change);
        } catch {
          // An observer's failure is its own; the write is already committed.
        }
      }
    }
  }

  /** Creates or updates one entry (and the run's view of it). */
  set(input: SetInput): WriteResult {
    const writer = input.writer ?? "plugin";
    checkWriter(writer);
    const path = checkPath(input.path);
    if (input.state !== undefined && !ENTRY_STATES.includes(input.state)) {
      throw badRequest(`invalid state '${String(input.state)}'`);
    }
    if (input.visibility !== undefined && !VISIBILITIES.includes(input.visibility)) {
      throw badRequest(`invalid visibility '${String(input.visibility)}'`);
    }
    if (input.body !== undefined && typeof input.body !== "string") {
      throw badRequest("body must be a string");
    }
    if (input.append && input.body === undefined) throw badRequest("append needs a body");
    checkAttributes(input.attributes);
    // Visibility is the run's own view of an entry, not its content: changing only that needs no write permission.
    const viewOnly =
      input.runId !== undefined &&
      input.body === undefined &&
      input.attributes === undefined &&
      input.state === undefined &&
      input.outcome === undefined;
    const access = this.#access(path, viewOnly ? "system" : writer, input);
    if ("denied" in access) return access.denied;
    const { scope, runId } = access;

    const result = this.#db.transaction((): WriteResult => {
      const row = this.#stmt.findForRun.get(runId ?? -1, scope, path) as Row | undefined;
      const created = !row;
      const attributes = mergeAttributes(row ? parseJson(row.attributes) : {}, input.attributes);
      const attributesJson = JSON.stringify(attributes);
      let entryId: number;
      if (!row) {
        const body = input.body ?? "";
        entryId = this.#stmt.insertEntry.get(
          scope,
          path,
          body,
          attributesJson,
          hashOf(body),
          this.#tokenizer.count(body),
        ) as number;
      } else {
        entryId = row.id;
        if (input.body !== undefined && input.append) {
          this.#stmt.appendBody.run(
            input.body,
            attributesJson,
            this.#tokenizer.count(input.body),
            entryId,
          );
        } else if (input.body !== undefined) {
          this.#stmt.replaceBody.run(
            input.body,
            attributesJson,
            hashOf(input.body),
            this.#tokenizer.count(input.body),
            entryId,
          );
        } else if (input.attributes !== undefined) {
          this.#stmt.setAttributes.run(attributesJson, entryId);
        }
      }
      if (runId === undefined) {
        return { ok: true, status: 200, path, entryId, created };
      }
      // The run's view: its own row, else the shared one it inherited (written over on first change).
      const view: ViewFields | undefined =
        row?.run_id != null ? row : row ? this.#sharedView(runId, entryId) : undefined;
      const state = input.state ?? view?.state ?? "resolved";
      const outcome =
        input.outcome !== undefined
          ? input.outcome
          : input.state !== undefined
            ? null
            : (view?.outcome ?? null);
      const visibility = input.visibility ?? view?.visibility ?? "visible";
      const turn = input.turn ?? view?.turn ?? 0;
      const loopId = input.loopId !== undefined ? input.loopId : (view?.loop_id ?? null);
      if (row?.run_id != null) {
        this.#stmt.updateView.run(loopId, turn, state, outcome, visibility, writer, runId, entryId);
      } else if (view) {
        this.#stmt.insertViewCounted.run(
          runId,
          entryId,
          loopId,
          turn,
          state,
          outcome,
          visibility,
          writer,
          view.write_count! + 1,
        );
      } else {
        this.#stmt.insertView.run(runId, entryId, loopId, turn, state, outcome, visibility, writer);
      }
      return { ok: true, status: statusOf(state, outcome), path, state, outcome, entryId, created };
    })();

    this.#notify({
      op: "set",
      runId: runId ?? null,
      path,
      scope,
      state: result.state ?? null,
      visibility: input.visibility ?? null,
      created: result.created ?? false,
      appended: Boolean(input.append),
      writer,
    });
    return result;
  }

  /** Changes state, outcome, visibility or attributes of every entry in the run's view matching `pattern`. */
  setPattern(input: SetPatternInput): WriteResult {
    const writer = input.writer ?? "plugin";
    checkWriter(writer);
    if (input.runId === undefined) throw badRequest("a pattern set needs a run");
    if (input.state !== undefined && !ENTRY_STATES.includes(input.state)) {
      throw badRequest(`invalid state '${String(input.state)}'`);
    }
    if (input.visibility !== undefined && !VISIBILITIES.includes(input.visibility)) {
      throw badRequest(`invalid visibility '${String(input.visibility)}'`);
    }
    checkAttributes(input.attributes);
    const matches = this.get({
      runId: input.runId,
      pattern: input.pattern,
      includeBody: false,
      ...(input.whereVisibility !== undefined ? { visibility: input.whereVisibility } : {}),
      ...(input.bodyFilter !== undefined ? { bodyFilter: input.bodyFilter } : {}),
    });
    const viewOnly =
      input.state === undefined && input.outcome === undefined && input.attributes === undefined;
    const denied = viewOnly ? undefined : matches.find((e) => !this.#writable(e.scheme, writer));
    if (denied) {
      return forbidden(denied.path, writer, `cannot write '${denied.path}'`);
    }
    this.batch(() => {
      for (const entry of matches) {
        this.set({
          runId: input.runId,
          path: entry.path,
          writer,
          ...(input.state !== undefined ? { state: input.state } : {}),
          ...(input.outcome !== undefined ? { outcome: input.outcome } : {}),
          ...(input.visibility !== undefined ? { visibility: input.visibility } : {}),
          ...(input.attributes !== undefined ? { attributes: input.attributes } : {}),
        });
      }
    });
    return {
      ok: true,
      status: 200,
      path: input.pattern,
      count: matches.length,
      paths: matches.map((e) => e.path),
    };
  }

  /** Entries matching a query. Inside a run, only entries the run has a view of. */
  get(query: GetQuery): Entry[] {
    const where: string[] = [];
    const params: unknown[] = [];
    const withBody = query.includeBody !== false;
    let from: string;
    let viewColumns = VIEW_COLUMNS;
    if (query.runId !== undefined) {
      if (this.#mayInherit(query.runId, query)) {
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
    const order =
      query.order === "updated"
        ? "e.updated_at, e.id"
        : query.order === "id"
          ? "e.id"
          : "e.path, e.id";
    let sql = `SELECT ${ENTRY_COLUMNS}, ${withBody ? "e.body" : "'' AS body"}, ${viewColumns}
      FROM ${from} WHERE ${where.length ? where.join(" AND ") : "1"} ORDER BY ${order}`;
    if (query.limit !== undefined) {
      sql += " LIMIT ? OFFSET ?";
      params.push(query.limit, query.offset ?? 0);
    }
    return (this.#prepared(sql).all(...params) as Row[]).map(toEntry);
  }

  /**
   * The newest (by id) run-owned entry matching `pattern` in each run of a project — what a list
   * of runs shows as each one's latest word — in one query, however many runs there are. Only id,
   * path and body: a list of a thousand runs should not pay for whole entries.
   */
  newestPerRun(
    projectId: number,
    pattern: string,
  ): Map<number, { readonly id: number; readonly path: string; readonly body: string }> {
    const rows = this.#stmt.newestPerRun.all(pattern, projectId) as [
      number,
      number,
      string,
      string,
    ][];
    return new Map(rows.map(([runId, id, path, body]) => [runId, { id, path, body }]));
  }

  /** One entry by exact path, or undefined. */
  getOne(locus: Locus, path: string): Entry | undefined {
    return this.get({ ...locus, path })[0];
  }

  /**
   * Removes entries. Inside a run this removes the run's view; content owned
   * by the run (scope `run:N`) is deleted with it, shared content stays for
   * the other runs and the project.
   */
  rm(input: RemoveInput): WriteResult {
    const writer = input.writer ?? "plugin";
    checkWriter(writer);
    if ((input.path === undefined) === (input.pattern === undefined)) {
      throw badRequest("rm takes exactly one of path or pattern");
    }
    const target = input.path !== undefined ? checkPath(input.path) : input.pattern!;
    const matches = this.get({
      ...(input.runId !== undefined ? { runId: input.runId } : {}),
      ...(input.projectId !== undefined ? { projectId: input.projectId } : {}),
      ...(input.path !== undefined ? { path: target } : { pattern: target }),
      ...(input.bodyFilter !== undefined ? { bodyFilter: input.bodyFilter } : {}),
      includeBody: false,
    });
    if (matches.length === 0) {
      return { ok: false, status: 404, path: target, count: 0, error: `no entry at '${target}'` };
    }
    const denied = matches.find((e) => !this.#writable(e.scheme, writer));
    if (denied) return forbidden(denied.path, writer, `cannot remove '${denied.path}'`);
    const runScope = input.runId !== undefined ? `run:${input.runId}` : undefined;
    const changes: StoreChange[] = [];
    this.#db.transaction(() => {
      if (input.runId !== undefined && matches.some((e) => e.scope !== runScope)) {
        this.#ownViews(input.runId);
      }
      for (const entry of matches) {
        if (input.runId !== undefined) this.#stmt.deleteView.run(input.runId, entry.id);
        if (input.runId === undefined || entry.scope === runScope) {
          this.#stmt.deleteEntry.run(entry.id);
        }
        changes.push({
          op: "rm",
          runId: input.runId ?? null,
          path: entry.path,
          scope: entry.scope,
          writer,
        });
      }
    })();
    for (const change of changes) this.#notify(change);
    return {
      ok: true,
      status: 200,
      path: target,
      count: matches.length,
      paths: matches.map((e) => e.path),
    };
  }

  /** Copies an entry's body and attributes to a new path (in the destination scheme's scope). */
  cp(input: CopyInput): WriteResult {
    return this.#copy(input, false);
  }

  /** Renames an entry: a copy to the new path and removal of the old, in one transaction. */
  mv(input: CopyInput): WriteResult {
    return this.#copy(input, true);
  }

  #copy(input: CopyInput, move: boolean): WriteResult {
    const writer = input.writer ?? "plugin";
    checkWriter(writer);
    const from = checkPath(input.from);
    const to = checkPath(input.to);
    const locus: Locus = {
      ...(input.runId !== undefined ? { runId: input.runId } : {}),
      ...(input.projectId !== undefined ? { projectId: input.projectId } : {}),
    };
    const source = this.getOne(locus, from);
    if (!source) return { ok: false, status: 404, path: from, error: `no entry at '${from}'` };
    if (from === to)
      return { ok: false, status: 409, path: to, error: "source and destination are the same" };
    if (move && !this.#writable(source.scheme, writer)) {
      return forbidden(from, writer, `cannot move '${from}'`);
    }
    return this.batch(() => {
      const existing = this.getOne(locus, to);
      const clearAttributes: Attributes = {};
      for (const key of Object.keys(existing?.attributes ?? {})) clearAttributes[key] = null;
      const written = this.set({
        ...locus,
        path: to,
        body: source.body,
        attributes: { ...clearAttributes, ...source.attributes },
        state: "resolved",
        writer,
        ...(input.turn !== undefined ? { turn: input.turn } : {}),
        ...(input.loopId !== undefined ? { loopId: input.loopId } : {}),
        ...(input.visibility !== undefined
          ? { visibility: input.visibility }
          : source.visibility
            ? { visibility: source.visibility }
            : {}),
      });
      if (!written.ok || !move) return written;
      const removed = this.rm({ ...locus, path: from, writer });
      if (!removed.ok) throw new RummyError(removed.status, removed.error ?? "move failed");
      return written;
    });
  }

  /**
   * Gives a run views of many existing project (or global) entries at once, as `set` with only a
   * visibility would for each: state resolved, no outcome, the given turn and writer. A run's first
   * such batch is shared — runs given the same entries with the same visibilities point at one set
   * of rows — so a new run costs its own views, not the project's size. Paths the run already has
   * a view of, or that name no entry, go through `set` one by one.
   */
  addViews(input: {
    readonly runId: number;
    readonly views: readonly { readonly path: string; readonly visibility: Visibility }[];
    readonly turn?: number;
    readonly writer?: Writer;
  }): WriteResult {
    const writer = input.writer ?? "plugin";
    checkWriter(writer);
    const runId = input.runId;
    const turn = input.turn ?? 0;
    const shareable: { entryId: number; path: string; scope: string; visibility: Visibility }[] =
      [];
    const rest: { path: string; visibility: Visibility }[] = [];
    const canShare = this.#stmt.runSet.get(runId) === undefined;
    for (const view of input.views) {
      if (!VISIBILITIES.includes(view.visibility)) {
        throw badRequest(`invalid visibility '${String(view.visibility)}'`);
      }
      const access = this.#access(checkPath(view.path), "system", { runId });
      if ("denied" in access) return access.denied;
      const row =
        canShare && !access.scope.startsWith("run:")
          ? (this.#stmt.findForRun.get(runId, access.scope, view.path) as Row | undefined)
          : undefined;
      if (row && row.run_id == null) {
        shareable.push({
          entryId: row.id,
          path: view.path,
          scope: row.scope,
          visibility: view.visibility,
        });
      } else rest.push(view);
    }
    this.batch(() => {
      if (shareable.length > 0) this.#share(runId, shareable, turn, writer);
      for (const view of rest) {
        this.set({ runId, path: view.path, visibility: view.visibility, turn, writer });
      }
    });
    return { ok: true, status: 200, path: "*", count: input.views.length };
  }

  /** The entries a run sees only through its shared views (it has no row of its own for them). */
  sharedOnly(runId: number): Set<number> {
    return new Set(this.#stmt.sharedOnly.all(runId) as number[]);
  }

  /**
   * Gives a run the shared views another run inherited (a fork's start, or a new run's first look
   * when it is the same as an earlier run's), with the given turn and writer. Views of its own
   * still win over them. False when there is nothing to share or the run already has a shared set.
   */
  shareViews(fromRunId: number, toRunId: number, turn: number, writer: Writer): boolean {
    checkWriter(writer);
    const link = this.#stmt.runSet.get(fromRunId) as { set_id: number } | undefined;
    if (!link || this.#stmt.runSet.get(toRunId)) return false;
    this.#stmt.link.run(toRunId, link.set_id, turn, writer);
    const runId = toRunId;
    this.#notify({
      op: "set",
      runId,
      path: "*",
      scope: `run:${runId}`,
      state: null,
      visibility: null,
      created: false,
      appended: false,
      writer,
    });
    return true;
  }

  #share(
    runId: number,
    views: readonly { entryId: number; path: string; scope: string; visibility: Visibility }[],
    turn: number,
    writer: Writer,
  ): void {
    const sorted = [...views].sort((a, b) => a.entryId - b.entryId);
    const scope = sorted[0]!.scope;
    const digest = createHash("sha256")
      .update(sorted.map((v) => `${v.scope}\t${v.entryId}\t${v.visibility}`).join("\n"))
      .digest("hex");
    let setId = this.#stmt.findSet.get(scope, digest) as number | undefined;
    // Entries leave sets when they are deleted (and ids can be reused): a set still matches only whole.
    if (setId !== undefined && (this.#stmt.setSize.get(setId) as number) !== sorted.length) {
      this.#stmt.retireSet.run(setId);
      setId = undefined;
    }
    if (setId === undefined) {
      const schemes = [...new Set(sorted.map((v) => schemeOf(v.path)))];
      setId = this.#stmt.insertSet.get(scope, digest, JSON.stringify(schemes)) as number;
      for (const v of sorted) this.#stmt.insertSetRow.run(setId, v.entryId, v.visibility);
    }
    this.#stmt.link.run(runId, setId, turn, writer);
    for (const v of views) {
      this.#notify({
        op: "set",
        runId,
        path: v.path,
        scope: v.scope,
        state: "resolved",
        visibility: v.visibility,
        created: false,
        appended: false,
        writer,
      });
    }
  }

  /** The shared view a run inherited of an entry, in the shape of its own row. */
  #sharedView(runId: number, entryId: number): ViewFields | undefined {
    const shared = this.#stmt.shared.get(entryId, runId) as
      | { visibility: Visibility; turn: number; writer: Writer | null }
      | undefined;
    if (!shared) return undefined;
    return {
      state: "resolved",
      outcome: null,
      visibility: shared.visibility,
      turn: shared.turn,
      loop_id: null,
      write_count: 1,
    };
  }

  /** Turns the run's shared views into rows of its own (before it drops one of them). */
  #ownViews(runId: number): void {
    this.#stmt.ownCopy.run(runId);
    const setId = this.#stmt.unlink.get(runId) as number | undefined;
    if (setId !== undefined) this.#stmt.dropUnusedSet.run(setId, setId);
  }

  /** Whether a run query may match one of the run's shared views (cheap checks only). */
  #mayInherit(runId: number, query: GetQuery): boolean {
    const link = this.#stmt.runSet.get(runId) as { set_id: number } | undefined;
    if (!link) return false;
    if (query.state !== undefined) {
      const states = Array.isArray(query.state) ? query.state : [query.state];
      if (!states.includes("resolved")) return false;
    }
    let schemes = this.#setSchemes.get(link.set_id);
    if (!schemes) {
      schemes = new Set(JSON.parse(this.#stmt.setSchemes.get(link.set_id) as string) as string[]);
      if (this.#setSchemes.size > 1000) this.#setSchemes.clear();
      this.#setSchemes.set(link.set_id, schemes);
    }
    const wanted: string[] = [];
    if (query.scheme !== undefined) {
      wanted.push(...(Array.isArray(query.scheme) ? query.scheme : [query.scheme as string]));
      if (!wanted.some((s) => schemes.has(s))) return false;
    }
    if (query.path !== undefined && !schemes.has(schemeOf(query.path))) return false;
    if (query.pattern !== undefined) {
      const literal = /^[^*?[]*/.exec(query.pattern)![0];
      if (literal.includes("://") && !schemes.has(schemeOf(literal))) return false;
    }
    return true;
  }

  readonly #setSchemes = new Map<number, Set<string>>();

  /** The scope a path lands in for this locus, or a refusal. */
  #access(
    path: string,
    writer: Writer,
    locus: Locus,
  ): { scope: string; runId: number | undefined } | { denied: WriteResult } {
    const schemeName = schemeOf(path);
    const scheme = this.#schemes.get(schemeName);
    if (!scheme) {
      return {
        denied: {
          ok: false,
          status: 400,
          path,
          state: "failed",
          outcome: "scheme:400",
          error: `unknown scheme '${schemeName}'`,
        },
      };
    }
    if (!mayWrite(scheme, writer)) {
      return {
        denied: forbidden(
          path,
          writer,
          `${writer} may not write '${schemeName}://' entries (writable by ${scheme.writableBy.join(", ")})`,
        ),
      };
    }
    const runId = locus.runId;
    const projectId = runId !== undefined ? this.#projectOf(runId) : locus.projectId;
    return { scope: scopeFor(scheme, runId, projectId), runId };
  }

  #writable(schemeName: string, writer: Writer): boolean {
    const scheme = this.#schemes.get(schemeName);
    return scheme !== undefined && mayWrite(scheme, writer);
  }

  #projectOf(runId: number): number {
    let projectId = this.#runProject.get(runId);
    if (projectId === undefined) {
      projectId = this.#stmt.runProject.get(runId) as number | undefined;
      if (projectId === undefined) throw new RummyError(404, `run ${runId} not found`);
      this.#runProject.set(runId, projectId);
    }
    return projectId;
  }
}

function scopeFor(
  scheme: Scheme,
  runId: number | undefined,
  projectId: number | undefined,
): string {
  if (scheme.defaultScope === "global") return "global";
  if (scheme.defaultScope === "project") {
    if (projectId === undefined) {
      throw badRequest(`'${scheme.name}://' entries are project-scoped: give a run or a project`);
    }
    return `project:${projectId}`;
  }
  if (runId === undefined) {
    throw badRequest(`'${scheme.name}://' entries are run-scoped: give a run`);
  }
  return `run:${runId}`;
}

function forbidden(path: string, writer: Writer, error: string): WriteResult {
  return {
    ok: false,
    status: 403,
    path,
    state: "failed",
    outcome: "permission:403",
    error: `${error} (writer: ${writer})`,
  };
}

function checkWriter(writer: Writer): void {
  if (!WRITERS.includes(writer)) throw badRequest(`invalid writer '${String(writer)}'`);
}

function checkPath(path: unknown): string {
  if (typeof path !== "string" || path.length === 0)
    throw badRequest("path must be a non-empty string");
  if (path.length > MAX_PATH) throw badRequest(`path longer than ${MAX_PATH} characters`);
  if (path.includes("\0")) throw badRequest("path contains a NUL byte");
  return path;
}

function checkAttributes(attributes: unknown): void {
  if (attributes === undefined) return;
  if (attributes === null || typeof attributes !== "object" || Array.isArray(attributes)) {
    throw badRequest("attributes must be an object");
  }
}

function mergeAttributes(base: Attributes, patch: Attributes | undefined): Attributes {
  if (!patch) return base;
  const merged: Attributes = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  return merged;
}

function parseJson(text: string): Attributes {
  return JSON.parse(text) as Attributes;
}

function hashOf(body: string): string {
  return createHash("sha256").update(body).digest("hex");
}

function addIn(where: string[], params: unknown[], column: string, value: unknown): void {
  if (value === undefined) return;
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0) {
    where.push("0");
    return;
  }
  where.push(`${column} IN (${values.map(() => "?").join(", ")})`);
  params.push(...values);
}

function toEntry(row: Row): Entry {
  return {
    id: row.id,
    path: row.path,
    scheme: row.scheme,
    scope: row.scope,
    body: row.body ?? "",
    attributes: parseJson(row.attributes),
    hash: row.hash,
    tokens: row.tokens,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    runId: row.run_id,
    loopId: row.loop_id,
    turn: row.turn,
    state: row.state,
    outcome: row.outcome,
    visibility: row.visibility,
    writeCount: row.write_count,
    writer: row.writer,
    status: row.state ? statusOf(row.state, row.outcome) : null,
  };
}
