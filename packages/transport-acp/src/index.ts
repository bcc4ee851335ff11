import { readFileSync } from "node:fs";
import { basename, isAbsolute, join } from "node:path";
import {
  type AgentConnection,
  type AgentContext,
  agent,
  type ClientCapabilities,
  type ContentBlock,
  type McpServer,
  ndJsonStream,
  PROTOCOL_VERSION,
  type PlanEntry,
  RequestError,
  type SessionUpdate,
  type StopReason,
  type ToolCallContent,
  type ToolCallStatus,
  type ToolKind,
} from "@agentclientprotocol/sdk";
import {
  definePlugin,
  ENGINE_EVENTS,
  type Entry,
  type EntryState,
  errorMessage,
  hasScheme,
  isGlob,
  type PluginContext,
  type PluginDefinition,
  type ProposalEvent,
  type RummyCore,
  type RunProgressEvent,
  type RunProposalEvent,
  type RunStateEvent,
  type StoreChange,
  TERMINAL_RUN_STATUSES,
} from "@rummy/core";
import { allowedProjectParents, resolveProjectRoot } from "@rummy/plugin-rpc";
import {
  runApproved,
  SERVER_SHELL_CONFIG,
  type ServerShellLimits,
  serverShellLimits,
} from "@rummy/plugin-yolo";
import { ReplyText } from "./text.js";

export { ReplyText } from "./text.js";

const VERSION = "0.1.0";
/** Commands whose log entries are not tool calls: their text is the agent's message and thoughts. */
const NOT_TOOL_CALLS = new Set(["update", "think"]);
const SHELL_ACTIONS = new Set(["sh", "env"]);
const KIND: Record<string, ToolKind> = {
  get: "read",
  set: "edit",
  rm: "delete",
  mv: "move",
  cp: "move",
  sh: "execute",
  env: "execute",
  known: "think",
  unknown: "think",
  mcp: "other",
  error: "other",
};

interface Session {
  readonly id: string;
  readonly runId: number;
  readonly alias: string;
  readonly projectId: number;
  readonly cwd: string;
  readonly client: AgentContext;
  readonly capabilities: ClientCapabilities;
  /** Actions the user allowed for the rest of the session ("allow always"). */
  readonly allowed: Set<string>;
  /** Tool calls announced, by log path, with the status and content last sent. */
  readonly toolCalls: Map<string, string>;
  /** Unknowns seen in this session: still open, or answered (removed). */
  readonly plan: Map<string, { content: string; open: boolean }>;
  prompt: {
    readonly done: (status: number, reason: string | null) => void;
    cancelled: boolean;
    reply: ReplyText;
    turn: number;
  } | null;
}

export interface AcpServeOptions {
  /** The model alias or `provider/model` runs use (default RUMMY_MODEL). */
  readonly model?: string;
}

/**
 * rummy as an ACP agent. `acpPlugin()` must be among the core's plugins
 * (it subscribes to the engine's events); `serve(stream)` then answers an
 * editor over a byte stream pair — stdio in `rummy acp`. Sessions are runs
 * of the project rooted at the session's cwd (resolved through symlinks and
 * held to RUMMY_PROJECT_ROOTS, as `rummy/hello` is); they live in the store, so a
 * disconnect loses nothing that was written.
 */
export class AcpAgent {
  readonly #sessions = new Map<string, Session>();
  readonly #byRun = new Map<number, Session>();
  #ctx: PluginContext | null = null;
  #shellLimits: ServerShellLimits | null = null;
  #projectParents: readonly string[] | null = null;
  readonly #running = new Map<string, AbortController>();

  /** The plugin half: hooks into the engine's events for the runs of ACP sessions. */
  plugin(): PluginDefinition {
    return definePlugin({
      name: "acp",
      version: VERSION,
      setup: (ctx) => this.#setup(ctx),
    });
  }

