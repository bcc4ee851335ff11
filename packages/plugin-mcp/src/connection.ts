// The SDK is loaded when a server first starts, so a rummy with no MCP servers does not pay for it.
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type {
  CallToolResult,
  ReadResourceResult,
  Resource,
  Tool as McpTool,
} from "@modelcontextprotocol/sdk/types.js";
import { errorMessage, RummyError } from "@rummy/core";
import type { ServerConfig } from "./config.js";

export type { McpTool, Resource };

export type ServerState = "idle" | "starting" | "ready" | "crashed" | "failed" | "stopped";

export interface Limits {
  readonly startTimeoutMs: number;
  readonly callTimeoutMs: number;
}

/** What `mcp/servers` reports about one server. */
export interface ServerStatus {
  readonly name: string;
  readonly kind: "stdio" | "http";
  readonly state: ServerState;
  readonly starts: number;
  readonly pid: number | null;
  readonly tools: number | null;
  readonly error: string | null;
}

const STDERR_KEEP = 2000;
/** A server is started at most this often: the first start, and one restart after a crash. */
const MAX_STARTS = 2;

/**
 * One MCP server as rummy uses it: started on first need, restarted once if
 * it crashes, given up on after that with the reason kept for every later
 * caller, and every request bounded by a timeout so a hung server costs a
 * turn an error, never the run.
 */
export class McpServerConnection {
  readonly config: ServerConfig;
  readonly #limits: Limits;
  readonly #cwd: string | undefined;
  #state: ServerState = "idle";
  #client: Client | null = null;
  #transport: Transport | null = null;
  #starting: Promise<Client> | null = null;
  #starts = 0;
  #error: string | null = null;
  #stderr = "";
  #tools: McpTool[] | null = null;
  #resources: Resource[] | null = null;

  constructor(config: ServerConfig, limits: Limits, cwd: string | undefined) {
    this.config = config;
    this.#limits = limits;
    this.#cwd = cwd;
  }

  get name(): string {
    return this.config.name;
  }

  get state(): ServerState {
    return this.#state;
  }

  get timeoutMs(): number {
    return this.config.timeoutMs ?? this.#limits.callTimeoutMs;
  }

  status(): ServerStatus {
    const pid =
      this.config.kind === "stdio" && this.#state === "ready"
        ? ((this.#transport as StdioClientTransport | null)?.pid ?? null)
        : null;
    return {
      name: this.name,
      kind: this.config.kind,
      state: this.#state,
      starts: this.#starts,
      pid,
      tools: this.#tools?.length ?? null,
      error: this.#error,
    };
  }

  /** The server's tools, listed once per start. Starts the server if needed. */
  async tools(signal?: AbortSignal): Promise<McpTool[]> {
    const client = await this.#ready();
    if (this.#tools) return this.#tools;
    const tools: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#request(
        `listing its tools`,
        (options) => client.listTools(cursor ? { cursor } : {}, options),
        signal,
      );
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor && tools.length < 10_000);
    this.#tools = tools;
    return tools;
  }

  /** The server's resources (empty when it offers none). Starts the server if needed. */
  async resources(signal?: AbortSignal): Promise<Resource[]> {
    const client = await this.#ready();
    if (this.#resources) return this.#resources;
    if (!client.getServerCapabilities()?.resources) {
      this.#resources = [];
      return this.#resources;
    }
    const list: Resource[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#request(
        "listing its resources",
        (options) => client.listResources(cursor ? { cursor } : {}, options),
        signal,
      );
      list.push(...page.resources);
      cursor = page.nextCursor;
    } while (cursor && list.length < 10_000);
    this.#resources = list;
    return list;
  }

  async callTool(
    tool: string,
    args: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<CallToolResult> {
    const client = await this.#ready();
    return (await this.#request(
      `running ${tool}`,
      (options) => client.callTool({ name: tool, arguments: args }, undefined, options),
      signal,
    )) as CallToolResult;
  }

  async readResource(uri: string, signal?: AbortSignal): Promise<ReadResourceResult> {
    const client = await this.#ready();
    return this.#request(
      `reading ${uri}`,
      (options) => client.readResource({ uri }, options),
      signal,
    );
  }

  /** Stops the server (its process, for stdio). A stopped connection is not restarted. */
  async stop(): Promise<void> {
    this.#state = "stopped";
    const client = this.#client;
    this.#client = null;
    this.#transport = null;
    await client?.close().catch(() => {});
  }

