import type { Db } from "../db/open.js";

export interface RpcLogRecord {
  readonly connectionId?: string | null;
  readonly projectId?: number | null;
  readonly method: string;
  readonly requestId?: string | number | null;
  readonly params?: unknown;
  readonly result?: unknown;
  /** The result already serialized (the reply's own text): kept as it is, not serialized again. */
  readonly resultJson?: string;
  readonly errorCode?: number | null;
  readonly errorMessage?: string | null;
  readonly durationMs?: number;
}

/**
 * Rows each database's RPC log has written on its connection. `total_changes()` less these is
 * what every other table saw: a cache of other tables' reads (the run summaries) is not dropped
 * because a call was logged.
 */
const logRows = new WeakMap<Db, { count: number }>();

/** How many rows the RPC log has written on this connection so far. */
export function rpcLogRows(db: Db): number {
  return logRows.get(db)?.count ?? 0;
}

/**
 * The RPC log. Rows are queued and written together every 100 ms (or every
 * 500 rows) in one transaction, so logging costs a call little; `recent()`
 * and `flush()` write what is queued first. A diagnostic log, not an
 * acknowledged write: a crash may lose the last 100 ms of rows. Payloads are
 * serialized when written, not when recorded: a call's reply does not wait
 * for a second serialization of its result. It keeps the newest `maxRows`
 * rows: a long-lived server's log (or a client that calls without end) does
 * not grow the database without bound.
 */
export class RpcLog {
  readonly #insertAll;
  readonly #recent;
  #queued: QueuedRow[] = [];
  constructor(db: Db, maxRows = 100_000) {
    // The id is the rowid: the bound is one range delete on the primary key.
    const prune = db.prepare("DELETE FROM rpc_log WHERE id <= (SELECT max(id) FROM rpc_log) - ?");
    const insert = db.prepare(
      `INSERT INTO rpc_log (connection_id, project_id, method, request_id, params, result,
         error_code, error_message, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const written = logRows.get(db) ?? { count: 0 };
    logRows.set(db, written);
    this.#insertAll = db.transaction((rows: QueuedRow[]) => {
      for (const row of rows) {
        let params: string | null;
        let result: string | null;
        try {
          params = row.params === undefined ? null : truncateJson(row.params);
          result =
            row.resultJson !== undefined
              ? truncated(row.resultJson)
              : row.result === undefined
                ? null
                : truncateJson(row.result);
        } catch {
          continue; // a payload JSON cannot hold (a cycle, a BigInt) drops its row, not the others
        }
        written.count += insert.run(
          ...row.columns.slice(0, 4),
          params,
          result,
          ...row.columns.slice(4),
        ).changes;
      }
      written.count += prune.run(maxRows).changes;
    });
    this.#recent = db.prepare("SELECT * FROM rpc_log ORDER BY id DESC LIMIT ?");
  }

  record(entry: RpcLogRecord): void {
    this.#queued.push({
      columns: [
        entry.connectionId ?? null,
        entry.projectId ?? null,
        entry.method,
        entry.requestId === undefined || entry.requestId === null ? null : String(entry.requestId),
        entry.errorCode ?? null,
        entry.errorMessage ?? null,
        entry.durationMs ?? null,
      ],
      params: entry.params,
      result: entry.result,
      resultJson: entry.resultJson,
    });
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

/** A row waiting for the next write: its columns, and the payloads still to serialize. */
interface QueuedRow {
  readonly columns: readonly unknown[];
  readonly params: unknown;
  readonly result: unknown;
  /** The result as JSON text already (wins over `result`). */
  readonly resultJson: string | undefined;
}

/** Log rows keep at most 64 KiB of a payload: enough to debug, never a second copy of big bodies. */
function truncateJson(value: unknown): string {
  return truncated(JSON.stringify(value) ?? "null");
}

function truncated(text: string): string {
  return text.length > 65_536 ? `${text.slice(0, 65_536)}…` : text;
}