  /**
   * Answers one client on a pair of byte streams. `done` settles after the
   * client disconnected and its running prompts were cancelled.
   */
  serve(
    output: WritableStream<Uint8Array>,
    input: ReadableStream<Uint8Array>,
    options: AcpServeOptions = {},
  ): { connection: AgentConnection; done: Promise<void> } {
    const ctx = this.#ctx;
    if (!ctx) throw new Error("AcpAgent.serve: load agent.plugin() into the core first");
    const core = ctx.core;
    let capabilities: ClientCapabilities = {};
    const mine = new Set<Session>();
    const app = agent({ name: "rummy" })
      .onRequest("initialize", ({ params }) => {
        capabilities = params.clientCapabilities ?? {};
        return {
          protocolVersion: PROTOCOL_VERSION,
          agentCapabilities: {
            loadSession: false,
            promptCapabilities: { image: false, audio: false, embeddedContext: true },
            mcpCapabilities: { http: true, sse: false },
          },
          agentInfo: { name: "rummy", title: "rummy", version: VERSION },
          authMethods: [],
        };
      })
      .onRequest("session/new", async ({ params, client }) => {
        // The rule rummy/hello applies: RUMMY_PROJECT_ROOTS, and never `/` or the home folder itself.
        let cwd: string;
        try {
          cwd = resolveProjectRoot(params.cwd, this.#projectParents, "session/new: cwd");
        } catch (error) {
          throw RequestError.invalidParams({ cwd: params.cwd }, errorMessage(error));
        }
        const project = projectFor(core, cwd);
        if (params.mcpServers?.length) {
          // Handed to @rummy/plugin-mcp through the event bus (when it is loaded).
          try {
            await ctx.emit(MCP_ADD_SERVERS, {
              root: cwd,
              mcpServers: mcpServersConfig(params.mcpServers),
              source: "session/new mcpServers",
            });
          } catch (error) {
            throw RequestError.invalidParams(
              { mcpServers: params.mcpServers },
              errorMessage(error),
            );
          }
        }
        const model = options.model ?? core.env.RUMMY_MODEL ?? null;
        const run = core.runs.create({
          projectId: project.id,
          model,
          attributes: { client: "acp" },
        });
        const session: Session = {
          id: `${project.id}-${run.alias}`,
          runId: run.id,
          alias: run.alias,
          projectId: project.id,
          cwd,
          client,
          capabilities,
          allowed: new Set(),
          toolCalls: new Map(),
          plan: new Map(),
          prompt: null,
        };
        this.#sessions.set(session.id, session);
        this.#byRun.set(run.id, session);
        mine.add(session);
        return { sessionId: session.id };
      })
      .onRequest("session/prompt", async ({ params }) => {
        const session = this.#session(params.sessionId);
        if (session.prompt)
          throw RequestError.invalidRequest(
            { sessionId: session.id },
            "a prompt is already running in this session; cancel it first",
          );
        const text = promptText(params.prompt);
        if (!text.trim()) throw RequestError.invalidParams({}, "the prompt has no text");
        const finished = new Promise<{ status: number; reason: string | null }>((resolve) => {
          session.prompt = {
            done: (status, reason) => resolve({ status, reason }),
            cancelled: false,
            reply: new ReplyText(),
            turn: 0,
          };
        });
        const current = session.prompt!;
        try {
          core.engine.submit({
            projectId: session.projectId,
            alias: session.alias,
            mode: "act",
            prompt: text,
            // The editor has no channel for free-form answers: the model decides without <ask_user>.
            flags: { noInteraction: true },
            ...(options.model ? { model: options.model } : {}),
          });
        } catch (error) {
          session.prompt = null;
          throw RequestError.internalError({}, `could not start the run: ${errorMessage(error)}`);
        }
        const { status, reason } = await finished;
        session.prompt = null;
        return { stopReason: stopReason(status, current.cancelled, reason) };
      })
      .onNotification("session/cancel", async ({ params }) => {
        const session = this.#sessions.get(params.sessionId);
        if (!session?.prompt) return;
        session.prompt.cancelled = true;
        await core.engine.cancel(session.runId, "cancelled in the editor");
      });
    const connection = app.connect(ndJsonStream(output, input));
    const done = connection.closed.then(async () => {
      // The editor went away: its running prompts are cancelled (nobody could approve their
      // proposals); everything the runs wrote stays in the store.
      for (const session of mine) {
        this.#sessions.delete(session.id);
        this.#byRun.delete(session.runId);
        if (session.prompt)
          await core.engine.cancel(session.runId, "the editor disconnected").catch(() => {});
      }
    });
    return { connection, done };
  }

  #session(id: string): Session {
    const session = this.#sessions.get(id);
    if (!session) throw RequestError.resourceNotFound(id);
    return session;
  }

