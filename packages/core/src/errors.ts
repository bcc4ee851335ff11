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
