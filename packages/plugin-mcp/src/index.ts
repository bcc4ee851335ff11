import { join } from "node:path";
import {
  type ConfigSpec,
  definePlugin,
  ENGINE_EVENTS,
  type Entry,
  errorMessage,
  type PluginContext,
  type ProposalEvent,
  RummyError,
  type Tool,
  type ToolCall,
  type ToolContext,
  type TurnContext,
} from "@rummy/core";
import { McpConfig, type ServerConfig } from "./config.js";
import { type Limits, McpServerConnection, type ServerStatus } from "./connection.js";
import { catalog, fullListing, isReadOnly, resourceText, resultText } from "./render.js";

export { McpConfig, parseMcpConfig, type ServerConfig } from "./config.js";
export { McpServerConnection, type ServerState, type ServerStatus } from "./connection.js";
export { catalog, isReadOnly, resultText, signature } from "./render.js";

/**
 * The event a transport emits to add servers for a project root:
 * `{ root, mcpServers, source }`, `mcpServers` in the mcp.json shape. A bad
 * one throws a ConfigError back to the emitter.
 */
export const MCP_ADD_SERVERS = "mcp.servers.add";

const CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_MCP_CONFIG",
    type: "string",
    default: "",
    description: "the servers file (default RUMMY_HOME/mcp.json)",
  },
  {
    key: "RUMMY_MCP_START_TIMEOUT",
    type: "integer",
    default: 30_000,
    min: 100,
    max: 600_000,
    description: "longest an MCP server may take to start and answer the handshake (ms)",
  },
  {
    key: "RUMMY_MCP_CALL_TIMEOUT",
    type: "integer",
    default: 120_000,
    min: 100,
    max: 86_400_000,
    description: "longest one MCP request may take (ms) unless the server's config sets timeout",
  },
  {
    key: "RUMMY_MCP_DOC_TOKENS",
    type: "integer",
    default: 2000,
    min: 100,
    max: 1_000_000,
    description:
      "most tokens the MCP tool docs take in the system prompt (also at most a tenth of the turn's budget)",
  },
  {
    key: "RUMMY_MCP_READONLY",
    type: "enum",
    default: "auto",
    values: ["auto", "propose"],
    description:
      "auto: tools annotated read-only run without a proposal; propose: every MCP call is a proposal",
  },
  {
    key: "RUMMY_MCP_PROJECT_CONFIG",
    type: "boolean",
    default: false,
    description:
      "also read <project root>/.mcp.json (off by default: a repository could name any command)",
  },
  {
    key: "RUMMY_MCP_RESULT_MAX",
    type: "integer",
    default: 200_000,
    min: 1000,
    max: 100_000_000,
    description: "most characters of one MCP result kept in its entry",
  },
];

/**
 * `mcp`: tools and resources of MCP servers (configured in
 * `RUMMY_HOME/mcp.json`) as rummy tools. `<mcp server tool>{args}</mcp>`
 * calls a tool — at once when it is annotated read-only and policy allows,
 * otherwise as a proposal; its result is an `mcp://server/tool/…` entry.
 * `<get path="mcp://server/uri"/>` reads a resource into an entry.
 */