  #setup(ctx: PluginContext): void {
    this.#ctx = ctx;
    const core = ctx.core;
    this.#shellLimits = serverShellLimits(ctx.readConfig(SERVER_SHELL_CONFIG));
    // Read at boot, as plugin-rpc does: a bad list stops `rummy acp` instead of admitting any folder.
    this.#projectParents = allowedProjectParents(core.env.RUMMY_PROJECT_ROOTS);

    ctx.on<RunProgressEvent>(ENGINE_EVENTS.runProgress, (event) => {
      const session = this.#byRun.get(event.runId);
      const prompt = session?.prompt;
      if (!session || !prompt) return;
      if (event.turn !== prompt.turn) {
        this.#flushReply(session);
        prompt.turn = event.turn;
        prompt.reply = new ReplyText();
      }
      if (event.phase === "streaming") {
        const { message, thought } = prompt.reply.push(event.content ?? "");
        if (thought) this.#update(session, agentText("agent_thought_chunk", thought));
        if (message) this.#update(session, agentText("agent_message_chunk", message));
        if (event.reasoning)
          this.#update(session, agentText("agent_thought_chunk", event.reasoning));
      }
    });

    ctx.on<{ runId: number; turn: number }>(ENGINE_EVENTS.turnCompleted, (event) => {
      const session = this.#byRun.get(event.runId);
      if (!session?.prompt) return;
      this.#flushReply(session, event.turn);
      // A command's status as the turn left it (the entry may not have changed after it was recorded).
      for (const entry of core.store.get({
        runId: session.runId,
        pattern: `log://turn_${event.turn}/*`,
        includeBody: true,
      }))
        this.#toolCall(session, entry);
    });

    ctx.on<RunStateEvent>(ENGINE_EVENTS.runState, (event) => {
      const session = this.#byRun.get(event.runId);
      if (!session?.prompt || !TERMINAL_RUN_STATUSES.has(event.status)) return;
      if (core.engine.isActive(event.runId) && core.loops.next(event.runId)) return;
      this.#flushReply(session);
      session.prompt.done(event.status, event.reason);
    });

    ctx.on<StoreChange>("entry.changed", (change) => {
      if (change.runId === null) return;
      const session = this.#byRun.get(change.runId);
      if (!session) return;
      if (change.path.startsWith("log://")) {
        const entry = core.store.getOne({ runId: session.runId }, change.path);
        if (entry) this.#toolCall(session, entry);
      } else if (change.path.startsWith("unknown://")) this.#sendPlan(session);
      else {
        // A command's output channel grew: its tool call shows the new output.
        const m = /^(sh|env):\/\/(turn_\d+)\/(.+)_\d+$/.exec(change.path);
        const entry =
          m && core.store.getOne({ runId: session.runId }, `log://${m[2]}/${m[1]}/${m[3]}`);
        if (entry) this.#toolCall(session, entry);
      }
    });

    ctx.on<RunProposalEvent>(ENGINE_EVENTS.runProposal, (event) => {
      const session = this.#byRun.get(event.runId);
      if (session) void this.#askPermission(session, event);
    });

