import {
  type Entry,
  type LoopFlags,
  type Mode,
  type PluginContext,
  type RpcCallContext,
  type RunRecord,
  runForCall,
  RummyError,
  type RummyCore,
} from "@rummy/core";
import { outcome, projectOf, type RpcShared, runParam, type SetParams } from "./shared.js";
import { wireRunStatus } from "./wire.js";

/**
 * The run lifecycle. `set run://<alias>` starts, continues, forks or cancels a
 * run and `set` with a state on a proposed entry resolves the proposal — both
 * reached through the `set` method (primitives.ts), which hands them here —
 * and `update` records a turn's continuation or terminal signal.
 */

const RUN_FLAGS = ["noInteraction", "noWeb", "noProposals", "noRepo", "yolo"] as const;

export function registerRuns(ctx: PluginContext, _shared: RpcShared): void {
  const core = ctx.core;
  ctx.registerRpc("update", {
    description:
      "Record a turn's continuation or terminal signal at log://turn_N/update/<slug> (102 continue, 200/204 done, 422 cannot answer).",
    params: {
      run: runParam,
      body: { type: "string", required: true, description: "update text" },
      status: {
        type: "integer",
        enum: [102, 200, 204, 422],
        description: "102 | 200 | 204 | 422 (default 102)",
      },
      attributes: { type: "object", description: "extra attributes" },
    },
    handler: (
      params: {
        run: string;
        body: string;
        status?: number;
        attributes?: Record<string, unknown>;
      },
      call,
    ) => {
      const run = runForCall(core.runs, call, params.run);
      const turn = Math.max(1, run.nextTurn - 1);
      const path = `log://turn_${turn}/update/${slugOf(params.body)}`;
      const result = core.store.set({
        runId: run.id,
        path,
        body: params.body,
        turn,
        state: "resolved",
        attributes: {
          ...params.attributes,
          status: params.status ?? 102,
          action: "update",
          by: "client",
        },
        // The log is not client-writable; this lifecycle verb writes on the client's behalf.
        writer: "plugin",
      });
      return { ...outcome(result), path };
    },
  });
}

export function isRunPath(path: string): boolean {
  return path.startsWith("run://");
}

/** `set run://<alias>`: start (named or anonymous), continue/inject, fork, or cancel. */
export async function setRun(
  core: RummyCore,
  params: SetParams,
  call: RpcCallContext,
): Promise<unknown> {
  const projectId = projectOf(call);
  const attrs = params.attributes ?? {};
  const alias = params.path.slice("run://".length);
  const existing = alias ? core.runs.byAlias(projectId, alias) : undefined;

  if (existing && params.state !== undefined) {
    if (params.state !== "cancelled") {
      throw new RummyError(
        400,
        `set run://${alias}: only state "cancelled" can be set on a run (to cancel it)`,
      );
    }
    await core.engine.cancel(existing.id, params.outcome ?? "cancelled by client");
    return { ok: true, alias };
  }
  if (!existing && params.state !== undefined)
    throw new RummyError(404, `no run '${alias}' to change`);

  const mode = attrs.mode;
  if (mode !== "ask" && mode !== "act") {
    throw new RummyError(
      400,
      `set run://: attributes.mode is required and must be "ask" or "act" (got ${JSON.stringify(mode)})`,
    );
  }
  const model =
    typeof attrs.model === "string" ? attrs.model : (existing?.model ?? core.env.RUMMY_MODEL);
  if (!model)
    throw new RummyError(
      400,
      "set run://: attributes.model is required for a new run (or set RUMMY_MODEL)",
    );
  const flags: Record<string, boolean> = {};
  for (const flag of RUN_FLAGS) if (attrs[flag] !== undefined) flags[flag] = attrs[flag] === true;
  const prompt = params.body ?? "";
  const engine = core.engine;
  // Before a fork makes anything: yolo needs the server's opt-in, which the engine holds.
  engine.checkFlags(flags as LoopFlags);

  if (existing && attrs.fork === true) {
    const child = engine.fork(existing.id, typeof attrs.as === "string" ? attrs.as : undefined);
    const { run } = engine.submit({
      projectId,
      alias: child.alias,
      model,
      mode: mode as Mode,
      prompt,
      flags: flags as LoopFlags,
    });
    return { ok: true, alias: run.alias };
  }
  if (existing && !prompt) return { ok: true, alias };
  const { run } = engine.submit({
    projectId,
    ...(alias ? { alias } : {}),
    model,
    mode: mode as Mode,
    prompt,
    flags: flags as LoopFlags,
    attributes: Object.fromEntries(
      Object.entries(attrs).filter(([k]) => !["mode", "model", "fork", ...RUN_FLAGS].includes(k)),
    ),
  });
  return { ok: true, alias: run.alias };
}

/**
 * The pending proposal a client names: its log path (ours,
 * `log://turn_N/set/<slug>`), or 2.0.1's `set://turn_N/<file>` / `set://<file>`
 * for a file edit, matched by file (and turn when given).
 */
export function pendingProposal(core: RummyCore, run: RunRecord, path: string): Entry | undefined {
  const entry = core.store.getOne({ runId: run.id }, path);
  if (entry) return entry.state === "proposed" ? entry : undefined;
  const m = /^set:\/\/(?:turn_(\d+)\/)?(.+)$/.exec(path);
  if (!m) return undefined;
  const turn = m[1] === undefined ? undefined : Number(m[1]);
  const file = m[2]!.replace(/^\.\//, "");
  return core.store
    .get({ runId: run.id, state: "proposed", scheme: "log", order: "id", includeBody: false })
    .find(
      (e) =>
        e.attributes.action === "set" &&
        e.attributes.path === file &&
        (turn === undefined || e.turn === turn),
    );
}

/** A state set on a proposed entry is the client's decision: the engine runs its side effects. */
export async function resolveProposal(
  core: RummyCore,
  run: RunRecord,
  proposal: Entry,
  params: SetParams,
): Promise<unknown> {
  const decision = params.state === "resolved" ? "accept" : "reject";
  const result = await core.engine.resolve(run.id, proposal.path, {
    decision,
    ...(params.body !== undefined ? { body: params.body } : {}),
    ...(params.attributes !== undefined ? { attributes: params.attributes } : {}),
  });
  if (!result.ok)
    throw new RummyError(result.status, result.error ?? `failed with status ${result.status}`);
  // 2.0.1 answers with the run and its status; the proposal's own fate rides along.
  const after = core.runs.get(run.id) ?? run;
  return {
    run: run.alias,
    status: wireRunStatus(after.status),
    ok: true,
    state: result.state ?? null,
    outcome: result.outcome ?? null,
  };
}

function slugOf(text: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 40);
  return slug || "update";
}
