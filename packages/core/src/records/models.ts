import type { Db } from "../db/open.js";
import { badRequest } from "../errors.js";
import { ALIAS_RE } from "./sql.js";

export interface ModelRecord {
  readonly alias: string;
  /** `provider/model`: the first segment picks the provider package. */
  readonly target: string;
  readonly contextLength: number | null;
  readonly source: "env" | "client";
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

interface ModelRow {
  alias: string;
  target: string;
  context_length: number | null;
  source: "env" | "client";
}

const toModel = (r: ModelRow): ModelRecord => ({
  alias: r.alias,
  target: r.target,
  contextLength: r.context_length,
  source: r.source,
});
