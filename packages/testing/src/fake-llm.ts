import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What the fake model says for one request. */
export interface FakeAnswer {
  readonly content: string;
  readonly reasoning?: string;
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly cost?: number;
  readonly finishReason?: string;
  /** Streaming shape when the request asks for `stream: true`: chunk size in characters and delay between chunks. */
  readonly chunkSize?: number;
  readonly chunkDelayMs?: number;
}

/** A failure the fake server plays instead of answering. */
export type FakeFailure =
  | { readonly fail: "rate_limit"; readonly retryAfterSeconds?: number }
  | { readonly fail: "server_error"; readonly status?: number }
  | { readonly fail: "unauthorized" }
  | { readonly fail: "context_too_long" }
  /** Accepts the request and never answers (until the client gives up or the server closes). */
  | { readonly fail: "hang" }
  /** Streams part of the answer, then drops the connection without a finish marker. */
  | { readonly fail: "reset_mid_stream"; readonly partial?: string }
  /** Streams an event whose data is not JSON. */
  | { readonly fail: "malformed_sse" };

export type FakeReply = FakeAnswer | FakeFailure;

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The parsed JSON body (or the raw text when it was not JSON). */
  readonly body: any;
}

export interface FakeLlmOptions {
  /** Replies consumed in order, one per chat request. */
  readonly replies?: readonly FakeReply[];
  /** Computes a reply from the request when the queue is empty. */
  readonly handler?: (request: RecordedRequest) => FakeReply | Promise<FakeReply>;
  /** Context window reported by the models endpoint. */
  readonly contextLength?: number;
}

export interface FakeLlm {
  /** Base URL for OpenAI-compatible clients: `http://127.0.0.1:<port>/v1`. */
  readonly url: string;
  readonly origin: string;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Chat requests only. */
  chatRequests(): RecordedRequest[];
  enqueue(...replies: FakeReply[]): void;
  /** Replies still queued. */
  pending(): number;
  /** Drops every queued reply; returns how many there were. */
  clear(): number;
  setHandler(handler: FakeLlmOptions["handler"]): void;
  close(): Promise<void>;
}

const CHAT_PATHS = new Set([
  "/v1/chat/completions",
  "/chat/completions",
  "/api/v1/chat/completions",
  "/api/chat",
  "/v1/responses",
  "/responses",
]);

/** Which wire a chat path speaks. */
function wireOf(path: string): "openai" | "ollama" | "responses" {
  if (path === "/api/chat") return "ollama";
  if (path.endsWith("/responses")) return "responses";
  return "openai";
}
const MODEL_PATHS = new Set(["/v1/models", "/models", "/api/v1/models"]);

/**
 * A fake OpenAI-compatible chat-completions server on 127.0.0.1 for tests:
 * scripted replies (plain or SSE-streamed, with usage and cost) and the
 * failure modes real providers show. It is test equipment, never a provider.
 */
