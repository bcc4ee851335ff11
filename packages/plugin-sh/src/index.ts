import {
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
    handler(call, turn) {
      const command = call.body.trim();
      if (!command) throw new RummyError(400, `<${options.name}> needs the command as its body`);
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
