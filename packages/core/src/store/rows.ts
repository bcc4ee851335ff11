import { createHash } from "node:crypto";
import { badRequest } from "../errors.js";
import type { Scheme } from "../schemes.js";
import { statusOf } from "../status.js";
import {
  type Attributes,
  type Entry,
  type EntryState,
  type Visibility,
  WRITERS,
  type Writer,
} from "../types.js";
import type { WriteResult } from "./types.js";

/** Rows as the store reads them, the columns it selects, and the checks every verb shares. */

export const MAX_PATH = 2048;

export const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
export const ENTRY_COLUMNS = `e.id, e.scope, e.path, e.scheme, e.attributes, e.hash, e.tokens,
  e.created_at, e.updated_at`;
export const VIEW_COLUMNS = `v.run_id, v.loop_id, v.turn, v.state, v.outcome, v.visibility,
  v.write_count, v.writer`;
export const OWN_VIEW = `run_id, entry_id, loop_id, turn, state, outcome, visibility, write_count, writer`;
export const SHARED_VIEW = `l.run_id, s.entry_id, NULL, l.turn, 'resolved', NULL, s.visibility, 1, l.writer`;
export const NO_VIEW_COLUMNS = `NULL AS run_id, NULL AS loop_id, NULL AS turn, NULL AS state, NULL AS outcome,
  NULL AS visibility, NULL AS write_count, NULL AS writer`;

/** The per-run part of a row: what a run's view says about an entry. */
export type ViewFields = Pick<
  Row,
  "state" | "outcome" | "visibility" | "turn" | "loop_id" | "write_count"
>;

export interface Row {
  id: number;
  scope: string;
  path: string;
  scheme: string;
  body?: string;
  attributes: string;
  hash: string | null;
  tokens: number;
  created_at: string;
  updated_at: string;
  run_id: number | null;
  loop_id: number | null;
  turn: number | null;
  state: EntryState | null;
  outcome: string | null;
  visibility: Visibility | null;
  write_count: number | null;
  writer: Writer | null;
}

export function scopeFor(
  scheme: Scheme,
  runId: number | undefined,
  projectId: number | undefined,
): string {
  if (scheme.defaultScope === "global") return "global";
  if (scheme.defaultScope === "project") {
    if (projectId === undefined) {
      throw badRequest(`'${scheme.name}://' entries are project-scoped: give a run or a project`);
    }
    return `project:${projectId}`;
  }
  if (runId === undefined) {
    throw badRequest(`'${scheme.name}://' entries are run-scoped: give a run`);
  }
  return `run:${runId}`;
}

export function forbidden(path: string, writer: Writer, error: string): WriteResult {
  return {
    ok: false,
    status: 403,
    path,
    state: "failed",
    outcome: "permission:403",
    error: `${error} (writer: ${writer})`,
  };
}

export function checkWriter(writer: Writer): void {
  if (!WRITERS.includes(writer)) throw badRequest(`invalid writer '${String(writer)}'`);
}

export function checkPath(path: unknown): string {
  if (typeof path !== "string" || path.length === 0)
    throw badRequest("path must be a non-empty string");
  if (path.length > MAX_PATH) throw badRequest(`path longer than ${MAX_PATH} characters`);
  if (path.includes("\0")) throw badRequest("path contains a NUL byte");
  return path;
}

export function checkAttributes(attributes: unknown): void {
  if (attributes === undefined) return;
  if (attributes === null || typeof attributes !== "object" || Array.isArray(attributes)) {
    throw badRequest("attributes must be an object");
  }
}

export function mergeAttributes(base: Attributes, patch: Attributes | undefined): Attributes {
  if (!patch) return base;
  const merged: Attributes = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  return merged;
}

export function parseJson(text: string): Attributes {
  // Most entries carry no attributes: no parse for those.
  return text === "{}" ? {} : (JSON.parse(text) as Attributes);
}

export function hashOf(body: string): string {
  return createHash("sha256").update(body).digest("hex");
}

export function addIn(where: string[], params: unknown[], column: string, value: unknown): void {
  if (value === undefined) return;
  const values = Array.isArray(value) ? value : [value];
  if (values.length === 0) {
    where.push("0");
    return;
  }
  where.push(`${column} IN (${values.map(() => "?").join(", ")})`);
  params.push(...values);
}

/**
 * An entry from a row read raw, columns in the order of `ENTRY_COLUMNS, body, VIEW_COLUMNS`
 * (an array per row is cheaper to read than an object, and the entry is the only object made).
 */
export function entryOf(row: unknown[]): Entry {
  const state = row[13] as EntryState | null;
  const outcome = row[14] as string | null;
  return {
    id: row[0] as number,
    path: row[2] as string,
    scheme: row[3] as string,
    scope: row[1] as string,
    body: (row[9] as string | null) ?? "",
    attributes: parseJson(row[4] as string),
    hash: row[5] as string | null,
    tokens: row[6] as number,
    createdAt: row[7] as string,
    updatedAt: row[8] as string,
    runId: row[10] as number | null,
    loopId: row[11] as number | null,
    turn: row[12] as number | null,
    state,
    outcome,
    visibility: row[15] as Visibility | null,
    writeCount: row[16] as number | null,
    writer: row[17] as Writer | null,
    status: state ? statusOf(state, outcome) : null,
  };
}
