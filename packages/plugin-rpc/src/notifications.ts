import {
  ENGINE_EVENTS,
  type ParamsSchema,
  type PluginContext,
  type RunProgressEvent,
  type RunProposalEvent,
  type RunStateEvent,
  type StoreChange,
} from "@rummy/core";
import type { RpcShared } from "./shared.js";
import { proposalItem, runStateSnapshot } from "./wire.js";

const NOTIFICATIONS: [string, string, ParamsSchema][] = [
  [
    "run/state",
    "A run's full state: { run, turn, status, summary?, history[], unknowns[], telemetry, reason } — after each dispatched command (102), each turn that continues, and when the run ends.",
    {},
  ],
  [
    "run/progress",
    "Transient activity: { run, turn, status: thinking | processing | retrying, phase, content?, reasoning? } (content/reasoning: model text as it streams).",
    {},
  ],
  [
    "run/proposal",
    "Proposals wait for a client: { run, proposed: [{ path, body, attributes (JSON string), turn, action }] }. Resolve with set { run, path, state }.",
    {},
  ],
  [
    "run/changed",
    "Pulse: entries of the run changed; reconcile with getEntries { run, since }.",
    {},
  ],
  ["ui/render", "Streaming output for display: { text, append, run, turn }.", {}],
  [
    "ui/notify",
    "A short message for the user: { text, level: info | warn | error, run? } — a proposal waiting for a decision, a run that ended with an error.",
    {},
  ],
];

/**
 * The notifications clients listen for (`run/state`, `run/progress`,
 * `run/proposal`, `run/changed`, `ui/render`, `ui/notify`): declared for
 * `discover`, and fed from the engine's hook events, each routed to the
 * connections of the run's project.
 */
export function registerNotifications(ctx: PluginContext, _shared: RpcShared): void {
  for (const [name, description, params] of NOTIFICATIONS)
    ctx.registerNotification(name, { description, params });
  forwardEngineEvents(ctx);
}

/** Engine hook events → client notifications, routed to the run's project. */
function forwardEngineEvents(ctx: PluginContext): void {
  const core = ctx.core;
  ctx.on<RunStateEvent>(ENGINE_EVENTS.runState, (e) => {
    const run = core.runs.get(e.runId);
    if (!run) return;
    core.rpc.notify("run/state", runStateSnapshot(core, run, e), { projectId: e.projectId });
    // A run that ended badly is worth a toast; the state above is for bookkeeping.
    if (e.status >= 400)
      core.rpc.notify(
        "ui/notify",
        {
          run: e.alias,
          level: e.status >= 500 ? "error" : "warn",
          text: `${e.alias} ended ${e.status}${e.reason ? `: ${e.reason}` : ""}`,
        },
        { projectId: e.projectId },
      );
  });
  ctx.on<RunProgressEvent>(ENGINE_EVENTS.runProgress, (e) => {
    core.rpc.notify(
      "run/progress",
      {
        run: e.alias,
        turn: e.turn,
        // 2.0.1's coarse status: the model is working on it, a provider call is being retried,
        // or its commands are being carried out.
        status:
          e.phase === "retrying"
            ? "retrying"
            : e.phase === "dispatching" || e.phase === "done"
              ? "processing"
              : "thinking",
        phase: e.phase,
        ...(e.content ? { content: e.content } : {}),
        ...(e.reasoning ? { reasoning: e.reasoning } : {}),
      },
      { projectId: e.projectId },
    );
    if (e.content)
      core.rpc.notify(
        "ui/render",
        { text: e.content, append: true, run: e.alias, turn: e.turn },
        { projectId: e.projectId },
      );
  });
  ctx.on<RunProposalEvent>(ENGINE_EVENTS.runProposal, (e) => {
    core.rpc.notify(
      "ui/notify",
      {
        run: e.alias,
        level: "info",
        text: `${e.alias} waits for your decision: <${e.action}> ${e.path}`,
      },
      { projectId: e.projectId },
    );
    core.rpc.notify(
      "run/proposal",
      { run: e.alias, proposed: [proposalItem(e)] },
      { projectId: e.projectId },
    );
  });
  // run/changed pulses, coalesced per run so a streaming command does not flood clients.
  const pending = new Set<number>();
  let timer: NodeJS.Timeout | null = null;
  ctx.on<StoreChange>("entry.changed", (change) => {
    if (change.runId === null) return;
    pending.add(change.runId);
    timer ??= setTimeout(() => {
      timer = null;
      for (const runId of pending) {
        const run = core.runs.get(runId);
        if (run) core.rpc.notify("run/changed", { run: run.alias }, { projectId: run.projectId });
      }
      pending.clear();
    }, 25);
  });
  ctx.on("core.closing", () => {
    if (timer) clearTimeout(timer);
  });
}