    // After approval, an editor's command runs here (the editor is no rummy client that would run it).
    ctx.on<ProposalEvent>(
      ENGINE_EVENTS.proposalAccepted,
      async (event) => {
        const session = this.#byRun.get(event.runId);
        if (!session || !SHELL_ACTIONS.has(event.action)) return;
        if (core.loops.get(event.loopId)?.flags.yolo) return; // yolo runs it already
        if (this.#shellLimits)
          await runApproved(core, event.runId, event.path, this.#running, this.#shellLimits);
      },
      60,
    );

    // An accepted edit also goes through the editor's buffer when it can write files.
    ctx.on<ProposalEvent>(
      ENGINE_EVENTS.proposalAccepted,
      async (event) => {
        const session = this.#byRun.get(event.runId);
        if (!session?.capabilities.fs?.writeTextFile) return;
        if (event.action !== "set" || typeof event.attributes.patch !== "string") return;
        const path = String(event.attributes.path);
        try {
          await session.client.request("fs/write_text_file", {
            sessionId: session.id,
            path: absolute(session.cwd, path),
            content: event.body,
          });
        } catch (error) {
          ctx.log.warn(`fs/write_text_file ${path}: ${errorMessage(error)} (written to disk)`);
        }
      },
      150,
    );
  }

  #update(session: Session, update: SessionUpdate): void {
    session.client.notify("session/update", { sessionId: session.id, update }).catch(() => {
      // A client that went away gets nothing more; the run's entries stay in the store.
    });
  }

