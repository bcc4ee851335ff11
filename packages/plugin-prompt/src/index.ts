import { section, type TurnContext, definePlugin } from "@rummy/core";

/**
 * `prompt`: the `<prompt>` section — what the user asked in this loop, with
 * its mode, placed last so it is the freshest thing the model reads. A
 * continuation loop (empty prompt) repeats the run's latest request.
 */
export default definePlugin({
  name: "prompt",
  version: "0.1.0",
  setup(ctx) {
    ctx.filter<string, TurnContext>(
      "assembly.user",
      (text, turn) => {
        const prompts = turn.entries.filter((e) => e.scheme === "prompt");
        const current = turn.loop.prompt || prompts.at(-1)?.body || "";
        const attrs = { mode: turn.mode, ...(turn.loop.prompt ? {} : { continuation: "true" }) };
        return `${text ? `${text}\n\n` : ""}${section("prompt", attrs, current)}`;
      },
      80,
    );
  },
});
