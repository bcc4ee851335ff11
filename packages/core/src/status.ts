import type { EntryState } from "./types.js";

const OUTCOME_CODE = /(?:^|:)(\d{3})$/;

/**
 * Projects an entry's state (and outcome) onto an HTTP status code, the
 * vocabulary clients and the model read: proposed 202, streaming 102,
 * resolved 200, cancelled 499, failed 500. An outcome that ends in a
 * three-digit code (`permission:403`, `413`) overrides the default for
 * resolved, failed and cancelled entries — a "soft" 405 stays resolved.
 */
export function statusOf(state: EntryState, outcome: string | null | undefined): number {
  if (state === "proposed") return 202;
  if (state === "streaming") return 102;
  const code = outcome ? OUTCOME_CODE.exec(outcome)?.[1] : undefined;
  if (code) return Number(code);
  if (state === "resolved") return 200;
  if (state === "cancelled") return 499;
  return 500;
}

/** Run and loop statuses that end a loop. */
export const TERMINAL_RUN_STATUSES: ReadonlySet<number> = new Set([200, 204, 413, 422, 499, 500]);
