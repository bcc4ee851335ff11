import { EventEmitter } from "node:events";
import { JSONRPCClient, type JSONRPCErrorException, type JSONRPCRequest } from "json-rpc-2.0";
import WebSocket from "ws";
import type {
  MethodName,
  MethodResult,
  NotificationName,
  NotificationParams,
  HelloResult as WireHelloResult,
} from "./wire-2.0.1.js";

export * as wire from "./wire-2.0.1.js";
export type {
  DiscoverResult,
  EntryRow,
  GetRunResult,
  HistoryItem,
  MethodName,
  MethodResult,
  NotificationName,
  NotificationParams,
  ProposalItem,
  ResolveResult,
  RunProgressParams,
  RunProposalParams,
  RunRow,
  RunSetResult,
  RunStateParams,
  StreamCancelledParams,
  UiNotifyParams,
  UiRenderParams,
} from "./wire-2.0.1.js";

/** The protocol version this client speaks; servers reject a different MAJOR. */
export const CLIENT_PROTOCOL_VERSION = "2.0.0";

export interface ConnectOptions {
  /** The server's shared token, when it has one. */
  readonly token?: string;
  /** Give up on a call after this long (ms). Default: no limit (runs can take minutes). */
  readonly callTimeoutMs?: number;
}

/** The handshake's reply (from the 2.0.1 wire schema). */
export type HelloResult = WireHelloResult;

/** A failed call: the server's JSON-RPC error code, message and data. */
export class RpcCallError extends Error {
  readonly code: number;
  readonly data: unknown;
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "RpcCallError";
    this.code = code;
    this.data = data;
  }
}

/**
 * A connection to a rummy server. `call` sends a request and resolves with
 * its result (or rejects with RpcCallError); server notifications arrive as
 * events named by method (`run/state`, `run/proposal`, …) and as
 * `notification` events carrying `{ method, params }`.
 */
export class RummyClient extends EventEmitter {
  readonly #socket: WebSocket;
  readonly #rpc: JSONRPCClient;
  readonly #token: string | undefined;
  readonly #timeoutMs: number | undefined;
  #nextId = 1;
  #closed = false;

  private constructor(socket: WebSocket, options: ConnectOptions) {
    super();
    this.#socket = socket;
    this.#token = options.token;
    this.#timeoutMs = options.callTimeoutMs;
    this.#rpc = new JSONRPCClient(
      (request: JSONRPCRequest) => {
        if (socket.readyState !== WebSocket.OPEN)
          return Promise.reject(new Error("connection is closed"));
        return new Promise<void>((resolve, reject) =>
          socket.send(JSON.stringify(request), (e) => (e ? reject(e) : resolve())),
        );
      },
      () => this.#nextId++,
    );
    socket.on("message", (data) => this.#receive(data.toString()));
    socket.on("close", (code, reason) => {
      this.#closed = true;
      this.#rpc.rejectAllPendingRequests(
        `connection closed (${code}${reason.length ? ` ${reason}` : ""})`,
      );
      this.emit("close", code, reason.toString());
    });
    socket.on("error", (error) => {
      if (this.listenerCount("error") > 0) this.emit("error", error);
    });
  }

  static connect(url: string, options: ConnectOptions = {}): Promise<RummyClient> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = options.token
        ? { authorization: `Bearer ${options.token}` }
        : {};
      const socket = new WebSocket(url, { headers });
      const fail = (error: Error) =>
        reject(new Error(`cannot connect to ${url}: ${error.message}`));
      socket.once("error", fail);
      socket.once("open", () => {
        socket.off("error", fail);
        resolve(new RummyClient(socket, options));
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A method the 2.0.1 wire schema knows resolves with its typed result. */
  call<M extends MethodName>(
    method: M,
    params?: Record<string, unknown> | unknown[],
  ): Promise<MethodResult<M>>;
  call<R = unknown>(method: string, params?: Record<string, unknown> | unknown[]): Promise<R>;
  async call(method: string, params: Record<string, unknown> | unknown[] = {}): Promise<unknown> {
    try {
      const rpc = this.#timeoutMs ? this.#rpc.timeout(this.#timeoutMs) : this.#rpc;
      return await rpc.request(method, params);
    } catch (error) {
      const e = error as JSONRPCErrorException & { code?: number };
      if (typeof e?.code === "number") throw new RpcCallError(e.code, e.message, e.data);
      throw error;
    }
  }

  /** Sends a notification (no reply expected). */
  notify(method: string, params: Record<string, unknown> = {}): void {
    this.#rpc.notify(method, params);
  }

  /** The handshake every client makes first: names the project and checks the protocol version. */
  hello(
    name: string,
    projectRoot: string,
    extra: Record<string, unknown> = {},
  ): Promise<HelloResult> {
    return this.call("rummy/hello", {
      name,
      projectRoot,
      clientVersion: CLIENT_PROTOCOL_VERSION,
      ...(this.#token ? { token: this.#token } : {}),
      ...extra,
    });
  }

  /** Resolves with the first notification of `method` whose params satisfy `predicate`. */
  waitFor<N extends NotificationName>(
    method: N,
    predicate?: (params: NotificationParams<N>) => boolean,
    timeoutMs?: number,
  ): Promise<NotificationParams<N>>;
  waitFor<P = any>(
    method: string,
    predicate?: (params: P) => boolean,
    timeoutMs?: number,
  ): Promise<P>;
  waitFor<P>(
    method: string,
    predicate: (params: P) => boolean = () => true,
    timeoutMs = 60_000,
  ): Promise<P> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off(method, listener);
        reject(new Error(`no ${method} notification within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (params: P) => {
        if (!predicate(params)) return;
        clearTimeout(timer);
        this.off(method, listener);
        resolve(params);
      };
      this.on(method, listener);
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#socket.once("close", () => resolve());
      this.#socket.close();
    });
  }

  #receive(text: string): void {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      this.emit("protocolError", new Error(`server sent invalid JSON: ${text.slice(0, 200)}`));
      return;
    }
    for (const message of Array.isArray(payload) ? payload : [payload]) {
      const m = message as { id?: unknown; method?: unknown; params?: unknown };
      if (typeof m.method === "string" && m.id === undefined) {
        this.emit(m.method, m.params);
        this.emit("notification", { method: m.method, params: m.params });
      } else {
        this.#rpc.receive(message as never);
      }
    }
  }
}
