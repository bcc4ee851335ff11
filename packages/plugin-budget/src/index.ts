import { section, type TurnContext, definePlugin } from "@rummy/core";

/**
 * `budget`: the `<budget>` section — how much of the context window the
 * visible entries use, so the model can archive what it no longer needs
 * before the engine has to demote entries for it.
 */
export default definePlugin({
  name: "budget",
  version: "0.1.0",
  setup(ctx) {
    ctx.filter<string, TurnContext>(
      "assembly.user",
      (text, turn) => {
        const used = turn.entries.reduce(
          (n, e) => n + (e.visibility === "visible" ? e.tokens : Math.ceil(e.tokens / 10)),
          0,
        );
        const { ceiling, contextLength } = turn.budget;
        const share = ceiling > 0 ? used / ceiling : 1;
        const advice =
          share > 0.8
            ? 'Context is nearly full: archive entries you no longer need with <set path="…" visibility="archived"/> (they stay readable with <get>).'
            : "";
        return `${text ? `${text}\n\n` : ""}${section("budget", { turn: turn.turn, tokens_used: used, tokens_free: Math.max(0, ceiling - used), ceiling, context: contextLength }, advice)}`;
      },
      90,
    );
  },
});
