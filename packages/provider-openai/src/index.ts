import { definePlugin } from "@rummy/core";
import { HTTP_PROVIDER_CONFIG, httpCallOptions } from "@rummy/provider-kit";
import { chatCompletionsProvider } from "./chat-completions.js";

export { type ChatCompletionsOptions, chatCompletionsProvider } from "./chat-completions.js";
/** Kept for packages that imported it from here; it lives in @rummy/provider-kit now. */
export { HTTP_PROVIDER_CONFIG } from "@rummy/provider-kit";

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
        ...httpCallOptions(config),
      }),
    );
  },
});
