import {
  type EntryState,
  type Env,
  type ParamsSchema,
  type RpcCallContext,
  RummyError,
  type Visibility,
  type WriteResult,
} from "@rummy/core";
import { allowedProjectParents } from "./project-root.js";

/**
 * What every area of the protocol shares: the server's settings read once at
 * boot, the param specs several methods repeat, and how a session's project,
 * a store result and a page of results look on the wire.
 */

/** Settings read from the environment when the plugin starts; a bad value stops the server. */
export interface RpcShared {
  /** `RUMMY_PROJECT_ROOTS`: the directories a project root may lie under, or null for any. */
  readonly projectParents: readonly string[] | null;
}

export function readShared(env: Env): RpcShared {
  // Validated at boot: a bad list stops the server instead of admitting roots it should not.
  const projectParents = allowedProjectParents(env.RUMMY_PROJECT_ROOTS);
  return { projectParents };
}

export const STATES = ["proposed", "streaming", "resolved", "failed", "cancelled"] as const;
export const VISIBILITY = ["visible", "summarized", "archived"] as const;

/** `set`'s params: an entry write, or — on `run://` paths and proposed entries — the run lifecycle. */
export interface SetParams {
  run?: string;
  path: string;
  body?: string;
  state?: EntryState;
  visibility?: Visibility;
  outcome?: string | null;
  attributes?: Record<string, unknown>;
  append?: boolean;
  pattern?: boolean;
  bodyFilter?: string;
}

export const runParam = { type: "string", required: true, description: "run alias" } as const;

/**
 * A filter on entry bodies (a substring or glob). SQLite refuses LIKE/GLOB patterns past 50,000
 * bytes as an internal error; the wire caps it far below that, with a clear -32602.
 */
export const bodyFilterParam = (description: string) =>
  ({ type: "string", maxLength: 4096, description }) as const;
export const limitParams: ParamsSchema = {
  limit: { type: "integer", min: 0, description: "max results" },
  offset: { type: "integer", min: 0, description: "skip the first N results" },
};

/** The project the session's hello named. */
export function projectOf(call: RpcCallContext): number {
  const id = call.session.projectId;
  // 2.0.1's text, which clients match on.
  if (id === null) throw new RummyError(400, "Project not initialized.");
  return id;
}

/** A store result as the wire shows it; refusals become errors with their status. */
export function outcome(result: WriteResult): Record<string, unknown> {
  if (!result.ok)
    throw new RummyError(result.status, result.error ?? `failed with status ${result.status}`);
  return {
    ok: true,
    status: result.status,
    ...(result.count !== undefined ? { count: result.count } : {}),
    ...(result.paths !== undefined ? { paths: result.paths } : {}),
  };
}

export function page<T>(items: T[], params: { limit?: number; offset?: number }): T[] {
  const offset = params.offset ?? 0;
  return items.slice(offset, params.limit === undefined ? undefined : offset + params.limit);
}
