import {
  isGlob,
  type PluginContext,
  type RpcCallContext,
  type RunRecord,
  runForCall,
  RummyError,
  type RummyCore,
  type Visibility,
  type WriteResult,
} from "@rummy/core";
import { isRunPath, pendingProposal, resolveProposal, setRun } from "./runs.js";
import {
  bodyFilterParam,
  outcome,
  type RpcShared,
  runParam,
  STATES,
  type SetParams,
  VISIBILITY,
} from "./shared.js";

/**
 * The store verbs on entries, written as the `client` tier: `set`, `get`,
 * `rm`, `cp`, `mv`. They change entries and the run's views only, never the
 * disk (that is `tool/<name>`). `set` on `run://` paths and on proposed
 * entries is the run lifecycle, handed to runs.ts.
 */
export function registerPrimitives(ctx: PluginContext, _shared: RpcShared): void {
  const core = ctx.core;

  ctx.registerRpc("set", {
    description:
      "Create or update an entry: write a body, change state or visibility, merge attributes, append (streaming), or update every entry matching a pattern. `set run://<alias>` starts, continues, forks or cancels a run; setting the state of a proposed entry resolves the proposal.",
    longRunning: true,
    params: {
      run: { type: "string", description: "run alias (not needed for run:// paths)" },
      path: {
        type: "string",
        required: true,
        maxLength: 2048,
        description: "entry path, e.g. known://fact or run://alias",
      },
      body: { type: "string", description: "entry body (for run:// — the prompt)" },
      state: {
        type: "string",
        enum: STATES,
        description: "proposed | streaming | resolved | failed | cancelled",
      },
      visibility: {
        type: "string",
        enum: VISIBILITY,
        description: "visible | summarized | archived",
      },
      outcome: {
        type: "string",
        nullable: true,
        description: "why, when state is failed or cancelled",
      },
      attributes: {
        type: "object",
        description: "JSON attributes (merged); for run:// — model, mode, flags",
      },
      append: { type: "boolean", description: "append body instead of replacing it" },
      pattern: { type: "boolean", description: "treat path as a glob and update every match" },
      bodyFilter: bodyFilterParam("with pattern: only entries whose body matches"),
    },
    handler: (params: SetParams, call) => dispatchSet(core, params, call),
  });

  ctx.registerRpc("get", {
    description:
      "Promote an entry (or every entry matching a glob) to visible — or to the given visibility — in the run's context.",
    params: {
      run: runParam,
      path: {
        type: "string",
        required: true,
        maxLength: 2048,
        description: "entry path or glob",
      },
      bodyFilter: bodyFilterParam("narrow pattern matches by body content"),
      visibility: {
        type: "string",
        enum: VISIBILITY,
        description: "target visibility (default visible)",
      },
    },
    handler: (
      params: { run: string; path: string; bodyFilter?: string; visibility?: Visibility },
      call,
    ) => {
      const run = runForCall(core.runs, call, params.run);
      const visibility = params.visibility ?? "visible";
      const result =
        isGlob(params.path) || params.bodyFilter !== undefined
          ? core.store.setPattern({
              runId: run.id,
              pattern: params.path,
              visibility,
              writer: "client",
              ...(params.bodyFilter !== undefined ? { bodyFilter: params.bodyFilter } : {}),
            })
          : promote(core, run, params.path, visibility);
      return outcome(result);
    },
  });

  ctx.registerRpc("rm", {
    description:
      "Remove an entry (or every match of a glob) from the run's view; content owned by the run goes with it. Files on disk: tool/rm.",
    params: {
      run: runParam,
      path: {
        type: "string",
        required: true,
        maxLength: 2048,
        description: "entry path or glob",
      },
      bodyFilter: bodyFilterParam("narrow pattern matches by body content"),
    },
    handler: (params: { run: string; path: string; bodyFilter?: string }, call) => {
      const run = runForCall(core.runs, call, params.run);
      const glob = isGlob(params.path) || params.bodyFilter !== undefined;
      return outcome(
        core.store.rm({
          runId: run.id,
          writer: "client",
          ...(glob ? { pattern: params.path } : { path: params.path }),
          ...(params.bodyFilter !== undefined ? { bodyFilter: params.bodyFilter } : {}),
        }),
      );
    },
  });

  for (const verb of ["cp", "mv"] as const) {
    ctx.registerRpc(verb, {
      description:
        verb === "cp"
          ? "Copy an entry to a new path. Files on disk: tool/cp."
          : "Rename an entry (copy, then remove the source). Files on disk: tool/mv.",
      params: {
        run: runParam,
        from: { type: "string", required: true, maxLength: 2048, description: "source path" },
        to: { type: "string", required: true, maxLength: 2048, description: "destination path" },
        visibility: {
          type: "string",
          enum: VISIBILITY,
          description: "visibility of the destination",
        },
      },
      handler: (
        params: { run: string; from: string; to: string; visibility?: Visibility },
        call,
      ) => {
        const run = runForCall(core.runs, call, params.run);
        const input = {
          runId: run.id,
          from: params.from,
          to: params.to,
          writer: "client" as const,
          ...(params.visibility ? { visibility: params.visibility } : {}),
        };
        return outcome(verb === "cp" ? core.store.cp(input) : core.store.mv(input));
      },
    });
  }
}

async function dispatchSet(
  core: RummyCore,
  params: SetParams,
  call: RpcCallContext,
): Promise<unknown> {
  if (isRunPath(params.path)) return setRun(core, params, call);
  if (!params.run) throw new RummyError(400, "set: run is required (except for run:// paths)");
  const run = runForCall(core.runs, call, params.run);
  if (params.pattern) {
    return outcome(
      core.store.setPattern({
        runId: run.id,
        pattern: params.path,
        writer: "client",
        ...(params.state !== undefined ? { state: params.state } : {}),
        ...(params.visibility !== undefined ? { visibility: params.visibility } : {}),
        ...(params.outcome !== undefined ? { outcome: params.outcome } : {}),
        ...(params.attributes !== undefined ? { attributes: params.attributes } : {}),
        ...(params.bodyFilter !== undefined ? { bodyFilter: params.bodyFilter } : {}),
      }),
    );
  }
  // A state change on a proposed entry is a resolution: the engine runs its side effects.
  if (params.state !== undefined && !params.append) {
    const current = pendingProposal(core, run, params.path);
    if (current && params.state !== "proposed") return resolveProposal(core, run, current, params);
  }
  return outcome(
    core.store.set({
      runId: run.id,
      path: params.path,
      writer: "client",
      turn: Math.max(0, run.nextTurn - 1),
      ...(params.body !== undefined ? { body: params.body } : {}),
      ...(params.append !== undefined ? { append: params.append } : {}),
      ...(params.state !== undefined ? { state: params.state } : {}),
      ...(params.visibility !== undefined ? { visibility: params.visibility } : {}),
      ...(params.outcome !== undefined ? { outcome: params.outcome } : {}),
      ...(params.attributes !== undefined ? { attributes: params.attributes } : {}),
    }),
  );
}

/** Promotes one entry, adding it to the run's view when the project has it but the run does not yet. */
function promote(
  core: RummyCore,
  run: RunRecord,
  path: string,
  visibility: Visibility,
): WriteResult {
  const seen =
    core.store.getOne({ runId: run.id }, path) ??
    core.store.getOne({ projectId: run.projectId }, path);
  if (!seen) return { ok: false, status: 404, path, error: `no entry at '${path}'` };
  return core.store.set({ runId: run.id, path, visibility, writer: "client" });
}
