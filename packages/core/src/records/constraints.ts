import type { Db } from "../db/open.js";
import { badRequest } from "../errors.js";

export type ConstraintVisibility = "active" | "readonly" | "ignore";

export interface FileConstraint {
  readonly pattern: string;
  readonly visibility: ConstraintVisibility;
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
