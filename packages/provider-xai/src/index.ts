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
  contextLengthFromModels,
  HTTP_PROVIDER_CONFIG,
  httpCallOptions,
  idleTimeout,
  parseSse,
  streamError,
  type RetryOptions,
  withRetries,
} from "@rummy/provider-kit";

export interface XaiOptions {
  readonly baseUrl: string;
  readonly apiKey?: string | undefined;
  readonly idleTimeoutMs?: number;
  readonly retry?: RetryOptions;
}

interface ResponsesPayload {
  model?: string;
  status?: string;
  output?: {
    type: string;
    content?: { type: string; text?: string }[];
    summary?: { text?: string }[];
  }[];
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    total_tokens?: number;
    cost_in_usd_ticks?: number;
  };
  error?: { message?: string };
}

/**
 * xAI through the Responses API (`/responses`): typed SSE events —
 * `response.output_text.delta`, reasoning summary deltas — ending with
 * `response.completed`, which carries usage. No completed event, no answer.
 */
export function xaiProvider(options: XaiOptions): Provider {
  const base = options.baseUrl.replace(/\/+$/, "");
  const idleMs = options.idleTimeoutMs ?? 120_000;
  const secrets = [options.apiKey];
  const headers = () => ({
    "content-type": "application/json",
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  });

  async function once(request: CompletionRequest): Promise<CompletionResult> {
    const idle = idleTimeout(idleMs, request.signal);
    const stream = request.onDelta !== undefined;
    try {
      const response = await fetch(`${base}/responses`, {
        method: "POST",
        headers: headers(),
        signal: idle.signal,
        body: JSON.stringify({
          model: request.model,
          input: request.messages.map((m) => ({ role: m.role, content: m.content })),
          stream,
          store: false,
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          ...(request.maxTokens !== undefined ? { max_output_tokens: request.maxTokens } : {}),
        }),
      });
      if (!response.ok)
        throw classifyHttpError(
          "xai",
          response.status,
          await response.text(),
          response.headers,
          secrets,
        );
      if (!stream)
        return toResult(request.model, (await response.json()) as ResponsesPayload, null, null);
      if (!response.body) throw new ProviderError("malformed", "xai sent no body");
      let content = "";
      let reasoning = "";
      let completed: ResponsesPayload | null = null;
      try {
        for await (const event of parseSse(response.body as unknown as AsyncIterable<Uint8Array>)) {
          idle.touch();
          if (event.data === "[DONE]") break;
          let data: {
            type?: string;
            delta?: string;
            response?: ResponsesPayload;
            error?: { message?: string };
          };
          try {
            data = JSON.parse(event.data);
          } catch {
            throw new ProviderError(
              "malformed",
              `xai streamed an event that is not JSON: ${event.data.slice(0, 80)}`,
              { retryable: false },
            );
          }
          const type = data.type ?? event.event ?? "";
          if (type === "response.output_text.delta" && data.delta) {
            content += data.delta;
            request.onDelta?.({ content: data.delta });
          } else if (
            type.startsWith("response.reasoning") &&
            type.endsWith(".delta") &&
            data.delta
          ) {
            reasoning += data.delta;
            request.onDelta?.({ reasoning: data.delta });
          } else if (type === "response.completed" && data.response) {
            completed = data.response;
          } else if (type === "response.failed" || type === "error") {
            throw new ProviderError(
              "server",
              `xai reported: ${data.response?.error?.message ?? data.error?.message ?? "the response failed"}`,
            );
          }
        }
      } catch (error) {
        throw streamError("xai", error, request.signal, idle.signal);
      }
      if (!completed)
        throw new ProviderError(
          "incomplete",
          `xai's stream ended before response.completed (${content.length} characters received)`,
        );
      return toResult(request.model, completed, content, reasoning);
    } catch (error) {
      throw attemptError("xai", error, request.signal, idle.signal, idleMs);
    } finally {
      idle.clear();
    }
  }

  return {
    name: "xai",
    async complete(request) {
      if (!options.apiKey)
        throw new ProviderError("auth", "xai: no API key; set XAI_API_KEY", { retryable: false });
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
    contextLength: (model, signal) =>
      contextLengthFromModels("xai", `${base}/models`, headers(), model, secrets, signal),
  };
}

function toResult(
  model: string,
  payload: ResponsesPayload,
  streamed: string | null,
  streamedReasoning: string | null,
): CompletionResult {
  if (payload.status && payload.status !== "completed")
    throw new ProviderError("incomplete", `xai's response is ${payload.status}`);
  const text =
    payload.output
      ?.filter((o) => o.type === "message")
      .flatMap((o) => o.content ?? [])
      .filter((c) => c.type === "output_text")
      .map((c) => c.text ?? "")
      .join("") ?? "";
  const summary =
    payload.output
      ?.filter((o) => o.type === "reasoning")
      .flatMap((o) => o.summary ?? [])
      .map((s) => s.text ?? "")
      .join("") ?? "";
  const input = payload.usage?.input_tokens ?? 0;
  const output = payload.usage?.output_tokens ?? 0;
  return {
    content: streamed ?? text,
    reasoning: streamedReasoning || summary || null,
    usage: payload.usage
      ? {
          promptTokens: input,
          completionTokens: output,
          totalTokens: payload.usage.total_tokens ?? input + output,
        }
      : null,
    // xAI reports cost in ticks of 1e-10 USD.
    cost:
      payload.usage?.cost_in_usd_ticks !== undefined
        ? payload.usage.cost_in_usd_ticks / 1e10
        : null,
    finishReason: payload.status ?? "completed",
    model: payload.model ?? model,
  };
}

/** Provider `xai`: models as `xai/<model>` (`XAI_API_KEY`, `XAI_BASE_URL`). */
export default definePlugin({
  name: "provider-xai",
  version: "0.1.0",
  setup(ctx) {
    const c = ctx.readConfig([
      {
        key: "XAI_BASE_URL",
        type: "string",
        default: "https://api.x.ai/v1",
        description: "xAI API base URL",
      },
      ...HTTP_PROVIDER_CONFIG,
    ]);
    ctx.registerProvider(
      xaiProvider({
        baseUrl: c.XAI_BASE_URL as string,
        apiKey: ctx.env.XAI_API_KEY,
        ...httpCallOptions(c),
      }),
    );
  },
});
