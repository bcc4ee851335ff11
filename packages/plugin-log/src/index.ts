import { type Entry, section, type TurnContext, definePlugin } from "@rummy/core";

/**
 * `log`: the `<log>` section — what the model did and what came of it. This
 * loop's commands appear in full with their status; earlier loops' as
 * one-line tiles. Errors have their own section (the error plugin).
 */
export default definePlugin({
  name: "log",
  version: "0.1.0",
  setup(ctx) {
    ctx.filter<string, TurnContext>(
      "assembly.user",
      (text, turn) => {
        const loopStart = firstTurnOfLoop(turn);
        const entries = turn.entries.filter(
          (e) => e.scheme === "log" && e.attributes.action !== "error",
        );
        if (entries.length === 0) return text;
        const lines = entries.map((e) => renderLogEntry(e, (e.turn ?? 0) >= loopStart));
        return `${text ? `${text}\n\n` : ""}${section("log", {}, lines.join("\n"))}`;
      },
      30,
    );
  },
});

function firstTurnOfLoop(turn: TurnContext): number {
  const prompt = turn.entries.find((e) => e.path === `prompt://${turn.loop.sequence}`);
  return prompt?.turn ?? turn.turn;
}

function renderLogEntry(e: Entry, current: boolean): string {
  const [, , turnPart, action] = e.path.split("/");
  const attrs = {
    turn: turnPart?.replace("turn_", ""),
    action: String(e.attributes.action ?? action ?? ""),
    path: typeof e.attributes.path === "string" ? e.attributes.path : undefined,
    status: e.status ?? undefined,
    ...(e.outcome ? { outcome: e.outcome } : {}),
  };
  if (!current || e.visibility === "summarized") {
    const first = (e.body.split("\n", 1)[0] ?? "").slice(0, 80);
    return section("entry", { ...attrs, summarized: "true" }, first);
  }
  const error = typeof e.attributes.error === "string" ? `\n(error: ${e.attributes.error})` : "";
  // What the user said when resolving a proposal (an answer, or why they declined).
  const resolution =
    typeof e.attributes.resolution === "string" ? `\n(user: ${e.attributes.resolution})` : "";
  return section("entry", attrs, `${e.body}${error}${resolution}`);
}