export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const queue: FakeReply[] = [...(options.replies ?? [])];
  let handler = options.handler;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let sequence = 0;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        json(res, 500, {
          error: { message: `fake LLM failed: ${String(error)}`, type: "server_error" },
        });
      else res.destroy();
    });
  });
  // Idle keep-alive sockets stay open (close() destroys them): with the default 5 s, a loaded machine
  // lets a client reuse a socket just as the server drops it, failing runs that set retries to 1.
  server.keepAliveTimeout = 120_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    let body: any = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Kept as text: a malformed request is recorded as it came.
    }
    const path = (req.url ?? "/").split("?")[0]!;
    const recorded: RecordedRequest = {
      method: req.method ?? "GET",
      path,
      headers: req.headers,
      body,
    };
    requests.push(recorded);
    if (path === "/api/show" && req.method === "POST") {
      json(res, 200, {
        details: { family: "fake" },
        model_info: { "fake.context_length": options.contextLength ?? 32_768 },
      });
      return;
    }
    if (path === "/api/tags" && req.method === "GET") {
      json(res, 200, { models: [{ name: "fake-model", model: "fake-model" }] });
      return;
    }
    if (req.method === "GET" && MODEL_PATHS.has(path)) {
      json(res, 200, {
        object: "list",
        data: [
          { id: "fake-model", object: "model", context_length: options.contextLength ?? 32_768 },
        ],
      });
      return;
    }
    if (req.method !== "POST" || !CHAT_PATHS.has(path)) {
      json(res, 404, {
        error: { message: `fake LLM has no ${req.method} ${path}`, type: "not_found" },
      });
      return;
    }
    const wire = wireOf(path);
    const turns = wire === "responses" ? body?.input : body?.messages;
    if (!body || typeof body !== "object" || !Array.isArray(turns)) {
      json(res, 400, {
        error: {
          message: `${wire === "responses" ? "input" : "messages"} must be an array`,
          type: "invalid_request_error",
        },
      });
      return;
    }
    const reply = queue.shift() ?? (handler ? await handler(recorded) : undefined);
    if (!reply) {
      json(res, 500, {
        error: {
          message: "fake LLM: no scripted reply left for this request",
          type: "server_error",
        },
      });
      return;
    }
    if (wire === "ollama") return playOllama(reply, body, res);
    if (wire === "responses") return playResponses(reply, body, res);
    await play(reply, body, res);
  }

  async function play(reply: FakeReply, body: any, res: ServerResponse): Promise<void> {
    const id = `chatcmpl-fake-${++sequence}`;
    const model = typeof body.model === "string" ? body.model : "fake-model";
    if ("fail" in reply) {
      switch (reply.fail) {
        case "rate_limit":
          res.setHeader("retry-after", String(reply.retryAfterSeconds ?? 1));
          return json(res, 429, {
            error: { message: "Rate limit reached, slow down", type: "rate_limit_error" },
          });
        case "server_error":
          return json(res, reply.status ?? 500, {
            error: { message: "The server had an error", type: "server_error" },
          });
        case "unauthorized":
          return json(res, 401, {
            error: {
              message: "Incorrect API key provided",
              type: "invalid_request_error",
              code: "invalid_api_key",
            },
          });
        case "context_too_long":
          return json(res, 400, {
            error: {
              message:
                "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
              type: "invalid_request_error",
              code: "context_length_exceeded",
            },
          });
        case "hang":
          return new Promise<void>((resolve) => res.on("close", resolve));
        case "reset_mid_stream":
          startStream(res);
          sse(res, chunk(id, model, { content: reply.partial ?? "partial ans" }, null));
          await delay(10);
          res.socket?.destroy();
          return;
        case "malformed_sse":
          startStream(res);
          res.write("data: {this is not json\n\n");
          res.end();
          return;
      }
    }
    const promptTokens = reply.promptTokens ?? estimateTokens(body.messages);
    const completionTokens = reply.completionTokens ?? Math.ceil(reply.content.length / 4);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      ...(reply.cost !== undefined ? { cost: reply.cost } : {}),
    };
    const finishReason = reply.finishReason ?? "stop";
    if (body.stream !== true) {
      return json(res, 200, {
        id,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: reply.content,
              ...(reply.reasoning ? { reasoning_content: reply.reasoning } : {}),
            },
            finish_reason: finishReason,
          },
        ],
        usage,
      });
    }
    startStream(res);
    const size = Math.max(1, reply.chunkSize ?? 16);
    if (reply.reasoning) {
      for (let i = 0; i < reply.reasoning.length; i += size) {
        sse(res, chunk(id, model, { reasoning_content: reply.reasoning.slice(i, i + size) }, null));
        if (reply.chunkDelayMs) await delay(reply.chunkDelayMs);
      }
    }
    for (let i = 0; i < reply.content.length; i += size) {
      if (res.destroyed) return;
      sse(res, chunk(id, model, { content: reply.content.slice(i, i + size) }, null));
      if (reply.chunkDelayMs) await delay(reply.chunkDelayMs);
    }
    sse(res, { ...chunk(id, model, {}, finishReason), usage });
    res.write("data: [DONE]\n\n");
    res.end();
  }

  /** Ollama's native chat API: NDJSON lines, the last with `done: true` and eval counts. */
  async function playOllama(reply: FakeReply, body: any, res: ServerResponse): Promise<void> {
    const model = typeof body.model === "string" ? body.model : "fake-model";
    if ("fail" in reply) {
      if (reply.fail === "reset_mid_stream") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write(
          `${JSON.stringify({ model, message: { role: "assistant", content: reply.partial ?? "partial" }, done: false })}\n`,
        );
        await delay(10);
        res.socket?.destroy();
        return;
      }
      if (reply.fail === "malformed_sse") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.end("{not json\n");
        return;
      }
      if (reply.fail === "context_too_long")
        return json(res, 400, { error: "the input length exceeds the context length" });
      return play(reply, body, res);
    }
    const promptTokens = reply.promptTokens ?? estimateTokens(body.messages);
    const completionTokens = reply.completionTokens ?? Math.ceil(reply.content.length / 4);
    const final = {
      model,
      message: { role: "assistant", content: "" },
      done: true,
      done_reason: reply.finishReason ?? "stop",
      prompt_eval_count: promptTokens,
      eval_count: completionTokens,
    };
    if (body.stream === false) {
      return json(res, 200, {
        ...final,
        message: {
          role: "assistant",
          content: reply.content,
          ...(reply.reasoning ? { thinking: reply.reasoning } : {}),
        },
      });
    }
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    const size = Math.max(1, reply.chunkSize ?? 16);
    if (reply.reasoning)
      res.write(
        `${JSON.stringify({ model, message: { role: "assistant", content: "", thinking: reply.reasoning }, done: false })}\n`,
      );
    for (let i = 0; i < reply.content.length; i += size) {
      res.write(
        `${JSON.stringify({ model, message: { role: "assistant", content: reply.content.slice(i, i + size) }, done: false })}\n`,
      );
      if (reply.chunkDelayMs) await delay(reply.chunkDelayMs);
    }
    res.end(`${JSON.stringify(final)}\n`);
  }

  /** The Responses API (xAI): typed SSE events, ending with `response.completed` carrying usage. */
  async function playResponses(reply: FakeReply, body: any, res: ServerResponse): Promise<void> {
    const model = typeof body.model === "string" ? body.model : "fake-model";
    const event = (type: string, data: Record<string, unknown>) =>
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    if ("fail" in reply) {
      if (reply.fail === "reset_mid_stream") {
        startStream(res);
        event("response.output_text.delta", { delta: reply.partial ?? "partial" });
        await delay(10);
        res.socket?.destroy();
        return;
      }
      return play(reply, body, res);
    }
    const inputTokens = reply.promptTokens ?? estimateTokens(body.input);
    const outputTokens = reply.completionTokens ?? Math.ceil(reply.content.length / 4);
    const response = {
      id: `resp_fake_${++sequence}`,
      model,
      status: "completed",
      output: [
        ...(reply.reasoning
          ? [{ type: "reasoning", summary: [{ type: "summary_text", text: reply.reasoning }] }]
          : []),
        {
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: reply.content }],
        },
      ],
      usage: {
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        total_tokens: inputTokens + outputTokens,
        ...(reply.cost !== undefined ? { cost_in_usd_ticks: Math.round(reply.cost * 1e10) } : {}),
      },
    };
    if (body.stream !== true) return json(res, 200, response);
    startStream(res);
    event("response.created", { response: { ...response, status: "in_progress", output: [] } });
    if (reply.reasoning) event("response.reasoning_summary_text.delta", { delta: reply.reasoning });
    const size = Math.max(1, reply.chunkSize ?? 16);
    for (let i = 0; i < reply.content.length; i += size) {
      event("response.output_text.delta", { delta: reply.content.slice(i, i + size) });
      if (reply.chunkDelayMs) await delay(reply.chunkDelayMs);
    }
    event("response.completed", { response });
    res.end();
  }

  return {
    url: `${origin}/v1`,
    origin,
    requests,
    chatRequests: () => requests.filter((r) => r.method === "POST" && CHAT_PATHS.has(r.path)),
    enqueue: (...replies) => void queue.push(...replies),
    pending: () => queue.length,
    clear: () => queue.splice(0).length,
    setHandler: (next) => {
      handler = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function chunk(
  id: string,
  model: string,
  delta: Record<string, string>,
  finishReason: string | null,
) {
  return {
    id,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

function startStream(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
}

function sse(res: ServerResponse, data: unknown): void {
  res.write(`data: ${JSON.stringify(data)}\n\n`);
}

function json(res: ServerResponse, status: number, data: unknown): void {
  const text = JSON.stringify(data);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function estimateTokens(messages: { content?: unknown }[]): number {
  return Math.ceil(messages.reduce((n, m) => n + String(m.content ?? "").length, 0) / 4);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
