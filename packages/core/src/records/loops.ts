import type { Db } from "../db/open.js";
import { badRequest, notFound } from "../errors.js";
import type { LoopFlags, Mode } from "../tools.js";
import { NOW } from "./sql.js";

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
      flags: db.prepare(`UPDATE loops SET flags = ?, updated_at = ${NOW} WHERE id = ? RETURNING *`),
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

  setFlags(id: number, flags: LoopFlags): LoopRecord {
    const row = this.#stmt.flags.get(JSON.stringify(flags), id) as LoopRow | undefined;
    if (!row) throw notFound(`loop ${id} not found`);
    return toLoop(row);
  }

  /** Runs `fn` atomically with other bookkeeping writes. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
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
