import type { Db } from "../db/open.js";
import { notFound } from "../errors.js";
import type { Attributes } from "../types.js";
import { NOW } from "./sql.js";

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
