/** A JSON-RPC 2.0 client over the page's WebSocket: calls resolve with results, notifications go to listeners. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

type Listener = (params: any) => void;

export class Rpc {
  readonly #socket: WebSocket;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly #listeners = new Map<string, Set<Listener>>();
  #nextId = 1;
  onclose: (() => void) | null = null;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.addEventListener("message", (event) => this.#receive(String(event.data)));
    socket.addEventListener("close", () => {
      for (const p of this.#pending.values()) p.reject(new Error("connection closed"));
      this.#pending.clear();
      this.onclose?.();
    });
  }

  static connect(url: string): Promise<Rpc> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.addEventListener("open", () => resolve(new Rpc(socket)), { once: true });
      socket.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), {
        once: true,
      });
    });
  }

  call<T = any>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  on(method: string, listener: Listener): void {
    const set = this.#listeners.get(method) ?? new Set();
    this.#listeners.set(method, set);
    set.add(listener);
  }

  close(): void {
    this.#socket.close();
  }

  #receive(text: string): void {
    let message: any;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    for (const m of Array.isArray(message) ? message : [message]) {
      if (m && typeof m.method === "string" && !("id" in m)) {
        for (const listener of this.#listeners.get(m.method) ?? []) listener(m.params ?? {});
        continue;
      }
      const pending = this.#pending.get(m?.id);
      if (!pending) continue;
      this.#pending.delete(m.id);
      if (m.error) pending.reject(new RpcError(m.error.code, m.error.message, m.error.data));
      else pending.resolve(m.result);
    }
  }
}
