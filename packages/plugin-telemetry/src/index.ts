import type { CompletionUsage, StoreChange, TurnContext } from "@rummy/core";
import { definePlugin } from "@rummy/core";
import { ArchiveCache } from "./archive.js";
import {
  archivedOf,
  type ContextRecord,
  demotionsOf,
  recordedShown,
  rowsOf,
  type ShownRows,
  shownOf,
} from "./record.js";

export type { SchemeTotal } from "./archive.js";
export type { ContextRecord, ContextRow, Demotion } from "./record.js";

interface TurnResponse {
  readonly projectId: number;
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

/** The last recorded turn's shown rows of this many runs are kept in memory (older ones are read back). */
const SHOWN_RUNS = 1000;

/**
 * `telemetry`: an audit record of every turn — the exact system and user
 * text sent, what the model answered (and its reasoning), usage and cost,
 * and what the prompt was built from — at `audit://turn_N`, archived so it
 * never enters a prompt.
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
    const config = ctx.readConfig([
      {
        key: "RUMMY_TELEMETRY_CACHE_PATHS",
        type: "integer",
        default: 500_000,
        min: 1,
        max: 100_000_000,
        description:
          "archived paths kept in memory for the turn records' totals, over all runs (least recently used runs are read again when next needed)",
      },
    ]);
    const archives = new ArchiveCache(
      ctx.store,
      (scheme) => ctx.core.schemes.get(scheme)?.category === "audit",
      config.RUMMY_TELEMETRY_CACHE_PATHS as number,
    );
    // Observed as writes commit, so no change slips between a notice and the next turn's read.
    const unobserve = ctx.store.observe((change: StoreChange) => archives.notice(change));
    const shown = new Map<number, ShownRows>();
    ctx.on("core.closing", () => {
      unobserve();
      archives.clear();
      shown.clear();
    });

    /** What the prompt was built from, with the archive as totals: work that follows what changed. */
    const contextOf = (t: TurnResponse, c: TurnContext): ContextRecord => {
      const rows = rowsOf(c);
      const archive = archives.of(t.runId, t.projectId);
      const kept = shown.get(t.runId);
      const previous =
        kept?.turn === t.turn - 1
          ? kept
          : (recordedShown(ctx.store, t.runId, t.turn, kept?.turn) ?? kept);
      shown.delete(t.runId);
      shown.set(t.runId, shownOf(t.turn, rows));
      if (shown.size > SHOWN_RUNS) shown.delete(shown.keys().next().value!);
      return {
        format: 2,
        contextLength: c.budget.contextLength,
        ceiling: c.budget.ceiling,
        tokens: t.contextTokens ?? null,
        entries: rows,
        archived: archivedOf(archive),
        demoted: demotionsOf(previous, rows, archive),
      };
    };

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
          ...(t.context ? { context: contextOf(t, t.context) } : {}),
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