  /** Sends the message text of a turn that did not arrive as streamed chunks. */
  #flushReply(session: Session, turn?: number): void {
    const prompt = session.prompt;
    if (!prompt) return;
    const rest = prompt.reply.end();
    if (rest.thought) this.#update(session, agentText("agent_thought_chunk", rest.thought));
    if (rest.message) this.#update(session, agentText("agent_message_chunk", rest.message));
    if (turn === undefined || prompt.reply.message) return;
    // Nothing streamed this turn (a provider without streaming): the recorded updates are the message.
    const text = this.#ctx!.core.store.get({
      runId: session.runId,
      pattern: `log://turn_${turn}/update/*`,
      order: "id",
    })
      .map((e) => e.body.trim())
      .filter(Boolean)
      .join("\n\n");
    if (text) this.#update(session, agentText("agent_message_chunk", text));
    prompt.reply.push(`<update>${text}</update>`);
    prompt.reply.end();
  }

  #toolCall(session: Session, entry: Entry): void {
    const [, , , action = ""] = entry.path.split("/");
    if (NOT_TOOL_CALLS.has(action)) return;
    const content = this.#content(session, entry, action);
    const status =
      SHELL_ACTIONS.has(action) &&
      entry.state === "resolved" &&
      this.#outputStreaming(session, entry)
        ? "in_progress"
        : toolStatus(entry.state);
    // Only what changed is sent: the same entry is seen on every write and at the turn's end.
    const signature = `${status}\0${JSON.stringify(content)}`;
    const previous = session.toolCalls.get(entry.path);
    if (previous === signature) return;
    session.toolCalls.set(entry.path, signature);
    if (previous === undefined) {
      const locations = locationsOf(session, entry);
      this.#update(session, {
        sessionUpdate: "tool_call",
        toolCallId: entry.path,
        title: titleOf(action, entry),
        kind: KIND[action] ?? "other",
        status,
        rawInput: { ...entry.attributes },
        ...(content.length ? { content } : {}),
        ...(locations.length ? { locations } : {}),
      });
      return;
    }
    this.#update(session, {
      sessionUpdate: "tool_call_update",
      toolCallId: entry.path,
      status,
      ...(content.length ? { content } : {}),
    });
  }

  /** Whether an accepted command's output channels are still being written. */
  #outputStreaming(session: Session, entry: Entry): boolean {
    const base = channelBase(entry.path);
    if (!base) return false;
    return this.#ctx!.core.store.get({
      runId: session.runId,
      pattern: `${base}_*`,
      includeBody: false,
    }).some((e) => e.state === "streaming");
  }

  #content(session: Session, entry: Entry, action: string): ToolCallContent[] {
    if (
      action === "set" &&
      typeof entry.attributes.patch === "string" &&
      entry.state === "proposed"
    ) {
      const path = absolute(session.cwd, String(entry.attributes.path));
      return [
        {
          type: "diff",
          path,
          oldText: entry.attributes.created === true ? null : readOrNull(path),
          newText: entry.body,
        },
      ];
    }
    let text = entry.body;
    if (SHELL_ACTIONS.has(action) && entry.state !== "proposed") {
      const base = channelBase(entry.path);
      const out = this.#ctx!.core.store.get({
        runId: session.runId,
        pattern: `${base}_*`,
        order: "path",
      });
      const output = out.map((e) => e.body).join("");
      if (output) text = `${text}\n\n${output.slice(-4000)}`;
    }
    if (!text.trim()) return [];
    return [{ type: "content", content: { type: "text", text: text.slice(0, 8000) } }];
  }

  #sendPlan(session: Session): void {
    const open = this.#ctx!.core.store.get({
      runId: session.runId,
      scheme: "unknown",
      order: "id",
    });
    const live = new Set(open.map((e) => e.path));
    for (const e of open) session.plan.set(e.path, { content: firstLine(e.body), open: true });
    for (const [path, item] of session.plan) if (!live.has(path)) item.open = false;
    const entries: PlanEntry[] = [...session.plan.values()].map((item) => ({
      content: item.content,
      priority: "medium",
      status: item.open ? "pending" : "completed",
    }));
    this.#update(session, { sessionUpdate: "plan", entries });
  }

  async #askPermission(session: Session, event: RunProposalEvent): Promise<void> {
    const core = this.#ctx!.core;
    const key = permissionKey(event.action, event.attributes);
    const accept = () => core.engine.resolve(session.runId, event.path, { decision: "accept" });
    if (session.allowed.has(key)) {
      await accept().catch(() => {});
      return;
    }
    const entry = core.store.getOne({ runId: session.runId }, event.path);
    if (entry) this.#toolCall(session, entry);
    let outcome: string;
    try {
      const response = await session.client.request("session/request_permission", {
        sessionId: session.id,
        toolCall: {
          toolCallId: event.path,
          title: entry ? titleOf(event.action, entry) : event.action,
          kind: KIND[event.action] ?? "other",
          status: "pending",
          ...(entry ? { content: this.#content(session, entry, event.action) } : {}),
        },
        options: [
          { optionId: "allow_once", name: "Allow", kind: "allow_once" },
          { optionId: "allow_always", name: `Always allow ${key}`, kind: "allow_always" },
          { optionId: "reject_once", name: "Reject", kind: "reject_once" },
        ],
      });
      outcome = response.outcome.outcome === "selected" ? response.outcome.optionId : "cancelled";
    } catch {
      // The editor went away: the proposal stays pending in the store for any later client.
      return;
    }
    try {
      if (outcome === "allow_always") session.allowed.add(key);
      if (outcome === "allow_once" || outcome === "allow_always") await accept();
      else
        await core.engine.resolve(session.runId, event.path, {
          decision: "reject",
          body: outcome === "cancelled" ? "cancelled in the editor" : "rejected in the editor",
        });
    } catch (error) {
      this.#ctx!.log.debug(`resolving ${event.path}: ${errorMessage(error)}`);
    }
  }
}

/** `log://turn_3/sh/npm_test` → `sh://turn_3/npm_test` (its channels add `_1`, `_2`). */
function channelBase(logPath: string): string | null {
  const m = /^log:\/\/(turn_\d+)\/(sh|env)\/(.+)$/.exec(logPath);
  return m ? `${m[2]}://${m[1]}/${m[3]}` : null;
}

