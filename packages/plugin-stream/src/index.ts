import {
  definePlugin,
  runForCall,
  type Entry,
  logPathToDataBase,
  type PluginContext,
  type RummyCore,
  RummyError,
  type RunRecord,
} from "@rummy/core";

const runParam = { type: "string", required: true, description: "run alias" } as const;
const pathParam = {
  type: "string",
  required: true,
  maxLength: 2048,
  description: "the producer's log entry: log://turn_N/{action}/{slug}",
} as const;

/**
 * `stream`: how output reaches entries over time. A producer (a client
 * running an accepted `<sh>`, or the server under yolo) appends chunks to
 * data channels `{action}://turn_N/{slug}_{channel}` and finally marks them
 * done, aborted or cancelled. The RPC `path` is always the log entry the
 * client saw in `run/proposal`; the channels are derived from it.
 */
export default definePlugin({
  name: "stream",
  version: "0.1.0",
  setup(ctx) {
    const core = ctx.core;
    ctx.registerNotification("stream/cancelled", {
      description:
        "The server cancelled a streaming producer: { run, path, reason }. Clients kill their local process.",
    });
    ctx.registerRpc("stream", {
      description:
        "Append a chunk to a data channel of a streaming producer (channel 1 stdout, 2 stderr, higher for others).",
      params: {
        run: runParam,
        path: pathParam,
        channel: {
          type: "integer",
          required: true,
          min: 1,
          max: 64,
          description: "channel number (Unix fd convention)",
        },
        chunk: { type: "string", required: true, description: "text to append" },
      },
      handler: (params: { run: string; path: string; channel: number; chunk: string }, call) => {
        const run = runForCall(core.runs, call, params.run);
        const base = dataBase(params.path);
        const channel = core.store.getOne({ runId: run.id }, `${base}_${params.channel}`);
        if (!channel)
          throw new RummyError(
            404,
            `no channel ${params.channel} for ${params.path}; streams start when the proposal is accepted`,
          );
        if (channel.state !== "streaming")
          throw new RummyError(409, `${channel.path} is ${channel.state}, no longer streaming`);
        core.store.set({ runId: run.id, path: channel.path, body: params.chunk, append: true });
        return { status: "ok" };
      },
    });
    ctx.registerRpc("stream/completed", {
      description:
        "Finish a producer: channels become resolved (exit_code 0 or omitted) or failed (exit:N); the log entry records exit code, duration and channel sizes.",
      params: {
        run: runParam,
        path: pathParam,
        exit_code: { type: "integer", description: "the process's exit code (default 0)" },
        duration: { type: "string", description: "human-readable duration" },
      },
      handler: (
        params: { run: string; path: string; exit_code?: number; duration?: string },
        call,
      ) => {
        const run = runForCall(core.runs, call, params.run);
        const exit = params.exit_code ?? 0;
        const channels = finish(
          core,
          run,
          params.path,
          exit === 0
            ? { state: "resolved", outcome: null }
            : { state: "failed", outcome: `exit:${exit}` },
          `exit=${exit}${params.duration ? ` (${params.duration})` : ""}`,
        );
        return { ok: true, channels };
      },
    });
    ctx.registerRpc("stream/aborted", {
      description:
        "The client killed its process: channels become cancelled (499), keeping what was streamed; the log entry notes the abort.",
      params: {
        run: runParam,
        path: pathParam,
        reason: { type: "string", description: "why" },
        duration: { type: "string", description: "human-readable duration" },
      },
      handler: (
        params: { run: string; path: string; reason?: string; duration?: string },
        call,
      ) => {
        const run = runForCall(core.runs, call, params.run);
        const channels = finish(
          core,
          run,
          params.path,
          { state: "cancelled", outcome: params.reason ?? "aborted" },
          `aborted${qualifier(params.reason, params.duration)}`,
        );
        return { status: "ok", channels };
      },
    });
    ctx.registerRpc("stream/cancel", {
      description:
        "Cancel a producer from the server side (or clean up one whose client vanished): channels become cancelled (499) and every client of the project gets stream/cancelled.",
      params: { run: runParam, path: pathParam, reason: { type: "string", description: "why" } },
      handler: async (params: { run: string; path: string; reason?: string }, call) => {
        const run = runForCall(core.runs, call, params.run);
        const channels = await cancelProducer(ctx, run, params.path, params.reason);
        return { ok: true, channels };
      },
    });
    // Stale streams: after a restart no producer is left for channels still marked streaming.
    sweepStale(core);
  },
});

/**
 * Cancels a producer from the server side: its channels become cancelled
 * (499, streamed text kept), every client of the project is told to kill its
 * process (`stream/cancelled`), and server-side producers hear
 * `stream.cancelled`. Returns the channel count.
 */
export async function cancelProducer(
  ctx: Pick<PluginContext, "core" | "emit">,
  run: RunRecord,
  path: string,
  reason?: string,
): Promise<number> {
  const core = ctx.core;
  const channels = finish(
    core,
    run,
    path,
    { state: "cancelled", outcome: reason ?? "cancelled" },
    `cancelled${qualifier(reason)}`,
  );
  core.rpc.notify(
    "stream/cancelled",
    { run: run.alias, path, reason: reason ?? null },
    { projectId: run.projectId },
  );
  await ctx.emit("stream.cancelled", { runId: run.id, path, reason: reason ?? null });
  return channels;
}

function dataBase(path: string): string {
  const base = logPathToDataBase(path);
  if (!base)
    throw new RummyError(
      400,
      `path must be a command's log entry (log://turn_N/{action}/{slug}); got ${path}`,
    );
  return base;
}

function qualifier(...parts: (string | undefined)[]): string {
  const present = parts.filter((p): p is string => Boolean(p));
  return present.length ? ` (${present.join(", ")})` : "";
}

/** Moves every channel of a producer to a terminal state and rewrites its log entry. Returns the channel count. */
export function finish(
  core: RummyCore,
  run: RunRecord,
  path: string,
  terminal: { state: "resolved" | "failed" | "cancelled"; outcome: string | null },
  summary: string,
): number {
  const base = dataBase(path);
  const channels = core.store.get({ runId: run.id, pattern: `${base}_*`, order: "path" });
  if (channels.length === 0) throw new RummyError(404, `no channels for ${path}`);
  const log = core.store.getOne({ runId: run.id }, path);
  const command = String(log?.attributes.command ?? log?.attributes.summary ?? "");
  core.store.batch(() => {
    for (const ch of channels)
      core.store.set({
        runId: run.id,
        path: ch.path,
        state: terminal.state,
        outcome: terminal.outcome,
      });
    core.store.set({
      runId: run.id,
      path,
      state: "resolved",
      body: `ran '${command}', ${summary}. Output: ${channels.map(describe).join(", ")}`,
    });
  });
  return channels.length;
}

function describe(ch: Entry): string {
  return `${ch.path} (${ch.body ? `${ch.tokens} tokens` : "empty"})`;
}

function sweepStale(core: RummyCore): void {
  for (const project of core.projects.list()) {
    for (const run of core.runs.list(project.id)) {
      // Without an engine (not loaded yet, or not at all) no run is active.
      if (core.hasEngine && core.engine.isActive(run.id)) continue;
      const stale = core.store
        .get({ runId: run.id, state: "streaming", includeBody: false })
        .filter((e) => /_\d+$/.test(e.path));
      if (stale.length === 0) continue;
      core.store.batch(() => {
        for (const e of stale)
          core.store.set({
            runId: run.id,
            path: e.path,
            state: "cancelled",
            outcome: "stale: no producer after restart",
          });
      });
    }
  }
}
