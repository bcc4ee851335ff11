import type { Db } from "../db/open.js";
import { rpcLogRows } from "./rpc-log.js";

/** One line of a project's list of runs: what a client shows before it opens one. */
export interface RunSummary {
  /** The run's alias. */
  readonly run: string;
  readonly status: number;
  /** The last turn the run took (0 before its first). */
  readonly turn: number;
  /** The body of the newest entry of the run's own matching the pattern, or null. */
  readonly summary: string | null;
  /** When the run was created, UTC, as SQLite's `YYYY-MM-DD HH:MM:SS`. */
  readonly created: string;
}

export interface SummaryOptions {
  /** A glob over the run's own entries (`log://*\/update/*`): the newest match is its summary. */
  readonly pattern: string;
  readonly limit?: number;
  readonly offset?: number;
}

/**
 * A project's runs as one list, newest first, from one query whose columns are
 * the summary itself (no per-row mapping, no date parsing). A list asked for
 * again before anything was written — on this connection or any other — is
 * the same list, so it is kept: a client re-reading a long history on an idle
 * server costs a copy, not a scan of every run.
 */
export class RunSummaries {
  readonly #db: Db;
  readonly #all;
  readonly #page;
  readonly #changes;
  /** Full lists by project and pattern, valid while `#stamp` is the database's. */
  readonly #kept = new Map<string, readonly RunSummary[]>();
  #stamp = "";

  constructor(db: Db) {
    this.#db = db;
    // The summary is the newest (by id) entry of the run's own scope it has a view of.
    const sql = `SELECT r.alias AS run, r.status AS status, max(r.next_turn - 1, 0) AS turn,
        (SELECT body FROM entries WHERE id =
          (SELECT max(x.id) FROM entries x
             JOIN run_views o ON o.run_id = r.id AND o.entry_id = x.id
           WHERE x.scope = 'run:' || r.id AND x.path GLOB ?)) AS summary,
        replace(substr(r.created_at, 1, 19), 'T', ' ') AS created
      FROM runs r WHERE r.project_id = ? ORDER BY r.id DESC`;
    this.#all = db.prepare(sql);
    this.#page = db.prepare(`${sql} LIMIT ? OFFSET ?`);
    // Writes on this connection move total_changes() (less the RPC log's rows: logging a call
    // changes nothing listed here); commits on another connection move data_version.
    this.#changes = db
      .prepare(
        "SELECT (total_changes() - ?) || '/' || (SELECT data_version FROM pragma_data_version)",
      )
      .pluck();
  }

  /**
   * The list, or the page of it asked for. The whole list, kept, is the same frozen array for
   * every call until something is written: a caller may keep what it derived from it by identity.
   */
  list(projectId: number, options: SummaryOptions): readonly RunSummary[] {
    const offset = options.offset ?? 0;
    const end = options.limit === undefined ? undefined : offset + options.limit;
    const key = `${projectId}\t${options.pattern}`;
    const stamp = this.#changes.get(rpcLogRows(this.#db)) as string;
    if (stamp !== this.#stamp) {
      this.#kept.clear();
      this.#stamp = stamp;
    }
    let kept = this.#kept.get(key);
    if (!kept) {
      if (options.limit !== undefined) {
        // One page of a list that changed: no need to read the rest.
        return this.#page.all(options.pattern, projectId, options.limit, offset) as RunSummary[];
      }
      const rows = this.#all.all(options.pattern, projectId) as RunSummary[];
      // Read inside a transaction, the list could still be rolled back: not kept.
      if (this.#db.inTransaction) return rows.slice(offset, end);
      for (const row of rows) Object.freeze(row);
      kept = Object.freeze(rows);
      if (this.#kept.size >= 16) this.#kept.clear();
      this.#kept.set(key, kept);
    }
    return offset === 0 && end === undefined ? kept : kept.slice(offset, end);
  }
}