/** The event @rummy/plugin-mcp listens to for servers a client brings (see its README). */
const MCP_ADD_SERVERS = "mcp.servers.add";

/** ACP's server list in the mcp.json shape: stdio `{command, args, env}`, HTTP `{url, headers}`. */
function mcpServersConfig(servers: readonly McpServer[]): Record<string, unknown> {
  const pairs = (list: readonly { name: string; value: string }[] | undefined) =>
    Object.fromEntries((list ?? []).map((p) => [p.name, p.value]));
  return Object.fromEntries(
    servers.map((s) => {
      if ("command" in s)
        return [s.name, { command: s.command, args: s.args ?? [], env: pairs(s.env) }];
      if (s.type === "http" || s.type === "sse")
        return [s.name, { url: s.url, headers: pairs(s.headers) }];
      return [(s as { name: string }).name, {}];
    }),
  );
}

/** The project rooted at cwd: an existing one, else a new one named after the folder. */
function projectFor(core: RummyCore, cwd: string) {
  const existing = core.projects.list().find((p) => p.root === cwd);
  if (existing) return existing;
  const name = basename(cwd) || cwd;
  const taken = core.projects.byName(name);
  return core.projects.ensure(taken && taken.root !== cwd ? cwd : name, cwd);
}

/** The prompt's content as the text of a rummy prompt: text as is, embedded resources with their URI. */
function promptText(blocks: readonly ContentBlock[]): string {
  return blocks
    .map((b) => {
      switch (b.type) {
        case "text":
          return b.text;
        case "resource": {
          const r = b.resource as { uri: string; text?: string };
          return typeof r.text === "string"
            ? `<context uri="${r.uri}">\n${r.text}\n</context>`
            : `(attached: ${r.uri})`;
        }
        case "resource_link":
          return `(see ${b.uri})`;
        default:
          return "";
      }
    })
    .filter(Boolean)
    .join("\n\n");
}

function stopReason(status: number, cancelled: boolean, reason: string | null): StopReason {
  if (status === 200 || status === 204) return "end_turn";
  if (status === 422) return "refusal";
  if (status === 413) return "max_tokens";
  if (status === 499) return cancelled ? "cancelled" : "max_turn_requests";
  throw RequestError.internalError({ status }, `the run failed: ${reason ?? `status ${status}`}`);
}

function toolStatus(state: EntryState | null): ToolCallStatus {
  switch (state) {
    case "proposed":
      return "pending";
    case "streaming":
      return "in_progress";
    case "failed":
    case "cancelled":
      return "failed";
    default:
      return "completed";
  }
}

function titleOf(action: string, entry: Entry): string {
  const a = entry.attributes;
  const target =
    typeof a.command === "string"
      ? a.command
      : typeof a.path === "string"
        ? a.path
        : typeof a.summary === "string"
          ? a.summary
          : action === "error"
            ? firstLine(entry.body)
            : "";
  return `${action}${target ? ` ${firstLine(target)}` : ""}`;
}

function locationsOf(session: Session, entry: Entry): { path: string }[] {
  const path = entry.attributes.path;
  if (typeof path !== "string" || !path || hasScheme(path) || isGlob(path)) return [];
  return [{ path: absolute(session.cwd, path) }];
}

function permissionKey(action: string, attributes: Record<string, unknown>): string {
  return action === "mcp" ? `mcp ${attributes.server}/${attributes.tool}` : action;
}

function agentText(
  kind: "agent_message_chunk" | "agent_thought_chunk",
  text: string,
): SessionUpdate {
  return { sessionUpdate: kind, content: { type: "text", text } };
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function absolute(cwd: string, path: string): string {
  return isAbsolute(path) ? path : join(cwd, path);
}

function firstLine(text: string, max = 120): string {
  const line = text.trim().split("\n", 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