export default definePlugin({
  name: "mcp",
  version: "0.1.0",
  setup(ctx) {
    const values = ctx.readConfig(CONFIG);
    const limits: Limits = {
      startTimeoutMs: values.RUMMY_MCP_START_TIMEOUT as number,
      callTimeoutMs: values.RUMMY_MCP_CALL_TIMEOUT as number,
    };
    const settings = {
      docTokens: values.RUMMY_MCP_DOC_TOKENS as number,
      readOnly: values.RUMMY_MCP_READONLY as "auto" | "propose",
      resultMax: values.RUMMY_MCP_RESULT_MAX as number,
    };
    const config = new McpConfig(
      (values.RUMMY_MCP_CONFIG as string) || join(ctx.core.home, "mcp.json"),
      values.RUMMY_MCP_PROJECT_CONFIG as boolean,
    );
    const servers = new ServerPool(limits);
    const running = new Map<number, Set<AbortController>>();

    ctx.registerScheme({
      name: "mcp",
      category: "data",
      defaultScope: "run",
      writableBy: ["plugin"],
      render: { summarized: (e: Entry) => summary(e) },
    });

    const lookup = (root: string | null, name: string | undefined): McpServerConnection => {
      const { servers: set, error } = config.forProject(root);
      if (!name)
        throw new RummyError(
          400,
          `<mcp> needs server="…"; configured: ${[...set.keys()].join(", ") || "none"}`,
        );
      const server = set.get(name);
      if (!server)
        throw new RummyError(
          404,
          `no MCP server '${name}'; configured: ${[...set.keys()].join(", ") || "none"}${error ? ` (${error})` : ""}`,
        );
      return servers.get(root, server);
    };

    const execute = async (
      run: { runId: number; turn: number; loopId: number | null },
      logPath: string,
      connection: McpServerConnection,
      tool: string,
      args: Record<string, unknown>,
      signal: AbortSignal,
    ): Promise<void> => {
      const target = resultPath(connection.name, tool, logPath);
      // Failures throw: in a turn the engine records them as the command's error; after an
      // approval the accepted-handler below writes them into the proposal's log entry.
      const result = await connection.callTool(tool, args, signal);
      let body = resultText(result);
      const isError = result.isError === true;
      if (body.length > settings.resultMax)
        body = `${body.slice(0, settings.resultMax)}\n… (cut at ${settings.resultMax} of ${body.length} characters)`;
      ctx.store.batch(() => {
        const written = ctx.store.set({
          runId: run.runId,
          path: target,
          body,
          state: isError ? "failed" : "resolved",
          ...(isError ? { outcome: "tool_error:502" } : {}),
          visibility: "visible",
          turn: run.turn,
          ...(run.loopId ? { loopId: run.loopId } : {}),
          attributes: { server: connection.name, tool, summary: `${connection.name}/${tool}` },
          writer: "plugin",
        });
        ctx.store.set({
          runId: run.runId,
          path: logPath,
          state: isError ? "failed" : "resolved",
          outcome: isError ? "tool_error:502" : null,
          body: isError
            ? `${connection.name}/${tool} reported an error: ${firstLine(body)} (in ${target})`
            : `called ${connection.name}/${tool} → ${target} (${written.ok ? tokensOf(ctx, run.runId, target) : 0} tokens)`,
          attributes: { result: target },
          writer: "plugin",
        });
      });
    };

    const track = <T>(runId: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
      const controller = new AbortController();
      const set = running.get(runId) ?? new Set<AbortController>();
      running.set(runId, set);
      set.add(controller);
      return work(controller.signal).finally(() => {
        set.delete(controller);
        if (!set.size) running.delete(runId);
      });
    };

    ctx.registerTool({
      name: "mcp",
      // Documented per turn by the assembly filter below, from the servers the project has.
      async handler(call, turn) {
        const connection = lookup(turn.projectRoot, call.attributes.server?.trim());
        const toolName = call.attributes.tool?.trim();
        const tools = await connection.tools(turn.signal);
        if (!toolName) {
          turn.store.set({
            runId: turn.runId,
            path: call.resultPath,
            body: fullListing(connection.name, tools, turn.mode === "ask"),
            writer: "plugin",
          });
          return;
        }
        const tool = tools.find((t) => t.name === toolName);
        if (!tool)
          throw new RummyError(
            404,
            `MCP server '${connection.name}' has no tool '${toolName}'; it has: ${tools.map((t) => t.name).join(", ")}`,
          );
        const args = parseArguments(call.body, connection.name, toolName);
        const readOnly = isReadOnly(tool);
        if (turn.mode === "ask" && !readOnly)
          throw new RummyError(
            403,
            `${connection.name}/${toolName} is not marked read-only, and ask mode allows no side effects`,
          );
        const policy = connection.config.readOnly ?? settings.readOnly;
        if (readOnly && policy === "auto") {
          await execute(
            { runId: turn.runId, turn: turn.turn, loopId: turn.loopId },
            call.resultPath,
            connection,
            toolName,
            args,
            turn.signal,
          );
          return;
        }
        const argText = JSON.stringify(args);
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          body: argText,
          state: "proposed",
          attributes: {
            server: connection.name,
            tool: toolName,
            arguments: argText,
            readOnly,
            destructive: tool.annotations?.destructiveHint !== false && !readOnly,
            summary: `${connection.name}/${toolName} ${truncate(argText, 200)}`,
            ...(tool.annotations?.title || tool.title
              ? { title: tool.annotations?.title ?? tool.title }
              : {}),
          },
          writer: "plugin",
        });
      },
    });

    ctx.on<ProposalEvent>(ENGINE_EVENTS.proposalAccepted, async (event) => {
      if (event.action !== "mcp") return;
      const run = ctx.core.runs.get(event.runId);
      const root = run ? (ctx.core.projects.get(run.projectId)?.root ?? null) : null;
      const server = String(event.attributes.server ?? "");
      const tool = String(event.attributes.tool ?? "");
      const connection = lookup(root, server);
      const args = parseArguments(String(event.attributes.arguments ?? "{}"), server, tool);
      try {
        await track(event.runId, (signal) =>
          execute(
            { runId: event.runId, turn: event.turn, loopId: event.loopId || null },
            event.path,
            connection,
            tool,
            args,
            signal,
          ),
        );
      } catch (error) {
        ctx.store.set({
          runId: event.runId,
          path: event.path,
          state: "failed",
          outcome: String(error instanceof RummyError ? error.status : 502),
          body: `${server}/${tool} failed: ${errorMessage(error)}`,
          attributes: { error: errorMessage(error) },
          writer: "plugin",
        });
      }
    });

    ctx.on<{ runId: number }>("run.cancelling", ({ runId }) => {
      for (const controller of running.get(runId) ?? [])
        controller.abort(new Error("run cancelled"));
    });

    // Resources are read when a <get> names one, just before <get> runs, so it finds the entry.
    // A resource that cannot be read refuses the <get> with the reason, which the model sees.
    ctx.filter<string | null, { call: ToolCall; tool: Tool; context: ToolContext }>(
      "dispatch.policy",
      async (refusal, { call, context }) => {
        if (refusal || call.name !== "get") return refusal;
        const path = call.attributes.path?.trim() ?? "";
        const m = /^mcp:\/\/([^/]+)\/(.+:\/\/?.*)$/.exec(path);
        if (!m) return refusal;
        try {
          const connection = lookup(context.projectRoot, m[1]);
          const { body, mimeType } = resourceText(
            await connection.readResource(m[2]!, context.signal),
          );
          ctx.store.set({
            runId: context.runId,
            path,
            body,
            state: "resolved",
            visibility: "summarized",
            turn: context.turn,
            attributes: {
              server: connection.name,
              uri: m[2],
              summary: `resource ${m[2]}`,
              ...(mimeType ? { mimetype: mimeType } : {}),
            },
            writer: "plugin",
          });
          return null;
        } catch (error) {
          return `could not read ${path}: ${errorMessage(error)}`;
        }
      },
      50,
    );

    ctx.filter<string, TurnContext>(
      "assembly.system",
      async (text, turn) => {
        if (!turn.tools.some((t) => t.name === "mcp")) return text;
        const root = ctx.core.projects.get(turn.run.projectId)?.root ?? null;
        const { servers: set, error } = config.forProject(root);
        if (!set.size && !error) return text;
        const entries = await Promise.all(
          [...set.values()].map(async (server) => {
            const connection = servers.get(root, server);
            // Docs never (re)start a server that went down: only a call restarts it, once.
            if (connection.state === "crashed" || connection.state === "failed")
              return {
                name: server.name,
                tools: null,
                resources: [],
                error: connection.status().error ?? connection.state,
              };
            try {
              const tools = await connection.tools();
              const resources = await connection.resources().catch(() => []);
              return { name: server.name, tools, resources, error: null };
            } catch (e) {
              return { name: server.name, tools: null, resources: [], error: errorMessage(e) };
            }
          }),
        );
        if (error) entries.push({ name: ".mcp.json", tools: null, resources: [], error });
        const maxTokens = Math.min(settings.docTokens, Math.floor(turn.budget.ceiling / 10));
        const section = catalog(entries, {
          askMode: turn.mode === "ask",
          maxTokens: Math.max(50, maxTokens),
          count: (t) => ctx.core.tokenizer.count(t),
        });
        return text ? `${text}\n\n${section}` : section;
      },
      30,
    );

    // Servers a client brings for a project: `{ root, mcpServers }` in the mcp.json shape.
    ctx.on<{ root: string; mcpServers: unknown; source?: string }>(MCP_ADD_SERVERS, (event) => {
      config.addServers(event.root, event.mcpServers, event.source ?? "a client");
    });

    registerStatusRpc(ctx, config, servers);
    ctx.on("core.closing", () => servers.stopAll());
  },
});

