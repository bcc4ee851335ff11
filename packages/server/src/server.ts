import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  errorMessage,
  type NotificationTarget,
  type RpcCallContext,
  type RpcMethod,
  RpcParamsError,
  type RpcSession,
  RummyError,
  serializedText,
  storageFailure,
  type RummyCore,
  validateParams,
} from "@rummy/core";
import {
  createJSONRPCErrorResponse,
  createJSONRPCNotification,
  createJSONRPCSuccessResponse,
  type JSONRPCErrorResponse,
  JSONRPCErrorCode,
  type JSONRPCID,
  type JSONRPCResponse,
} from "json-rpc-2.0";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { readServerConfig } from "./config.js";
import {
  checkRequestSource,
  isLoopback,
  parseAllowedOrigins,
  resolveToken,
  type SourcePolicy,
  tokenMatches,
} from "./security.js";

/** Application error codes, in the range JSON-RPC reserves for servers. */
export const RPC_ERRORS = {
  /** A handler refused the call (bad state, not found, forbidden …); `data.status` has the HTTP-style code. */
  application: -32000,
  /** The method needs a `rummy/hello` first. */
  notInitialized: -32001,
  /** The call ran past the per-call time limit. */
  timeout: -32002,
  /** The connection must present the server's token. */
  unauthorized: -32003,
} as const;

export interface ServerOptions {
  readonly core: RummyCore;
  /** Default `RUMMY_HOST` or 127.0.0.1. */
  readonly host?: string;
  /** Default `RUMMY_PORT`, else `PORT` (2.0.1's name), else 3044; 0 picks a free port. */
  readonly port?: number;
  /**
   * Shared secret clients present (`Authorization: Bearer …`, `?token=`, or `token` in
   * `rummy/hello`). Default: `RUMMY_TOKEN`, else `<core.home>/token` (created on first start).
   * `null` (or `RUMMY_TOKEN=off`) turns auth off, which is allowed on loopback only.
   */
  readonly token?: string | null;
  /** Browser origins allowed to connect besides the server's own. Default `RUMMY_ALLOWED_ORIGINS`. */
  readonly allowedOrigins?: readonly string[];
  /** Largest accepted frame, in bytes. Default 16 MiB. */
  readonly maxPayload?: number;
  /** Per-call limit for methods not marked long-running. Default `RUMMY_RPC_TIMEOUT` or 30 s. */
  readonly callTimeoutMs?: number;
  /** How often to ping clients; a client that misses a whole interval is dropped. Default 30 s. */
  readonly heartbeatMs?: number;
}

export interface RummyServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Whether connections must present a token. */
  readonly auth: "token" | "off";
  /** Live connections. */
  connections(): number;
  close(): Promise<void>;
}

/** ws options for every frame: text (a Buffer would otherwise go as binary). */
const TEXT_FRAME = { binary: false } as const;

/**
 * A notification fanned out to many connections: its JSON encoded once and
 * framed once (a server's frames are unmasked, so the bytes on the wire are
 * the same for every client).
 */
interface Broadcast {
  readonly payload: Buffer;
  readonly wire: Buffer;
}

/** RFC 6455 §5.2: one final, unmasked text frame. */
function broadcastFrame(text: string): Broadcast {
  const payload = Buffer.from(text);
  const length = payload.length;
  const header = Buffer.alloc(length < 126 ? 2 : length < 65536 ? 4 : 10);
  header[0] = 0x81; // FIN + opcode 1 (text)
  if (length < 126) header[1] = length;
  else if (length < 65536) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return { payload, wire: Buffer.concat([header, payload]) };
}

/** The socket under a ws connection (ws has no public cork or raw write). */
interface RawSocket {
  cork(): void;
  uncork(): void;
  write(chunk: Buffer): boolean;
}

interface Connection {
  readonly socket: WebSocket;
  readonly session: RpcSession;
  readonly inflight: Set<AbortController>;
  /** Frames waiting for this turn's flush: text, or a fanned-out notification framed once. */
  readonly outbox: (string | Broadcast)[];
  /** One completion callback for every frame sent on this connection (not a closure per frame). */
  readonly sent: (error?: Error) => void;
  authorized: boolean;
  /** Calls refused for want of the token: the connection is closed when they reach the limit. */
  refused: number;
  alive: boolean;
}

