/**
 * An error that carries an HTTP-style status, so every surface (RPC, model
 * error entries, CLI) can report it the same way.
 */
export class RummyError extends Error {
  readonly status: number;
  readonly details?: unknown;
  constructor(status: number, message: string, details?: unknown) {
    super(message);
    this.name = "RummyError";
    this.status = status;
    this.details = details;
  }
}

/** Bad input to a core API (a caller's mistake, never retried). */
export function badRequest(message: string, details?: unknown): RummyError {
  return new RummyError(400, message, details);
}

export function notFound(message: string): RummyError {
  return new RummyError(404, message);
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The database could not take a write: full (disk or size limit), read-only,
 * locked, or an I/O failure. SQLite rolled the transaction back, so nothing
 * half-written remains; the caller gets a status it can act on (507: free
 * space; 503: retry later or fix permissions) instead of an internal error.
 */
export function storageFailure(error: unknown): RummyError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return undefined;
  if (code === "SQLITE_FULL")
    return new RummyError(
      507,
      "the database is full (no space left for it): nothing was written; free space and retry",
      { code },
    );
  if (code.startsWith("SQLITE_READONLY"))
    return new RummyError(503, "the database is read-only: nothing was written", { code });
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
    return new RummyError(503, "the database is busy: nothing was written; retry", { code });
  if (code.startsWith("SQLITE_IOERR") || code === "SQLITE_CANTOPEN")
    return new RummyError(503, `the database could not be written (${code}): nothing was written`, {
      code,
    });
  return undefined;
}