/** Connections by project root and server name; a changed config replaces its connection. */
class ServerPool {
  readonly #limits: Limits;
  readonly #byKey = new Map<string, { signature: string; connection: McpServerConnection }>();

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  get(root: string | null, config: ServerConfig): McpServerConnection {
    const key = `${root ?? ""}\0${config.name}`;
    const signature = JSON.stringify(config);
    const existing = this.#byKey.get(key);
    if (existing && existing.signature === signature) return existing.connection;
    if (existing) void existing.connection.stop();
    const connection = new McpServerConnection(config, this.#limits, root ?? undefined);
    this.#byKey.set(key, { signature, connection });
    return connection;
  }

  /** The connection for a server if one was made, without starting anything. */
  peek(root: string | null, name: string): McpServerConnection | undefined {
    return this.#byKey.get(`${root ?? ""}\0${name}`)?.connection;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#byKey.values()].map((c) => c.connection.stop()));
    this.#byKey.clear();
  }
}

function registerStatusRpc(ctx: PluginContext, config: McpConfig, servers: ServerPool): void {
  ctx.registerRpc("mcp/servers", {
    description:
      "The MCP servers this project sees and their state: [{ name, kind, state, starts, pid, tools, error }]. Starts nothing.",
    handler: (_params, call) => {
      const root = call.session.projectRoot;
      const { servers: set, error } = config.forProject(root);
      const list: ServerStatus[] = [...set.values()].map(
        (s) =>
          servers.peek(root, s.name)?.status() ?? {
            name: s.name,
            kind: s.kind,
            state: "idle",
            starts: 0,
            pid: null,
            tools: null,
            error: null,
          },
      );
      return { servers: list, configError: error, config: config.homeFile };
    },
  });
}

/** `log://turn_3/mcp/x` → `mcp://server/tool/turn_3/x`. */
function resultPath(server: string, tool: string, logPath: string): string {
  const tail = logPath.replace(/^log:\/\/(turn_\d+)\/mcp\//, "$1/");
  return `mcp://${server}/${tool}/${tail}`;
}

function parseArguments(body: string, server: string, tool: string): Record<string, unknown> {
  const text = body.trim();
  if (!text) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RummyError(
      400,
      `the body of <mcp server="${server}" tool="${tool}"> must be a JSON object of arguments: ${errorMessage(error)}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new RummyError(400, `the arguments of ${server}/${tool} must be a JSON object`);
  return value as Record<string, unknown>;
}

function tokensOf(ctx: PluginContext, runId: number, path: string): number {
  return ctx.store.getOne({ runId }, path)?.tokens ?? 0;
}

function firstLine(text: string): string {
  return truncate(text.split("\n", 1)[0] ?? "", 200);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A result's tile: what produced it and its first lines. */
function summary(e: Entry): string {
  const lines = e.body.split("\n");
  const head = lines.slice(0, 3).join("\n");
  return `${String(e.attributes.summary ?? "")} (${lines.length} lines)\n${head}`;
}
