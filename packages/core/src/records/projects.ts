import type { Db } from "../db/open.js";
import { badRequest, RummyError } from "../errors.js";

export interface ProjectRecord {
  readonly id: number;
  readonly name: string;
  readonly root: string | null;
  readonly createdAt: string;
}

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

interface ProjectRow {
  id: number;
  name: string;
  root: string | null;
  created_at: string;
}

const toProject = (r: ProjectRow): ProjectRecord => ({
  id: r.id,
  name: r.name,
  root: r.root,
  createdAt: r.created_at,
});
