import { section, type TurnContext, definePlugin } from "@rummy/core";

/**
 * `error`: the `<errors>` section — what went wrong last turn (unparseable
 * output, refused or failed commands, repeats, budget), stated so the model
 * can fix it. Errors are `log://turn_N/error/…` entries the engine writes.
 */
export default definePlugin({
  name: "error",
  version: "0.1.0",
  setup(ctx) {
    ctx.filter<string, TurnContext>(
      "assembly.user",
      (text, turn) => {
        const recent = turn.entries.filter(
          (e) => e.attributes.action === "error" && (e.turn ?? 0) >= turn.turn - 1,
        );
        if (recent.length === 0) return text;
        const body = recent
          .map((e) =>
            section("error", { turn: e.turn ?? undefined, status: e.status ?? undefined }, e.body),
          )
          .join("\n");
        const note = "Fix these before anything else. Repeated errors end the run.";
        return `${text ? `${text}\n\n` : ""}${section("errors", { count: recent.length }, `${note}\n${body}`)}`;
      },
      40,
    );
  },
});