/**
 * A connection without the token may be refused this many calls (a client that forgot it reads the
 * error; a check of every method fits), then it is closed. Only the first few refusals are logged,
 * without params: a stranger cannot fill the database through the RPC log.
 */
const UNAUTHORIZED_CALLS_BEFORE_CLOSE = 256;
const UNAUTHORIZED_CALLS_LOGGED = 16;

/**
 * Starts the JSON-RPC 2.0 WebSocket server over a core. Methods come from
 * the core's RPC registry (so plugins add them); this layer owns envelopes,
 * params validation, timeouts, logging, tokens and notification routing.
 */
export async function startServer(options: ServerOptions): Promise<RummyServer> {
  const { core } = options;
  const env = core.env;
  // Every transport setting through SERVER_CONFIG, the spec the CLI and `rummy doctor` check up front.
  const settings = readServerConfig(env);
  const host = options.host ?? settings.host;
  const port = options.port ?? settings.port;
  const fromHome = options.token === undefined ? resolveToken(core.home, env) : null;
  let token = options.token !== undefined ? options.token : fromHome!.token;
  // A token from RUMMY_HOME/token is re-read per connection, so `rummy token --rotate` locks out the old one.
  const currentToken = (): string | null => {
    if (fromHome?.source === "file")
      token = resolveToken(core.home, env, { create: false }).token ?? token;
    return token;
  };
  const allowedOrigins = options.allowedOrigins
    ? parseAllowedOrigins(options.allowedOrigins.join(","))
    : settings.allowedOrigins;
  const maxPayload = options.maxPayload ?? 16 * 1024 * 1024;
  const callTimeoutMs = options.callTimeoutMs ?? settings.callTimeoutMs;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  if (!isLoopback(host) && !token) {
    throw new RummyError(
      400,
      `refusing to listen on ${host} without a token: unset RUMMY_TOKEN=off (the token in RUMMY_HOME/token is used), or listen on 127.0.0.1`,
    );
  }
  if (!token)
    core.log.warn(
      "auth is OFF (RUMMY_TOKEN=off): any process on this machine can drive this server; do not use this outside tests",
    );

  const connections = new Map<string, Connection>();
  let policy: SourcePolicy | null = null;
  const sourcePolicy = (): SourcePolicy =>
    (policy ??= { host, port: (http.address() as AddressInfo).port, allowedOrigins });
  // One port: plain requests go to the plugins' HTTP routes, upgrades to the WebSocket.
  const http = createServer((request, response) =>
    serveHttp(core, sourcePolicy(), request, response),
  );
  const wss = new WebSocketServer({
    server: http,
    maxPayload,
    clientTracking: false,
    // Refused before the upgrade: a web page not on the list, or a DNS-rebound Host, never gets a socket.
    verifyClient: (info, done) => {
      const decision = checkRequestSource(info.req.headers, sourcePolicy());
      if (decision.ok) return done(true);
      core.log.warn(`refused a connection: ${decision.reason}`);
      done(false, decision.status, decision.reason);
    },
  });
  // ws re-emits the HTTP server's errors; a failed listen is reported by the promise below.
  let listening = false;
  wss.on("error", (error) => {
    if (listening) core.log.error(`server error: ${errorMessage(error)}`);
  });
  await new Promise<void>((resolve, reject) => {
    http.once("listening", resolve);
    http.once("error", reject);
    http.listen(port, host);
  });
  listening = true;
  const address = http.address() as AddressInfo;

  const status = registerStatus(core, () => connections.size);

  const detachSink = core.rpc.attachSink((method, params, target) => {
    // Serialized and encoded once per notification, however many connections it goes to.
    const frame = broadcastFrame(JSON.stringify(createJSONRPCNotification(method, params)));
    for (const conn of connections.values()) {
      if (matches(conn, target)) send(conn, frame);
    }
  });

  const heartbeat = setInterval(() => {
    for (const conn of connections.values()) {
      if (!conn.alive) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      try {
        conn.socket.ping();
      } catch {
        conn.socket.terminate();
      }
    }
  }, heartbeatMs);
  heartbeat.unref();

  wss.on("connection", (socket: WebSocket, request: IncomingMessage) => {
    const connectionId = randomUUID();
    const expected = currentToken();
    const conn: Connection = {
      socket,
      session: {
        connectionId,
        projectId: null,
        projectName: null,
        projectRoot: null,
        initialized: false,
        clientInfo: null,
      },
      inflight: new Set(),
      outbox: [],
      sent: (error) => {
        if (error) core.log.debug(`send to ${connectionId} failed: ${error.message}`);
      },
      authorized: !expected || tokenMatches(presentedToken(request), expected),
      refused: 0,
      alive: true,
    };
    connections.set(connectionId, conn);
    socket.on("pong", () => {
      conn.alive = true;
    });
    // A socket error (bad frame, reset) ends this connection only.
    socket.on("error", (error) => {
      core.log.debug(`connection ${connectionId}: ${errorMessage(error)}`);
    });
    socket.on("message", (data: RawData, isBinary: boolean) => {
      conn.alive = true;
      if (isBinary) {
        send(
          conn,
          JSON.stringify(
            createJSONRPCErrorResponse(
              null,
              JSONRPCErrorCode.InvalidRequest,
              "binary frames are not supported; send JSON text",
            ),
          ),
        );
        return;
      }
      handleFrame(conn, rawToString(data)).catch((error) => {
        core.log.error(`connection ${connectionId}: unexpected ${errorMessage(error)}`);
      });
    });
    socket.on("close", () => {
      connections.delete(connectionId);
      for (const controller of conn.inflight) controller.abort(new Error("connection closed"));
      conn.inflight.clear();
      core.hooks
        .emit("connection.closed", { connectionId, projectId: conn.session.projectId })
        .catch(() => {});
    });
  });

  async function handleFrame(conn: Connection, text: string): Promise<void> {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      send(
        conn,
        JSON.stringify(
          createJSONRPCErrorResponse(
            null,
            JSONRPCErrorCode.ParseError,
            "Parse error: the frame is not valid JSON",
          ),
        ),
      );
      return;
    }
    if (Array.isArray(payload)) {
      if (payload.length === 0) {
        send(
          conn,
          JSON.stringify(
            createJSONRPCErrorResponse(
              null,
              JSONRPCErrorCode.InvalidRequest,
              "Invalid Request: empty batch",
            ),
          ),
        );
        return;
      }
      const replies = (await Promise.all(payload.map((item) => handleRequest(conn, item)))).filter(
        (r): r is string => r !== null,
      );
      if (replies.length > 0) send(conn, `[${replies.join(",")}]`, true);
    } else {
      const reply = await handleRequest(conn, payload);
      if (reply) send(conn, reply, true);
    }
    if (conn.refused >= UNAUTHORIZED_CALLS_BEFORE_CLOSE && !conn.authorized) {
      // The refusals go out first; the close frame follows them.
      flush(conn);
      conn.socket.close(1008, "unauthorized: this server needs its token");
    }
  }

  /** A request's reply as the JSON text that goes on the wire, or null for a notification. */
  async function handleRequest(conn: Connection, request: unknown): Promise<string | null> {
    const shape = checkRequest(request);
    if ("error" in shape) return shape.error ? JSON.stringify(shape.error) : null;
    const { id, method: name, params, isNotification } = shape;
    const started = performance.now();
    const reply = (
      answer: JSONRPCResponse,
      log: "all" | "no-params" | "none" = "all",
    ): string | null => {
      const durationMs = performance.now() - started;
      // The result is serialized once: the reply's frame and the log's row share the text.
      let response = answer;
      let resultJson: string | undefined;
      let json: string;
      try {
        if (response.error) json = JSON.stringify(response);
        else {
          resultJson = serializedText(response.result) ?? JSON.stringify(response.result) ?? "null";
          json = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${resultJson}}`;
        }
      } catch (error) {
        // A result JSON cannot hold (a cycle, a BigInt): the caller gets an error, not silence.
        resultJson = undefined;
        response = createJSONRPCErrorResponse(
          id,
          JSONRPCErrorCode.InternalError,
          `Internal error: the result could not be serialized (${errorMessage(error)})`,
        );
        json = JSON.stringify(response);
      }
      // Until it shows the token a connection's calls are not logged, except its first refusals.
      if (log === "none" || (log === "all" && !conn.authorized))
        return isNotification ? null : json;
      try {
        core.rpcLog.record({
          connectionId: conn.session.connectionId,
          projectId: conn.session.projectId,
          method: name,
          requestId: id,
          ...(log === "all" ? { params: withoutToken(params) } : {}),
          ...(resultJson !== undefined ? { resultJson } : {}),
          errorCode: response.error?.code ?? null,
          errorMessage: response.error?.message ?? null,
          durationMs,
        });
      } catch (error) {
        core.log.warn(`rpc log write failed: ${errorMessage(error)}`);
      }
      return isNotification ? null : json;
    };

    const isHello = name === "rummy/hello";
    // Before the token, nothing but ping and the handshake answers — not even "method not found".
    if (!conn.authorized && !isHello && name !== "ping") {
      conn.refused++;
      return reply(
        createJSONRPCErrorResponse(
          id,
          RPC_ERRORS.unauthorized,
          "this server needs its token (RUMMY_HOME/token): present it as Authorization: Bearer, ?token=, or token in rummy/hello",
        ),
        conn.refused <= UNAUTHORIZED_CALLS_LOGGED ? "no-params" : "none",
      );
    }
    if (isHello && !conn.authorized) {
      const expected = currentToken();
      if (
        !expected ||
        !tokenMatches((params as { token?: unknown } | undefined)?.token, expected)
      ) {
        conn.refused++;
        return reply(
          createJSONRPCErrorResponse(
            id,
            RPC_ERRORS.unauthorized,
            "wrong or missing token: the server's token is in its RUMMY_HOME/token",
          ),
          conn.refused <= UNAUTHORIZED_CALLS_LOGGED ? "no-params" : "none",
        );
      }
      conn.authorized = true;
    }
    const method = core.rpc.get(name);
    if (!method)
      return reply(
        createJSONRPCErrorResponse(
          id,
          JSONRPCErrorCode.MethodNotFound,
          `Method '${name}' not found.`,
        ),
      );
    if ((method.requiresInit ?? true) && !conn.session.initialized) {
      return reply(
        createJSONRPCErrorResponse(
          id,
          RPC_ERRORS.notInitialized,
          // 2.0.1's text (clients match on it); the hint rides in data.
          "Project not initialized.",
          { hint: `${name} needs a project: call rummy/hello first` },
        ),
      );
    }
    const problems = validateParams(method.params, params);
    if (problems.length > 0) {
      return reply(
        createJSONRPCErrorResponse(
          id,
          JSONRPCErrorCode.InvalidParams,
          `Invalid params: ${problems.join("; ")}`,
          { problems },
        ),
      );
    }
    return reply(await invoke(conn, method, id, params ?? {}));
  }

  async function invoke(
    conn: Connection,
    method: RpcMethod,
    id: JSONRPCID,
    params: unknown,
  ): Promise<JSONRPCResponse> {
    const controller = new AbortController();
    conn.inflight.add(controller);
    let timer: NodeJS.Timeout | undefined;
    const context: RpcCallContext = {
      session: conn.session,
      signal: controller.signal,
      notify: (notification, notificationParams) =>
        send(conn, JSON.stringify(createJSONRPCNotification(notification, notificationParams))),
    };
    try {
      const work = Promise.resolve().then(() => method.handler(params, context));
      const result = method.longRunning
        ? await work
        : await Promise.race([
            work,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                controller.abort(new Error("timed out"));
                reject(new CallTimeout(method.name, callTimeoutMs));
              }, callTimeoutMs);
            }),
          ]);
      return createJSONRPCSuccessResponse(id, result === undefined ? null : result);
    } catch (error) {
      return toErrorResponse(id, error);
    } finally {
      clearTimeout(timer);
      conn.inflight.delete(controller);
    }
  }

  function toErrorResponse(id: JSONRPCID, error: unknown): JSONRPCErrorResponse {
    if (error instanceof CallTimeout)
      return createJSONRPCErrorResponse(id, RPC_ERRORS.timeout, error.message);
    if (error instanceof RpcParamsError) {
      return createJSONRPCErrorResponse(id, JSONRPCErrorCode.InvalidParams, error.message, {
        problems: error.problems,
      });
    }
    const refusal = error instanceof RummyError ? error : storageFailure(error);
    if (refusal) {
      return createJSONRPCErrorResponse(id, RPC_ERRORS.application, refusal.message, {
        status: refusal.status,
      });
    }
    // Unexpected failures: the message only, never a stack; the details go to the server log.
    core.log.error(
      `rpc handler failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return createJSONRPCErrorResponse(
      id,
      JSONRPCErrorCode.InternalError,
      `Internal error: ${errorMessage(error)}`,
    );
  }

  /**
   * Frames leave in order through a per-connection outbox flushed once per
   * turn of the event loop, with the socket corked: a burst (a streamed
   * reply fanned out to every client of a project) costs one write per
   * connection instead of one per frame. Replies skip the wait when nothing
   * is queued ahead of them.
   */
  function send(conn: Connection, frame: string | Broadcast, reply = false): void {
    if (conn.socket.readyState !== conn.socket.OPEN) return;
    // A reply with nothing queued ahead of it goes at once: a caller is waiting on it.
    if (reply && conn.outbox.length === 0) {
      write(conn, [frame]);
      return;
    }
    conn.outbox.push(frame);
    if (conn.outbox.length === 1) setImmediate(flush, conn);
  }

  function flush(conn: Connection): void {
    write(conn, conn.outbox.splice(0));
  }

  function write(conn: Connection, frames: readonly (string | Broadcast)[]): void {
    if (conn.socket.readyState !== conn.socket.OPEN) return;
    // ws has no public cork; its underlying net.Socket is `_socket`. Without it, frames go uncorked
    // and broadcasts through ws. With it, a broadcast's ready frame is written as it is — the same
    // bytes ws would write, since this server never compresses (no permessage-deflate).
    const raw = (conn.socket as unknown as { _socket?: RawSocket })._socket;
    raw?.cork();
    try {
      for (const frame of frames) {
        if (typeof frame === "string") conn.socket.send(frame, conn.sent);
        else if (raw) raw.write(frame.wire);
        else conn.socket.send(frame.payload, TEXT_FRAME, conn.sent);
      }
    } finally {
      raw?.uncork();
    }
  }

  const url = `ws://${address.family === "IPv6" ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url,
    host: address.address,
    port: address.port,
    auth: token ? "token" : "off",
    connections: () => connections.size,
    close: async () => {
      clearInterval(heartbeat);
      detachSink();
      status.close();
      for (const conn of connections.values()) {
        for (const controller of conn.inflight) controller.abort(new Error("server closing"));
        conn.socket.terminate();
      }
      connections.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * A plain HTTP request: answered by a plugin's route, only for a loopback
 * client that names a loopback host (a page on another name could be a DNS
 * rebinding of 127.0.0.1). Everything else is refused.
 */
function serveHttp(
  core: RummyCore,
  policy: SourcePolicy,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const refusal = httpRefusal(request, policy);
  const route = refusal ? undefined : core.http.match(pathOf(request.url));
  if (refusal || !route) {
    const [status, text] = refusal ?? [404, "not found"];
    response.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
    response.end(`${text}\n`);
    return;
  }
  Promise.resolve()
    .then(() => route.handler(request, response))
    .catch((error) => {
      core.log.error(`http route ${route.prefix} (${route.owner}) failed: ${errorMessage(error)}`);
      if (response.headersSent) response.destroy();
      else {
        response.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        response.end("internal error\n");
      }
    });
}

/** Why a plain request is refused before any route sees it, if it is. */
function httpRefusal(request: IncomingMessage, policy: SourcePolicy): [number, string] | null {
  const remote = (request.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
  if (!isLoopback(remote)) return [403, "pages are served to loopback clients only"];
  const decision = checkRequestSource(request.headers, policy);
  return decision.ok ? null : [decision.status, decision.reason];
}

function pathOf(url: string | undefined): string {
  try {
    return new URL(url ?? "/", "http://localhost").pathname;
  } catch {
    return "/";
  }
}

class CallTimeout extends Error {
  constructor(method: string, ms: number) {
    // 2.0.1's text.
    super(`RPC '${method}' timed out after ${ms}ms.`);
    this.name = "CallTimeout";
  }
}

type CheckedRequest =
  | { id: JSONRPCID; method: string; params: unknown; isNotification: boolean }
  | { error: JSONRPCErrorResponse | null };

/** Validates a request object's envelope per JSON-RPC 2.0 §4. */
function checkRequest(request: unknown): CheckedRequest {
  const invalid = (id: JSONRPCID, why: string) => ({
    error: createJSONRPCErrorResponse(
      id,
      JSONRPCErrorCode.InvalidRequest,
      `Invalid Request: ${why}`,
    ),
  });
  if (request === null || typeof request !== "object" || Array.isArray(request)) {
    return invalid(null, "expected an object");
  }
  const r = request as Record<string, unknown>;
  const hasId = "id" in r;
  const idOk =
    !hasId ||
    r.id === null ||
    typeof r.id === "string" ||
    (typeof r.id === "number" && Number.isFinite(r.id));
  const id = (idOk && hasId ? r.id : null) as JSONRPCID;
  if (!idOk) return invalid(null, "id must be a string, a number or null");
  if (r.jsonrpc !== "2.0") return invalid(id, 'jsonrpc must be "2.0"');
  if (typeof r.method !== "string" || r.method.length === 0)
    return invalid(id, "method must be a non-empty string");
  if (r.params !== undefined && (r.params === null || typeof r.params !== "object")) {
    return invalid(id, "params must be an object or an array");
  }
  return { id, method: r.method, params: r.params, isNotification: !hasId };
}

function matches(conn: Connection, target: NotificationTarget): boolean {
  if ("connectionId" in target) return conn.session.connectionId === target.connectionId;
  return conn.session.initialized && conn.session.projectId === target.projectId;
}

function presentedToken(request: IncomingMessage): string | null {
  // The auth scheme is case-insensitive (RFC 7235).
  const bearer = /^bearer\s+(.+)$/i.exec(request.headers.authorization ?? "");
  if (bearer) return bearer[1]!.trim();
  const url = new URL(request.url ?? "/", "ws://localhost");
  return url.searchParams.get("token");
}

/** Params as the RPC log keeps them: a presented token never reaches the database. */
function withoutToken(params: unknown): unknown {
  if (params === null || typeof params !== "object" || Array.isArray(params)) return params;
  if (!("token" in params)) return params;
  return { ...(params as Record<string, unknown>), token: "[redacted]" };
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return data.toString("utf8");
}

/**
 * `rummy/status`: what an operator watches — uptime, connections, memory and
 * the event loop's delay (p50/p99/max over the window since the last reset),
 * the measure of whether the server keeps up with its clients.
 */
function registerStatus(core: RummyCore, connections: () => number): { close(): void } {
  const resolutionMs = 10;
  const delay = monitorEventLoopDelay({ resolution: resolutionMs });
  delay.enable();
  let windowStart = Date.now();
  // The histogram records whole sampling intervals; the delay is what exceeds the interval.
  const ms = (ns: number) => Math.round(Math.max(0, ns / 1e6 - resolutionMs) * 100) / 100;
  let unregister = () => {};
  if (!core.rpc.get("rummy/status"))
    unregister = core.rpc.register(
      "rummy/status",
      {
        description:
          "Server status: { uptimeSeconds, connections, memoryMb: { rss, heapUsed }, eventLoopDelayMs: { p50, p99, max, windowSeconds } }; reset starts a new delay window.",
        requiresInit: false,
        params: { reset: { type: "boolean", description: "start a new event-loop delay window" } },
        handler: (params: { reset?: boolean }) => {
          const memory = process.memoryUsage();
          const result = {
            uptimeSeconds: Math.round(process.uptime()),
            connections: connections(),
            memoryMb: {
              rss: Math.round(memory.rss / 1048576),
              heapUsed: Math.round(memory.heapUsed / 1048576),
            },
            eventLoopDelayMs: {
              p50: ms(delay.percentile(50)),
              p99: ms(delay.percentile(99)),
              max: ms(delay.max),
              windowSeconds: Math.round((Date.now() - windowStart) / 100) / 10,
            },
          };
          if (params.reset) {
            delay.reset();
            windowStart = Date.now();
          }
          return result;
        },
      },
      "server",
    );
  return {
    close() {
      delay.disable();
      unregister();
    },
  };
}

/** The token `startServer({ core })` expects by default (creating `<home>/token` if needed); null when auth is off. */
export function serverToken(core: RummyCore): string | null {
  return resolveToken(core.home, core.env).token;
}
