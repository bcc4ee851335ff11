import { type ConfigSpec, definePlugin, type Provider } from "@rummy/core";
import { classifyHttpError, HTTP_PROVIDER_CONFIG, httpCallOptions } from "@rummy/provider-kit";
import { chatCompletionsProvider } from "@rummy/provider-openai";

export interface OpenRouterOptions {
  readonly baseUrl: string;
  readonly apiKey?: string | undefined;
  readonly referer: string;
  readonly title: string;
  readonly idleTimeoutMs?: number;
  readonly retry?: { maxAttempts?: number; deadlineMs?: number; baseDelayMs?: number };
}

/**
 * OpenRouter: the chat-completions wire plus its app-attribution headers,
 * cost in usage (`usage: { include: true }`), and context length from its
 * models catalog — `context_length`, else the top provider's, else unknown
 * (the engine then assumes RUMMY_CONTEXT_DEFAULT).
 */
export function openRouterProvider(options: OpenRouterOptions): Provider {
  const base = options.baseUrl.replace(/\/+$/, "");
  const headers = { "HTTP-Referer": options.referer, "X-Title": options.title };
  return chatCompletionsProvider({
    name: "openrouter",
    baseUrl: base,
    apiKey: options.apiKey,
    apiKeyVariable: "OPENROUTER_API_KEY",
    requireApiKey: true,
    headers,
    extraBody: { usage: { include: true } },
    ...(options.idleTimeoutMs !== undefined ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
    ...(options.retry ? { retry: options.retry } : {}),
    contextLength: async (model, signal) => {
      const response = await fetch(`${base}/models`, { headers, ...(signal ? { signal } : {}) });
      if (!response.ok)
        throw classifyHttpError(
          "openrouter",
          response.status,
          await response.text(),
          response.headers,
          [options.apiKey],
        );
      const list = (await response.json()) as {
        data?: {
          id: string;
          context_length?: number;
          top_provider?: { context_length?: number };
        }[];
      };
      const found = list.data?.find((m) => m.id === model);
      return found?.context_length ?? found?.top_provider?.context_length ?? null;
    },
  });
}

const CONFIG: readonly ConfigSpec[] = [
  {
    key: "OPENROUTER_BASE_URL",
    type: "string",
    default: "https://openrouter.ai/api/v1",
    description: "OpenRouter API base URL",
  },
  {
    key: "RUMMY_HTTP_REFERER",
    type: "string",
    default: "https://github.com/rummy-ts/rummy",
    description: "app URL OpenRouter attributes requests to",
  },
  {
    key: "RUMMY_X_TITLE",
    type: "string",
    default: "rummy",
    description: "app name shown in OpenRouter dashboards",
  },
  ...HTTP_PROVIDER_CONFIG,
];

/** Provider `openrouter`: models as `openrouter/<vendor>/<model>` (`OPENROUTER_API_KEY`). */
export default definePlugin({
  name: "provider-openrouter",
  version: "0.1.0",
  setup(ctx) {
    const c = ctx.readConfig(CONFIG);
    ctx.registerProvider(
      openRouterProvider({
        baseUrl: c.OPENROUTER_BASE_URL as string,
        apiKey: ctx.env.OPENROUTER_API_KEY,
        referer: c.RUMMY_HTTP_REFERER as string,
        title: c.RUMMY_X_TITLE as string,
        ...httpCallOptions(c),
      }),
    );
  },
});
