import {
  type ChatMessage,
  type CompletionRequest,
  type CompletionResult,
  type CompletionUsage,
  type Provider,
  ProviderError,
} from "@rummy/core";
import {
  attemptError,
  classifyHttpError,
  contextLengthFromModels,
  idleTimeout,
  parseSse,
  streamError,
  type RetryOptions,
  withRetries,
} from "@rummy/provider-kit";

export interface ChatCompletionsOptions {
  /** The provider name models are addressed by (`openai` in `openai/gpt-4o`). */
  readonly name: string;
  /** API base, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  readonly baseUrl: string;
  readonly apiKey?: string | undefined;
  /** The variable to name when the key is missing. */
  readonly apiKeyVariable?: string;
  readonly requireApiKey?: boolean;
  /** Extra headers (OpenRouter's referer and title). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Extra request body members (OpenRouter's `usage: { include: true }`). */
  readonly extraBody?: Readonly<Record<string, unknown>>;
  /** Longest silence allowed while waiting for or streaming an answer. Default 60 s. */
  readonly idleTimeoutMs?: number;
  readonly retry?: RetryOptions;
  /** Looks up a model's context window; default: the `/models` endpoint. */
  readonly contextLength?: (model: string, signal?: AbortSignal) => Promise<number | null>;
}

/**
 * An OpenAI-compatible chat-completions provider. Streams (SSE) when the
 * caller wants deltas, retries what is temporary, and never hands back a
 * stream that ended before its finish marker as if it were complete.
 */
export function chatCompletionsProvider(options: ChatCompletionsOptions): Provider {
  const base = options.baseUrl.replace(/\/+$/, "");
  const secrets = [options.apiKey];
  const idleMs = options.idleTimeoutMs ?? 60_000;
  const headers = (): Record<string, string> => ({
    "content-type": "application/json",
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
    ...options.headers,
  });

  async function once(request: CompletionRequest): Promise<CompletionResult> {
    const stream = request.onDelta !== undefined;
    const idle = idleTimeout(idleMs, request.signal);
    try {
      const response = await fetch(`${base}/chat/completions`, {
        method: "POST",
        headers: headers(),
        signal: idle.signal,
        body: JSON.stringify({
          model: request.model,
          messages: request.messages.map((m: ChatMessage) => ({
            role: m.role,
            content: m.content,
          })),
          stream,
          ...(stream ? { stream_options: { include_usage: true } } : {}),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
          ...options.extraBody,
        }),
      });
      if (!response.ok)
        throw classifyHttpError(
          options.name,
          response.status,
          await response.text(),
          response.headers,
          secrets,
        );
      if (!stream) return parseWhole(options.name, request.model, await response.json());
      if (!response.body) throw new ProviderError("malformed", `${options.name} sent no body`);
      try {
        return await readStream(options.name, request, response.body, idle.touch);
      } catch (error) {
        throw streamError(options.name, error, request.signal, idle.signal);
      }
    } catch (error) {
      throw attemptError(options.name, error, request.signal, idle.signal, idleMs);
    } finally {
      idle.clear();
    }
  }

  return {
    name: options.name,
    async complete(request) {
      if (options.requireApiKey && !options.apiKey) {
        throw new ProviderError(
          "auth",
          `${options.name}: no API key; set ${options.apiKeyVariable ?? "the API key variable"}`,
          { retryable: false },
        );
      }
      return withRetries(() => once(request), {
        ...options.retry,
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onRetry
          ? {
              onRetry: (error, attempt, delayMs) =>
                request.onRetry?.({ attempt, delayMs, error: error.message }),
            }
          : {}),
      });
    },
    contextLength:
      options.contextLength ??
      ((model, signal) =>
        contextLengthFromModels(options.name, `${base}/models`, headers(), model, secrets, signal)),
  };
}

interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  cost?: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

function usageOf(u: WireUsage | undefined): CompletionUsage | null {
  if (!u) return null;
  const promptTokens = u.prompt_tokens ?? 0;
  const completionTokens = u.completion_tokens ?? 0;
  return {
    promptTokens,
    completionTokens,
    totalTokens: u.total_tokens ?? promptTokens + completionTokens,
    ...(u.prompt_tokens_details?.cached_tokens !== undefined
      ? { cachedTokens: u.prompt_tokens_details.cached_tokens }
      : {}),
  };
}

function parseWhole(provider: string, model: string, payload: any): CompletionResult {
  const choice = payload?.choices?.[0];
  if (!choice?.message)
    throw new ProviderError("malformed", `${provider} answered without a message`);
  return {
    content: String(choice.message.content ?? ""),
    reasoning: choice.message.reasoning_content ?? choice.message.reasoning ?? null,
    usage: usageOf(payload.usage),
    cost: typeof payload.usage?.cost === "number" ? payload.usage.cost : null,
    finishReason: choice.finish_reason ?? null,
    model: payload.model ?? model,
  };
}

async function readStream(
  provider: string,
  request: CompletionRequest,
  body: ReadableStream<Uint8Array>,
  touch: () => void,
): Promise<CompletionResult> {
  let content = "";
  let reasoning = "";
  let finishReason: string | null = null;
  let usage: WireUsage | undefined;
  let model = request.model;
  let done = false;
  for await (const event of parseSse(body as unknown as AsyncIterable<Uint8Array>)) {
    touch();
    if (event.data === "[DONE]") {
      done = true;
      break;
    }
    let chunk: any;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      throw new ProviderError(
        "malformed",
        `${provider} streamed an event that is not JSON: ${event.data.slice(0, 80)}`,
        { retryable: false },
      );
    }
    if (chunk.error)
      throw new ProviderError(
        "server",
        `${provider} reported mid-stream: ${chunk.error.message ?? JSON.stringify(chunk.error)}`,
      );
    if (chunk.model) model = chunk.model;
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices?.[0];
    const delta = choice?.delta ?? {};
    const thought = delta.reasoning_content ?? delta.reasoning;
    if (typeof thought === "string" && thought) {
      reasoning += thought;
      request.onDelta?.({ reasoning: thought });
    }
    if (typeof delta.content === "string" && delta.content) {
      content += delta.content;
      request.onDelta?.({ content: delta.content });
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason;
  }
  // A stream that stopped before its finish marker is not an answer, however much text it carried.
  if (!done && finishReason === null) {
    throw new ProviderError(
      "incomplete",
      `${provider}'s stream ended before the answer was complete (${content.length} characters received)`,
    );
  }
  return {
    content,
    reasoning: reasoning || null,
    usage: usageOf(usage),
    cost: typeof usage?.cost === "number" ? usage.cost : null,
    finishReason,
    model,
  };
}
