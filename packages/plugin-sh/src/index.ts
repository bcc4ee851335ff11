import {
  type CommandsRunningEvent,
  definePlugin,
  type Entry,
  ENGINE_EVENTS,
  logPathToDataBase,
  type Mode,
  type PluginContext,
  type ProposalEvent,
  readToolDoc,
  RummyError,
} from "@rummy/core";
import { cancelProducer } from "@rummy/plugin-stream";

export interface ShellToolOptions {
  /** The tag and the scheme of its output channels: `sh`, `env`. */
  readonly name: string;
  readonly doc: string;
  readonly modes?: readonly Mode[];
}

/**
 * Registers a shell-command tool: the command becomes a proposal at its log
 * entry (`log://turn_N/{name}/{slug}`, the command in `attributes.command`);
 * when accepted, empty streaming channels `{name}://turn_N/{slug}_1` (stdout)
 * and `_2` (stderr) are created, summarized, for a producer — the client, or
 * yolo on the server — to fill through the stream plugin.
 */
export function registerShellTool(ctx: PluginContext, options: ShellToolOptions): void {
  ctx.registerScheme({
    name: options.name,
    category: "data",
    defaultScope: "run",
    writableBy: ["plugin"],
    render: { summarized: (e: Entry) => tail(e.body) },
  });
  ctx.registerTool({
    name: options.name,
    doc: options.doc,
    ...(options.modes ? { modes: options.modes } : {}),
    async handler(call, turn) {
      const cancel = call.attributes.cancel?.trim();
      if (cancel) return cancelCommand(ctx, options.name, turn.runId, call.resultPath, cancel);
      const command = call.body.trim();
      if (!command)
        throw new RummyError(
          400,
          `<${options.name}> needs the command as its body (or cancel="log://…" to stop a running one)`,
        );
      turn.store.set({
        runId: turn.runId,
        path: call.resultPath,
        body: "",
        state: "proposed",
        attributes: { command, summary: command },
        writer: "plugin",
      });
    },
  });
  // Channels first (low priority number), so a server-side producer finds them.
  ctx.on<ProposalEvent>(
    ENGINE_EVENTS.proposalAccepted,
    (event) => {
      if (event.action !== options.name) return;
      const base = logPathToDataBase(event.path);
      if (!base) return;
      const command = String(event.attributes.command ?? "");
      ctx.store.batch(() => {
        for (const channel of [1, 2]) {
          ctx.store.set({
            runId: event.runId,
            path: `${base}_${channel}`,
            body: "",
            state: "streaming",
            visibility: "summarized",
            turn: event.turn,
            attributes: { command, summary: command, channel },
          });
        }
        ctx.store.set({
          runId: event.runId,
          path: event.path,
          state: "resolved",
          body: `ran '${command}' (in progress). Output: ${base}_1, ${base}_2`,
        });
      });
    },
    10,
  );
  // The next turn stopped waiting: the model must read "still running", not "in progress" or nothing.
  ctx.on<CommandsRunningEvent>(ENGINE_EVENTS.commandsRunning, (event) => {
    const bases = new Set<string>();
    for (const path of event.paths) {
      const m = /^([a-z][a-z0-9_-]*):\/\/(turn_\d+)\/(.+)_\d+$/.exec(path);
      if (m && m[1] === options.name) bases.add(`log://${m[2]}/${m[1]}/${m[3]}`);
    }
    const seconds = Math.round(event.waitedMs / 1000);
    ctx.store.batch(() => {
      for (const logPath of bases) {
        const log = ctx.store.getOne({ runId: event.runId }, logPath);
        const base = logPathToDataBase(logPath);
        if (!log || !base) continue;
        const channels = ctx.store.get({
          runId: event.runId,
          pattern: `${base}_*`,
          order: "path",
          includeBody: false,
        });
        const output = channels
          .map((c) => `${c.path} (${c.tokens ? `${c.tokens} tokens so far` : "empty so far"})`)
          .join(", ");
        ctx.store.set({
          runId: event.runId,
          path: logPath,
          body: `'${String(log.attributes.command ?? "")}' is still running after ${seconds} s. Output: ${output}. It keeps running and its output keeps arriving (read it with <get>); to stop it: <${options.name} cancel="${logPath}"/>`,
          attributes: { running: true },
        });
      }
    });
  });
}

/** `<sh cancel="log://turn_N/sh/slug"/>`: the model stops a command it started that is still running. */
async function cancelCommand(
  ctx: PluginContext,
  name: string,
  runId: number,
  resultPath: string,
  target: string,
): Promise<void> {
  const run = ctx.core.runs.get(runId);
  const log = ctx.store.getOne({ runId }, target);
  const base = logPathToDataBase(target);
  if (!run || !log || !base || log.attributes.action !== name)
    throw new RummyError(404, `cancel="${target}": no <${name}> command of this run at that path`);
  const running = ctx.store
    .get({ runId, pattern: `${base}_*`, state: "streaming", includeBody: false })
    .filter((c) => /_\d+$/.test(c.path));
  if (running.length === 0)
    throw new RummyError(409, `cancel="${target}": that command is not running`);
  await cancelProducer(ctx, run, target, "cancelled by the model");
  ctx.store.set({
    runId,
    path: resultPath,
    body: `cancelled '${String(log.attributes.command ?? "")}' (${target})`,
    state: "resolved",
    attributes: { summary: `cancel ${target}` },
    writer: "plugin",
  });
}

/** The last lines of an output channel, for its summarized tile. */
function tail(body: string): string {
  const lines = body.trimEnd().split("\n");
  const last = lines.slice(-3).join("\n");
  return lines.length > 3 ? `… (${lines.length} lines) …\n${last}` : last;
}

/** `<sh>`: commands with side effects. Act mode only (the policy plugin also refuses it in ask mode). */
export default definePlugin({
  name: "sh",
  version: "0.1.0",
  setup(ctx) {
    registerShellTool(ctx, {
      name: "sh",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      modes: ["act"],
    });
  },
});
