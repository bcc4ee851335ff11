import { type ConfigSpec, definePlugin } from "@rummy/core";
import { chatCompletionsProvider } from "./chat-completions.js";

export { type ChatCompletionsOptions, chatCompletionsProvider } from "./chat-completions.js";

/** Retry and timeout settings shared by the chat-completions providers. */
export const HTTP_PROVIDER_CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_FETCH_TIMEOUT",
    type: "integer",
    default: 60_000,
    min: 1000,
    max: 3_600_000,
    description: "longest silence (ms) from a provider before the attempt is abandoned",
  },
  {
    key: "RUMMY_RETRY_ATTEMPTS",
    type: "integer",
    default: 4,
    min: 1,
    max: 20,
    description: "attempts per provider call, the first included",
  },
  {
    key: "RUMMY_RETRY_DEADLINE",
    type: "integer",
    default: 120_000,
    min: 0,
    max: 3_600_000,
    description: "no retry starts later than this (ms) after the first attempt",
  },
];

/** Provider `openai`: any OpenAI-compatible chat-completions endpoint (`OPENAI_BASE_URL`, `OPENAI_API_KEY`). */
export default definePlugin({
  name: "provider-openai",
  version: "0.1.0",
  setup(ctx) {
    const config = ctx.readConfig([
      {
        key: "OPENAI_BASE_URL",
        type: "string",
        default: "https://api.openai.com/v1",
        description: "OpenAI-compatible API base URL",
      },
      ...HTTP_PROVIDER_CONFIG,
    ]);
    ctx.registerProvider(
      chatCompletionsProvider({
        name: "openai",
        baseUrl: config.OPENAI_BASE_URL as string,
        apiKey: ctx.env.OPENAI_API_KEY,
        apiKeyVariable: "OPENAI_API_KEY",
        // Local OpenAI-compatible servers need no key; only the official endpoint insists.
        requireApiKey: /api\.openai\.com/.test(config.OPENAI_BASE_URL as string),
        idleTimeoutMs: config.RUMMY_FETCH_TIMEOUT as number,
        retry: {
          maxAttempts: config.RUMMY_RETRY_ATTEMPTS as number,
          deadlineMs: config.RUMMY_RETRY_DEADLINE as number,
        },
      }),
    );
  },
});
