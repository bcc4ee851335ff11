import type { CompletionUsage } from "@rummy/core";
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
