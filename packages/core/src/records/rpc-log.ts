import type { Db } from "../db/open.js";

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
