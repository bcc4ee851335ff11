import {
  type CompletionRequest,
  type CompletionResult,
  definePlugin,
  type Provider,
  ProviderError,
} from "@rummy/core";
import {
  attemptError,
  classifyHttpError,
  HTTP_PROVIDER_CONFIG,
  httpCallOptions,
  idleTimeout,
  parseNdjson,
  streamError,
  type RetryOptions,
  withRetries,
} from "@rummy/provider-kit";

export interface OllamaOptions {
  /** Default `http://127.0.0.1:11434`. */
  readonly baseUrl: string;
  readonly idleTimeoutMs?: number;
  readonly retry?: RetryOptions;
}

interface OllamaChunk {
  model?: string;
  message?: { content?: string; thinking?: string };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

/**
 * Ollama's native chat API (`/api/chat`), streamed as NDJSON. Context
 * length comes from `/api/show` model info (`<arch>.context_length`). A
 * stream that ends without its `done` line is incomplete, never an answer.
 */
export function ollamaProvider(options: OllamaOptions): Provider {
  const base = options.baseUrl.replace(/\/+$/, "");
  const idleMs = options.idleTimeoutMs ?? 120_000;

  async function once(request: CompletionRequest): Promise<CompletionResult> {
    const idle = idleTimeout(idleMs, request.signal);
    const stream = request.onDelta !== undefined;
    try {
      const response = await fetch(`${base}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        signal: idle.signal,
        body: JSON.stringify({
          model: request.model,
          messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
          stream,
          ...(request.temperature !== undefined || request.maxTokens !== undefined
            ? {
                options: {
                  ...(request.temperature !== undefined
                    ? { temperature: request.temperature }
                    : {}),
                  ...(request.maxTokens !== undefined ? { num_predict: request.maxTokens } : {}),
                },
              }
            : {}),
        }),
      });
      if (!response.ok)
        throw classifyHttpError("ollama", response.status, await response.text(), response.headers);
      if (!stream) return toResult(request.model, [(await response.json()) as OllamaChunk], "", "");
      if (!response.body) throw new ProviderError("malformed", "ollama sent no body");
      let content = "";
      let reasoning = "";
      const chunks: OllamaChunk[] = [];
      try {
        for await (const raw of parseNdjson(
          response.body as unknown as AsyncIterable<Uint8Array>,
        )) {
          idle.touch();
          const chunk = raw as OllamaChunk;
          if (chunk.error) throw new ProviderError("server", `ollama reported: ${chunk.error}`);
          chunks.push(chunk);
          const thought = chunk.message?.thinking;
          if (thought) {
            reasoning += thought;
            request.onDelta?.({ reasoning: thought });
          }
          const text = chunk.message?.content;
          if (text) {
            content += text;
            request.onDelta?.({ content: text });
          }
        }
      } catch (error) {
        throw streamError("ollama", error, request.signal, idle.signal);
      }
      return toResult(request.model, chunks, content, reasoning);
    } catch (error) {
      throw attemptError("ollama", error, request.signal, idle.signal, idleMs);
    } finally {
      idle.clear();
    }
  }

  return {
    name: "ollama",
    complete: (request) =>
      withRetries(() => once(request), {
        ...options.retry,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onRetry
          ? {
              onRetry: (error, attempt, delayMs) =>
                request.onRetry?.({ attempt, delayMs, error: error.message }),
            }
          : {}),
      }),
    async contextLength(model, signal) {
      const response = await fetch(`${base}/api/show`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model }),
        ...(signal ? { signal } : {}),
      });
      if (!response.ok)
        throw classifyHttpError("ollama", response.status, await response.text(), response.headers);
      const info = (await response.json()) as {
        model_info?: Record<string, unknown>;
        parameters?: string;
      };
      for (const [key, value] of Object.entries(info.model_info ?? {})) {
        if (key.endsWith(".context_length") && typeof value === "number") return value;
      }
      const numCtx = /num_ctx\s+(\d+)/.exec(info.parameters ?? "")?.[1];
      return numCtx ? Number(numCtx) : null;
    },
  };
}

function toResult(
  model: string,
  chunks: OllamaChunk[],
  streamed: string,
  reasoning: string,
): CompletionResult {
  const last = chunks.at(-1);
  if (!last?.done)
    throw new ProviderError("incomplete", "ollama's answer ended before its done marker");
  const content = streamed || last.message?.content || "";
  const promptTokens = last.prompt_eval_count ?? 0;
  const completionTokens = last.eval_count ?? 0;
  return {
    content,
    reasoning: reasoning || last.message?.thinking || null,
    usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    cost: null,
    finishReason: last.done_reason ?? "stop",
    model: last.model ?? model,
  };
}

/** Provider `ollama`: models as `ollama/<name>` (`OLLAMA_BASE_URL` or `OLLAMA_HOST`). No key needed. */
export default definePlugin({
  name: "provider-ollama",
  version: "0.1.0",
  setup(ctx) {
    const c = ctx.readConfig([
      { key: "OLLAMA_BASE_URL", type: "string", default: "", description: "Ollama server URL" },
      {
        key: "OLLAMA_HOST",
        type: "string",
        default: "",
        description: "Ollama host (host:port), used when OLLAMA_BASE_URL is unset",
      },
      ...HTTP_PROVIDER_CONFIG,
    ]);
    const host = c.OLLAMA_HOST as string;
    const baseUrl =
      (c.OLLAMA_BASE_URL as string) ||
      (host ? (host.includes("://") ? host : `http://${host}`) : "http://127.0.0.1:11434");
    ctx.registerProvider(
      ollamaProvider({
        baseUrl,
        ...httpCallOptions(c),
      }),
    );
  },
});
