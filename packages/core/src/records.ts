import type { Db } from "./db/open.js";
import { badRequest, notFound, RummyError } from "./errors.js";
import type { LoopFlags, Mode } from "./tools.js";
import type { Attributes } from "./types.js";

/**
 * Server-side bookkeeping around the entries: projects, runs, loops, turns,
 * models, file constraints and the RPC log. Plain records, no behaviour
 * beyond the rules the database itself enforces.
 */

const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

export interface ProjectRecord {
  readonly id: number;
  readonly name: string;
  readonly root: string | null;
  readonly createdAt: string;
}

export interface RunRecord {
  readonly id: number;
  readonly projectId: number;
  readonly parentRunId: number | null;
  readonly alias: string;
  readonly model: string | null;
  readonly status: number;
  readonly attributes: Attributes;
  readonly nextTurn: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface LoopRecord {
  readonly id: number;
  readonly runId: number;
  readonly sequence: number;
  readonly mode: Mode;
  readonly prompt: string;
  readonly model: string | null;
  readonly flags: LoopFlags;
  readonly status: number;
  readonly reason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface TurnUsage {
  readonly contextTokens?: number;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly cost?: number;
  readonly usage?: Attributes;
}

export interface TurnRecord {
  readonly id: number;
  readonly runId: number;
  readonly loopId: number;
  readonly sequence: number;
  readonly status: number | null;
  readonly contextTokens: number | null;
  readonly promptTokens: number | null;
  readonly completionTokens: number | null;
  readonly cost: number | null;
  readonly usage: Attributes;
  readonly createdAt: string;
}

export interface ModelRecord {
  readonly alias: string;
  /** `provider/model`: the first segment picks the provider package. */
  readonly target: string;
  readonly contextLength: number | null;
  readonly source: "env" | "client";
}

export type ConstraintVisibility = "active" | "readonly" | "ignore";

export interface FileConstraint {
  readonly pattern: string;
  readonly visibility: ConstraintVisibility;
}

export interface RpcLogRecord {
  readonly connectionId?: string | null;
  readonly projectId?: number | null;
  readonly method: string;
  readonly requestId?: string | number | null;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly errorCode?: number | null;
  readonly errorMessage?: string | null;
  readonly durationMs?: number;
}

const ALIAS_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;

export class Projects {
  readonly #byName;
  readonly #byId;
  readonly #insert;
  readonly #setRoot;
  readonly #all;
  constructor(db: Db) {
    this.#all = db.prepare("SELECT * FROM projects ORDER BY name");
    this.#byName = db.prepare("SELECT * FROM projects WHERE name = ?");
    this.#byId = db.prepare("SELECT * FROM projects WHERE id = ?");
    this.#insert = db.prepare("INSERT INTO projects (name, root) VALUES (?, ?) RETURNING *");
    this.#setRoot = db.prepare("UPDATE projects SET root = ? WHERE id = ? RETURNING *");
  }

  /**
   * The project with this name, created if new. Its root is fixed when first
   * given: a different root for an existing project is not applied here
   * (callers compare and refuse, or `moveRoot` on explicit request).
   */
  ensure(name: string, root: string | null = null): ProjectRecord {
    if (!name || name.length > 200) throw badRequest("project name must be 1-200 characters");
    const existing = this.#byName.get(name) as ProjectRow | undefined;
    if (!existing) return toProject(this.#insert.get(name, root) as ProjectRow);
    if (root !== null && existing.root === null)
      return toProject(this.#setRoot.get(root, existing.id) as ProjectRow);
    return toProject(existing);
  }

  /** Re-binds a project to another root: only on a client's explicit request, while none of its runs is busy. */
  moveRoot(id: number, root: string): ProjectRecord {
    const row = this.#setRoot.get(root, id) as ProjectRow | undefined;
    if (!row) throw new RummyError(404, `no project ${id}`);
    return toProject(row);
  }

  get(id: number): ProjectRecord | undefined {
    const row = this.#byId.get(id) as ProjectRow | undefined;
    return row && toProject(row);
  }

  byName(name: string): ProjectRecord | undefined {
    const row = this.#byName.get(name) as ProjectRow | undefined;
    return row && toProject(row);
  }

  list(): ProjectRecord[] {
    return (this.#all.all() as ProjectRow[]).map(toProject);
  }
}

export class Runs {
  readonly #db: Db;
  readonly #stmt;
  constructor(db: Db) {
    this.#db = db;
    this.#stmt = {
      insert: db.prepare(
        `INSERT INTO runs (project_id, parent_run_id, alias, model, attributes)
         VALUES (?, ?, ?, ?, ?) RETURNING *`,
      ),
      byId: db.prepare("SELECT * FROM runs WHERE id = ?"),
      byAlias: db.prepare("SELECT * FROM runs WHERE project_id = ? AND alias = ?"),
      list: db.prepare("SELECT * FROM runs WHERE project_id = ? ORDER BY id"),
      status: db.prepare(
        `UPDATE runs SET status = ?, updated_at = ${NOW} WHERE id = ? RETURNING *`,
      ),
      update: db.prepare(
        `UPDATE runs SET model = ?, attributes = ?, updated_at = ${NOW} WHERE id = ? RETURNING *`,
      ),
      nextTurn: db
        .prepare(
          `UPDATE runs SET next_turn = next_turn + 1, updated_at = ${NOW} WHERE id = ?
           RETURNING next_turn - 1`,
        )
        .pluck(),
      count: db.prepare("SELECT count(*) FROM runs WHERE project_id = ?").pluck(),
    };
  }

  /** Creates a run. Without an alias one is generated (`run_N`, unique in the project). */
  create(input: {
    projectId: number;
    alias?: string;
    model?: string | null;
    parentRunId?: number | null;
    attributes?: Attributes;
  }): RunRecord {
    if (input.alias !== undefined && !ALIAS_RE.test(input.alias)) {
      throw badRequest(
        `invalid run alias '${input.alias}': letters, digits and _ . : - only, up to 200 characters`,
      );
    }
    return this.#db.transaction(() => {
      let alias = input.alias;
      if (alias === undefined) {
        let n = (this.#stmt.count.get(input.projectId) as number) + 1;
        while (this.#stmt.byAlias.get(input.projectId, `run_${n}`)) n++;
        alias = `run_${n}`;
      } else if (this.#stmt.byAlias.get(input.projectId, alias)) {
        throw new RummyError(409, `run '${alias}' already exists in this project`);
      }
      return toRun(
        this.#stmt.insert.get(
          input.projectId,
          input.parentRunId ?? null,
          alias,
          input.model ?? null,
          JSON.stringify(input.attributes ?? {}),
        ) as RunRow,
      );
    })();
  }

  get(id: number): RunRecord | undefined {
    const row = this.#stmt.byId.get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  byAlias(projectId: number, alias: string): RunRecord | undefined {
    const row = this.#stmt.byAlias.get(projectId, alias) as RunRow | undefined;
    return row && toRun(row);
  }

  list(projectId: number): RunRecord[] {
    return (this.#stmt.list.all(projectId) as RunRow[]).map(toRun);
  }

  /** Moves a run to a new status. The database refuses transitions the lifecycle forbids (409). */
  setStatus(id: number, status: number): RunRecord {
    try {
      const row = this.#stmt.status.get(status, id) as RunRow | undefined;
      if (!row) throw notFound(`run ${id} not found`);
      return toRun(row);
    } catch (error) {
      if (error instanceof Error && /transition not allowed/.test(error.message)) {
        const current = this.get(id);
        throw new RummyError(409, `run status cannot go from ${current?.status} to ${status}`);
      }
      throw error;
    }
  }

  update(id: number, patch: { model?: string | null; attributes?: Attributes }): RunRecord {
    const run = this.get(id);
    if (!run) throw notFound(`run ${id} not found`);
    const attributes = { ...run.attributes, ...patch.attributes };
    return toRun(
      this.#stmt.update.get(
        patch.model !== undefined ? patch.model : run.model,
        JSON.stringify(attributes),
        id,
      ) as RunRow,
    );
  }

  /** Reserves the run's next turn number. */
  takeTurnNumber(id: number): number {
    const n = this.#stmt.nextTurn.get(id) as number | undefined;
    if (n === undefined) throw notFound(`run ${id} not found`);
    return n;
  }
}

export class Loops {
  readonly #db: Db;
  readonly #stmt;
  constructor(db: Db) {
    this.#db = db;
    this.#stmt = {
      insert: db.prepare(
        `INSERT INTO loops (run_id, sequence, mode, prompt, model, flags)
         VALUES (?, (SELECT coalesce(max(sequence), 0) + 1 FROM loops WHERE run_id = ?), ?, ?, ?, ?)
         RETURNING *`,
      ),
      byId: db.prepare("SELECT * FROM loops WHERE id = ?"),
      list: db.prepare("SELECT * FROM loops WHERE run_id = ? ORDER BY sequence"),
      next: db.prepare(
        "SELECT * FROM loops WHERE run_id = ? AND status = 100 ORDER BY sequence LIMIT 1",
      ),
      status: db.prepare(
        `UPDATE loops SET status = ?, reason = ?, updated_at = ${NOW} WHERE id = ? RETURNING *`,
      ),
    };
  }

  /** Queues a loop (status 100) at the end of the run's FIFO. */
  enqueue(input: {
    runId: number;
    mode: Mode;
    prompt: string;
    model?: string | null;
    flags?: LoopFlags;
  }): LoopRecord {
    if (input.mode !== "ask" && input.mode !== "act")
      throw badRequest(`invalid mode '${input.mode}'`);
    return toLoop(
      this.#stmt.insert.get(
        input.runId,
        input.runId,
        input.mode,
        input.prompt,
        input.model ?? null,
        JSON.stringify(input.flags ?? {}),
      ) as LoopRow,
    );
  }

  get(id: number): LoopRecord | undefined {
    const row = this.#stmt.byId.get(id) as LoopRow | undefined;
    return row && toLoop(row);
  }

  list(runId: number): LoopRecord[] {
    return (this.#stmt.list.all(runId) as LoopRow[]).map(toLoop);
  }

  /** The oldest queued loop of a run. */
  next(runId: number): LoopRecord | undefined {
    const row = this.#stmt.next.get(runId) as LoopRow | undefined;
    return row && toLoop(row);
  }

  setStatus(id: number, status: number, reason: string | null = null): LoopRecord {
    const row = this.#stmt.status.get(status, reason, id) as LoopRow | undefined;
    if (!row) throw notFound(`loop ${id} not found`);
    return toLoop(row);
  }

  /** Runs `fn` atomically with other bookkeeping writes. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}

export class Turns {
  readonly #stmt;
  constructor(db: Db) {
    this.#stmt = {
      insert: db.prepare(
        "INSERT INTO turns (run_id, loop_id, sequence) VALUES (?, ?, ?) RETURNING *",
      ),
      update: db.prepare(
        `UPDATE turns SET status = coalesce(?, status), context_tokens = coalesce(?, context_tokens),
           prompt_tokens = coalesce(?, prompt_tokens), completion_tokens = coalesce(?, completion_tokens),
           cost = coalesce(?, cost), usage = coalesce(?, usage), updated_at = ${NOW}
         WHERE id = ? RETURNING *`,
      ),
      list: db.prepare("SELECT * FROM turns WHERE run_id = ? ORDER BY sequence"),
      byLoop: db.prepare("SELECT * FROM turns WHERE loop_id = ? ORDER BY sequence"),
    };
  }

  create(runId: number, loopId: number, sequence: number): TurnRecord {
    return toTurn(this.#stmt.insert.get(runId, loopId, sequence) as TurnRow);
  }

  record(id: number, patch: TurnUsage & { status?: number }): TurnRecord {
    const row = this.#stmt.update.get(
      patch.status ?? null,
      patch.contextTokens ?? null,
      patch.promptTokens ?? null,
      patch.completionTokens ?? null,
      patch.cost ?? null,
      patch.usage ? JSON.stringify(patch.usage) : null,
      id,
    ) as TurnRow | undefined;
    if (!row) throw notFound(`turn ${id} not found`);
    return toTurn(row);
  }

  list(runId: number): TurnRecord[] {
    return (this.#stmt.list.all(runId) as TurnRow[]).map(toTurn);
  }

  forLoop(loopId: number): TurnRecord[] {
    return (this.#stmt.byLoop.all(loopId) as TurnRow[]).map(toTurn);
  }
}

export class Models {
  readonly #stmt;
  constructor(db: Db) {
    this.#stmt = {
      upsert: db.prepare(
        `INSERT INTO models (alias, target, context_length, source) VALUES (?, ?, ?, ?)
         ON CONFLICT (alias) DO UPDATE SET target = excluded.target,
           context_length = excluded.context_length, source = excluded.source
         RETURNING *`,
      ),
      remove: db.prepare("DELETE FROM models WHERE alias = ?"),
      get: db.prepare("SELECT * FROM models WHERE alias = ?"),
      list: db.prepare("SELECT * FROM models ORDER BY alias"),
    };
  }

  upsert(model: ModelRecord): ModelRecord {
    if (!ALIAS_RE.test(model.alias)) throw badRequest(`invalid model alias '${model.alias}'`);
    if (!/^[^/\s]+\/\S+$/.test(model.target)) {
      throw badRequest(`model target must be "provider/model", got '${model.target}'`);
    }
    return toModel(
      this.#stmt.upsert.get(
        model.alias,
        model.target,
        model.contextLength,
        model.source,
      ) as ModelRow,
    );
  }

  remove(alias: string): boolean {
    return this.#stmt.remove.run(alias).changes > 0;
  }

  get(alias: string): ModelRecord | undefined {
    const row = this.#stmt.get.get(alias) as ModelRow | undefined;
    return row && toModel(row);
  }

  list(): ModelRecord[] {
    return (this.#stmt.list.all() as ModelRow[]).map(toModel);
  }
}

export class FileConstraints {
  readonly #stmt;
  constructor(db: Db) {
    this.#stmt = {
      upsert: db.prepare(
        `INSERT INTO file_constraints (project_id, pattern, visibility) VALUES (?, ?, ?)
         ON CONFLICT (project_id, pattern) DO UPDATE SET visibility = excluded.visibility`,
      ),
      remove: db.prepare("DELETE FROM file_constraints WHERE project_id = ? AND pattern = ?"),
      list: db.prepare(
        "SELECT pattern, visibility FROM file_constraints WHERE project_id = ? ORDER BY pattern",
      ),
    };
  }

  set(projectId: number, pattern: string, visibility: ConstraintVisibility): void {
    if (!["active", "readonly", "ignore"].includes(visibility)) {
      throw badRequest(`constraint visibility must be active, readonly or ignore`);
    }
    if (!pattern) throw badRequest("constraint pattern must not be empty");
    this.#stmt.upsert.run(projectId, pattern, visibility);
  }

  remove(projectId: number, pattern: string): boolean {
    return this.#stmt.remove.run(projectId, pattern).changes > 0;
  }

  list(projectId: number): FileConstraint[] {
    return this.#stmt.list.all(projectId) as FileConstraint[];
  }
}

/**
 * The RPC log. Rows are queued and written together every 100 ms (or every
 * 500 rows) in one transaction, so logging costs a call little; `recent()`
 * and `flush()` write what is queued first. A diagnostic log, not an
 * acknowledged write: a crash may lose the last 100 ms of rows.
 */
export class RpcLog {
  readonly #insertAll;
  readonly #recent;
  #queued: unknown[][] = [];
  constructor(db: Db) {
    const insert = db.prepare(
      `INSERT INTO rpc_log (connection_id, project_id, method, request_id, params, result,
         error_code, error_message, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertAll = db.transaction((rows: unknown[][]) => {
      for (const row of rows) insert.run(...row);
    });
    this.#recent = db.prepare("SELECT * FROM rpc_log ORDER BY id DESC LIMIT ?");
  }

  record(entry: RpcLogRecord): void {
    this.#queued.push([
      entry.connectionId ?? null,
      entry.projectId ?? null,
      entry.method,
      entry.requestId === undefined || entry.requestId === null ? null : String(entry.requestId),
      entry.params === undefined ? null : truncateJson(entry.params),
      entry.result === undefined ? null : truncateJson(entry.result),
      entry.errorCode ?? null,
      entry.errorMessage ?? null,
      entry.durationMs ?? null,
    ]);
    if (this.#queued.length >= 500) this.#flushQuietly();
    else if (this.#queued.length === 1) setTimeout(() => this.#flushQuietly(), 100).unref();
  }

  /** Writes the queued rows now. */
  flush(): void {
    if (this.#queued.length === 0) return;
    const rows = this.#queued;
    this.#queued = [];
    this.#insertAll(rows);
  }

  recent(limit = 100): Record<string, unknown>[] {
    this.flush();
    return this.#recent.all(limit) as Record<string, unknown>[];
  }

  #flushQuietly(): void {
    try {
      this.flush();
    } catch {
      // A full or read-only database drops log rows; calls themselves report storage failures.
    }
  }
}

/** Log rows keep at most 64 KiB of a payload: enough to debug, never a second copy of big bodies. */
function truncateJson(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  return text.length > 65_536 ? `${text.slice(0, 65_536)}…` : text;
}

interface ProjectRow {
  id: number;
  name: string;
  root: string | null;
  created_at: string;
}
interface RunRow {
  id: number;
  project_id: number;
  parent_run_id: number | null;
  alias: string;
  model: string | null;
  status: number;
  attributes: string;
  next_turn: number;
  created_at: string;
  updated_at: string;
}
interface LoopRow {
  id: number;
  run_id: number;
  sequence: number;
  mode: Mode;
  prompt: string;
  model: string | null;
  flags: string;
  status: number;
  reason: string | null;
  created_at: string;
  updated_at: string;
}
interface TurnRow {
  id: number;
  run_id: number;
  loop_id: number;
  sequence: number;
  status: number | null;
  context_tokens: number | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost: number | null;
  usage: string;
  created_at: string;
}
interface ModelRow {
  alias: string;
  target: string;
  context_length: number | null;
  source: "env" | "client";
}

const toProject = (r: ProjectRow): ProjectRecord => ({
  id: r.id,
  name: r.name,
  root: r.root,
  createdAt: r.created_at,
});
const toRun = (r: RunRow): RunRecord => ({
  id: r.id,
  projectId: r.project_id,
  parentRunId: r.parent_run_id,
  alias: r.alias,
  model: r.model,
  status: r.status,
  attributes: JSON.parse(r.attributes) as Attributes,
  nextTurn: r.next_turn,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toLoop = (r: LoopRow): LoopRecord => ({
  id: r.id,
  runId: r.run_id,
  sequence: r.sequence,
  mode: r.mode,
  prompt: r.prompt,
  model: r.model,
  flags: JSON.parse(r.flags) as LoopFlags,
  status: r.status,
  reason: r.reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toTurn = (r: TurnRow): TurnRecord => ({
  id: r.id,
  runId: r.run_id,
  loopId: r.loop_id,
  sequence: r.sequence,
  status: r.status,
  contextTokens: r.context_tokens,
  promptTokens: r.prompt_tokens,
  completionTokens: r.completion_tokens,
  cost: r.cost,
  usage: JSON.parse(r.usage) as Attributes,
  createdAt: r.created_at,
});
const toModel = (r: ModelRow): ModelRecord => ({
  alias: r.alias,
  target: r.target,
  contextLength: r.context_length,
  source: r.source,
});
