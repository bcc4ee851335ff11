import {
  type EntryState,
  type PluginContext,
  type RunSummary,
  runForCall,
  serializedResult,
  type Visibility,
} from "@rummy/core";
import {
  bodyFilterParam,
  limitParams,
  projectOf,
  type RpcShared,
  runParam,
  STATES,
  VISIBILITY,
} from "./shared.js";
import {
  entryRow,
  historyOf,
  latestUpdate,
  runEntries,
  runTotals,
  turnTexts,
  UPDATE_PATTERN,
  wireRunStatus,
} from "./wire.js";

/** The read-only queries: `getEntries`, `getRuns`, `getRun`. Nothing here writes or promotes. */
export function registerQueries(ctx: PluginContext, _shared: RpcShared): void {
  const core = ctx.core;
  /** `getRuns` replies by the core's kept list they were made from. */
  const replies = new WeakMap<readonly RunSummary[], readonly unknown[]>();
  ctx.registerRpc("getEntries", {
    description:
      "List a run's entries matching a glob (read-only, no promotion). Filters: scheme, state, visibility, bodyFilter. `withBody` includes bodies; `since` returns only entries with a larger id; `limit` caps the count.",
    params: {
      run: runParam,
      pattern: {
        type: "string",
        maxLength: 2048,
        description: "glob over paths; with no pattern, scheme or state: the project's files",
      },
      scheme: { type: "string", description: "filter by scheme" },
      state: { type: "string", enum: STATES, description: "filter by state" },
      visibility: { type: "string", enum: VISIBILITY, description: "filter by visibility" },
      bodyFilter: bodyFilterParam("filter by body content (substring or glob)"),
      withBody: { type: "boolean", description: "include bodies (default false)" },
      since: { type: "integer", min: 0, description: "only entries with id > since" },
      limit: { type: "integer", min: 0, description: "cap the count" },
    },
    handler: (params: GetEntriesParams, call) => {
      const run = runForCall(core.runs, call, params.run);
      // Unfiltered, the answer is the project's files, as in 2.0.1; a pattern, scheme or state widens it.
      const filesOnly =
        params.pattern === undefined && params.scheme === undefined && params.state === undefined;
      let entries = core.store.get({
        runId: run.id,
        pattern: params.pattern ?? "*",
        ...(filesOnly ? { scheme: "file" } : {}),
        order: "id",
        includeBody: params.withBody === true,
        ...(params.bodyFilter !== undefined ? { bodyFilter: params.bodyFilter } : {}),
        ...(params.scheme !== undefined ? { scheme: params.scheme } : {}),
        ...(params.state !== undefined ? { state: params.state } : {}),
        ...(params.visibility !== undefined ? { visibility: params.visibility } : {}),
      });
      if (params.since !== undefined) entries = entries.filter((e) => e.id > params.since!);
      if (params.limit !== undefined) entries = entries.slice(0, params.limit);
      return entries.map((e) => entryRow(e, params.withBody === true));
    },
  });

  ctx.registerRpc("getRuns", {
    description: "The project's runs, newest first: [{ run, status, turn, summary, created }].",
    params: limitParams,
    handler: (params: { limit?: number; offset?: number }, call) => {
      // The core's ready summary lines (one query, kept while nothing is written); the wire's status.
      const list = core.runs.summaries(projectOf(call), { ...params, pattern: UPDATE_PATTERN });
      // A kept list comes back as the same array until something is written: so does its reply,
      // serialized once. (A page is a new array each call, so its reply is made each call.)
      let reply = replies.get(list);
      if (!reply) {
        reply = serializedResult(
          list.map((s) => (s.status === 202 ? { ...s, status: wireRunStatus(s.status) } : s)),
        );
        replies.set(list, reply);
      }
      return reply;
    },
  });

  ctx.registerRpc("getRun", {
    description:
      "Full detail of a run: status, model, temperature, persona, context limit, usage totals, each turn's reasoning and content, its history (prompts and commands), the latest prompt and update; also loops and per-turn usage.",
    params: { run: runParam },
    handler: (params: { run: string }, call) => {
      const run = runForCall(core.runs, call, params.run);
      const turns = core.turns.list(run.id);
      const loops = core.loops.list(run.id);
      const attrs = run.attributes;
      const pending = core.store.get({ runId: run.id, state: "proposed", includeBody: false });
      const entries = runEntries(core, run);
      return {
        run: run.alias,
        turn: Math.max(0, run.nextTurn - 1),
        status: wireRunStatus(run.status),
        model: run.model,
        temperature: typeof attrs.temperature === "number" ? attrs.temperature : null,
        persona: typeof attrs.persona === "string" ? attrs.persona : null,
        context_limit: typeof attrs.contextLimit === "number" ? attrs.contextLimit : null,
        context: {
          telemetry: runTotals(turns),
          ...turnTexts(core, run),
          history: historyOf(entries),
        },
        last_user_prompt: loops.filter((l) => l.prompt).at(-1)?.prompt ?? null,
        last_summary: latestUpdate(entries)?.body ?? null,
        // rummy additions: proposals waiting (the run shows 102 while they do), and the records behind it.
        pending: pending.length,
        attributes: run.attributes,
        loops: loops.map((l) => ({
          sequence: l.sequence,
          mode: l.mode,
          status: l.status,
          reason: l.reason,
          prompt: l.prompt,
        })),
        turns: turns.map((t) => ({
          turn: t.sequence,
          status: t.status,
          prompt_tokens: t.promptTokens,
          completion_tokens: t.completionTokens,
          cost: t.cost,
        })),
      };
    },
  });
}

interface GetEntriesParams {
  run: string;
  pattern?: string;
  scheme?: string;
  state?: EntryState;
  visibility?: Visibility;
  bodyFilter?: string;
  withBody?: boolean;
  since?: number;
  limit?: number;
}