  async #ready(): Promise<Client> {
    if (this.#state === "ready" && this.#client) return this.#client;
    if (this.#starting) return this.#starting;
    if (this.#state === "stopped")
      throw new RummyError(503, `MCP server '${this.name}' was stopped (rummy is shutting down)`);
    if (this.#state === "failed" || this.#starts >= MAX_STARTS)
      throw new RummyError(
        502,
        `MCP server '${this.name}' is unavailable: ${this.#error ?? "it failed"}${this.#starts >= MAX_STARTS ? " (already restarted once; not restarted again until rummy restarts)" : ""}`,
      );
    this.#starting = this.#start().finally(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  async #start(): Promise<Client> {
    this.#starts++;
    this.#state = "starting";
    this.#tools = null;
    this.#resources = null;
    this.#stderr = "";
    const { Client } = await import("@modelcontextprotocol/sdk/client/index.js");
    const transport = await this.#makeTransport();
    const client = new Client({ name: "rummy", version: "0.1.0" });
    let settled = false;
    client.onclose = () => {
      if (this.#client !== client && settled) return;
      if (this.#state === "stopped") return;
      // Closed without our asking: the process exited or the connection dropped.
      this.#client = null;
      this.#transport = null;
      this.#error = `it exited unexpectedly${this.#stderrTail()}`;
      this.#state = this.#starts >= MAX_STARTS ? "failed" : "crashed";
    };
    try {
      await client.connect(transport, { timeout: this.#limits.startTimeoutMs });
      settled = true;
    } catch (error) {
      settled = true;
      await client.close().catch(() => {});
      const message = errorMessage(error);
      const timedOut = /timed? ?out/i.test(message);
      this.#error = timedOut
        ? `it did not answer the MCP handshake within ${this.#limits.startTimeoutMs} ms${this.#stderrTail()}`
        : /connection closed/i.test(message)
          ? `it exited during the MCP handshake${this.#stderrTail()}`
          : `it could not be started: ${message}${this.#stderrTail()}`;
      this.#state = this.#starts >= MAX_STARTS ? "failed" : "crashed";
      throw new RummyError(timedOut ? 504 : 502, `MCP server '${this.name}': ${this.#error}`);
    }
    if ((this.#state as ServerState) === "stopped") {
      await client.close().catch(() => {});
      throw new RummyError(503, `MCP server '${this.name}' was stopped`);
    }
    this.#client = client;
    this.#transport = transport;
    this.#state = "ready";
    this.#error = null;
    return client;
  }

  async #makeTransport(): Promise<Transport> {
    const config = this.config;
    if (config.kind === "http") {
      const { StreamableHTTPClientTransport } = await import(
        "@modelcontextprotocol/sdk/client/streamableHttp.js"
      );
      return new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: { headers: { ...config.headers } },
      });
    }
    const { getDefaultEnvironment, StdioClientTransport } = await import(
      "@modelcontextprotocol/sdk/client/stdio.js"
    );
    const transport = new StdioClientTransport({
      command: config.command,
      args: [...config.args],
      // Only the SDK's safe subset of rummy's environment (PATH, HOME, …): no provider keys leak to servers.
      env: { ...getDefaultEnvironment(), ...config.env },
      stderr: "pipe",
      ...((config.cwd ?? this.#cwd) ? { cwd: config.cwd ?? this.#cwd } : {}),
    });
    transport.stderr?.on("data", (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    return transport;
  }

  /** One request with the server's timeout and the caller's signal; failures become clear RummyErrors. */
  async #request<T>(
    what: string,
    send: (options: { timeout: number; signal?: AbortSignal }) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const timeout = this.timeoutMs;
    try {
      return await send({ timeout, ...(signal ? { signal } : {}) });
    } catch (error) {
      const message = errorMessage(error);
      if (signal?.aborted) throw new RummyError(499, `cancelled while ${what}`);
      if (/timed? ?out/i.test(message) || (error as { code?: number }).code === -32001)
        throw new RummyError(
          504,
          `MCP server '${this.name}' did not answer within ${timeout} ms while ${what}`,
        );
      if (this.#state !== "ready")
        throw new RummyError(
          502,
          `MCP server '${this.name}' stopped while ${what}: ${this.#error ?? message}${this.#state === "crashed" ? "; it will be restarted once on next use" : ""}`,
        );
      throw new RummyError(502, `MCP server '${this.name}' failed while ${what}: ${message}`);
    }
  }

  #stderrTail(): string {
    const tail = this.#stderr.trim().split("\n").slice(-5).join("\n").trim();
    return tail ? ` (stderr: ${tail})` : "";
  }
}
