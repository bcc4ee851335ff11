import type { Db } from "../db/open.js";
import { badRequest, notFound, RummyError } from "../errors.js";
import type { Attributes } from "../types.js";
import { RunSummaries, type RunSummary, type SummaryOptions } from "./run-summaries.js";
import { ALIAS_RE, NOW } from "./sql.js";

export type { RunSummary } from "./run-summaries.js";

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

export class Runs {
  readonly #db: Db;
  readonly #stmt;
  readonly #summaries: RunSummaries;
  constructor(db: Db) {
    this.#db = db;
    this.#summaries = new RunSummaries(db);
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

  /**
   * The project's runs newest first, each as its summary line (alias, status, last turn, the
   * newest of its own entries matching `pattern`, creation time): one query for any number of runs.
   */
  summaries(projectId: number, options: SummaryOptions): readonly RunSummary[] {
    return this.#summaries.list(projectId, options);
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
