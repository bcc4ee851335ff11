import type { CompletionUsage, Entry, TurnContext } from "@rummy/core";
import { definePlugin } from "@rummy/core";

interface TurnResponse {
  readonly runId: number;
  readonly loopId: number;
  readonly turn: number;
  readonly system: string;
  readonly user: string;
  readonly content: string;
  readonly reasoning: string | null;
  readonly usage: CompletionUsage | null;
  readonly cost: number | null;
  readonly context?: TurnContext;
  readonly contextTokens?: number;
}

/** One entry in a turn's context: `[path, scheme, visibility, tokens as sent, full tokens]`. */
type ContextRow = [string, string, string, number, number];

/**
 * What the turn's prompt was built from: the budget and every entry of the
 * run at its visibility (archived ones too, at 0 tokens sent), so a client
 * can draw the context of any past turn.
 */
function contextOf(t: TurnResponse, archived: readonly Entry[]) {
  const c = t.context!;
  const count = (text: string) => c.core.tokenizer.count(text);
  const rows: ContextRow[] = c.entries.map((e) => [
    e.path,
    e.scheme,
    e.visibility ?? "visible",
    e.visibility === "summarized" ? count(c.render(e)) : e.tokens,
    e.tokens,
  ]);
  for (const e of archived) rows.push([e.path, e.scheme, "archived", 0, e.tokens]);
  return {
    contextLength: c.budget.contextLength,
    ceiling: c.budget.ceiling,
    tokens: t.contextTokens ?? null,
    entries: rows,
  };
}

/**
 * `telemetry`: an audit record of every turn — the exact system and user
 * text sent, what the model answered (and its reasoning), usage and cost —
 * at `audit://turn_N`, archived so it never enters a prompt.
 */
export default definePlugin({
  name: "telemetry",
  version: "0.1.0",
  setup(ctx) {
    ctx.registerScheme({
      name: "audit",
      category: "audit",
      defaultScope: "run",
      writableBy: ["plugin"],
    });
    ctx.on<TurnResponse>("turn.response", (t) => {
      const archived = t.context
        ? ctx.store
            .get({ runId: t.runId, visibility: "archived", order: "id", includeBody: false })
            .filter((e) => ctx.core.schemes.get(e.scheme)?.category !== "audit")
        : [];
      // Offsets of the reasoning and the answer in the body, so readers (getRun) cut them exactly.
      let body = `## system\n\n${t.system}\n\n## user\n\n${t.user}`;
      let reasoning: [number, number] | null = null;
      if (t.reasoning) {
        body += "\n\n## reasoning\n\n";
        reasoning = [body.length, body.length + t.reasoning.length];
        body += t.reasoning;
      }
      body += "\n\n## assistant\n\n";
      const content: [number, number] = [body.length, body.length + t.content.length];
      body += t.content;
      ctx.store.set({
        runId: t.runId,
        path: `audit://turn_${t.turn}`,
        body,
        state: "resolved",
        visibility: "archived",
        turn: t.turn,
        loopId: t.loopId,
        attributes: {
          promptTokens: t.usage?.promptTokens ?? null,
          completionTokens: t.usage?.completionTokens ?? null,
          cost: t.cost,
          ...(t.context ? { context: contextOf(t, archived) } : {}),
          sections: { reasoning, content },
        },
        writer: "plugin",
      });
      ctx.log.debug(
        `turn ${t.turn}: ${t.usage?.promptTokens ?? "?"} in, ${t.usage?.completionTokens ?? "?"} out${t.cost !== null ? `, $${t.cost}` : ""}`,
      );
    });
  },
});
