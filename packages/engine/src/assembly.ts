import {
  type LoopRecord,
  renderEntry,
  type RummyCore,
  type RunRecord,
  type TurnContext,
  type Visibility,
} from "@rummy/core";
import type { Budget } from "./budget.js";
import type { ShownEntries } from "./shown.js";

/** The two messages of a turn's prompt, their token count, and the context they were built from. */
export interface Packet {
  readonly system: string;
  readonly user: string;
  readonly tokens: number;
  readonly context: TurnContext;
}

/**
 * Builds the turn context from the run's visible and summarized entries and
 * runs the `assembly.system` and `assembly.user` filter chains; tokens are
 * counted on the result.
 */
export async function assemble(
  core: RummyCore,
  run: RunRecord,
  loop: LoopRecord,
  turn: number,
  firstTurnOfLoop: boolean,
  budget: Budget,
  shown: ShownEntries,
): Promise<Packet> {
  const entries = shown.read(run.id);
  const context: TurnContext = {
    core,
    run,
    loop,
    turn,
    mode: loop.mode,
    flags: loop.flags,
    entries,
    tools: core.tools.list(loop.mode),
    firstTurnOfLoop,
    budget,
    render: (entry) => renderEntry(core, entry),
  };
  const system = await core.hooks.apply<string, TurnContext>("assembly.system", "", context);
  const user = await core.hooks.apply<string, TurnContext>("assembly.user", "", context);
  return {
    system,
    user,
    tokens: core.tokenizer.count(system) + core.tokenizer.count(user),
    context,
  };
}

/** First turn over budget: demote the largest visible entries, then archive summarized ones, until it fits. */
export async function summarizeToFit(
  core: RummyCore,
  run: RunRecord,
  loop: LoopRecord,
  turn: number,
  packet: Packet,
  budget: Budget,
  shown: ShownEntries,
): Promise<Packet> {
  for (const [from, to] of [
    ["visible", "summarized"],
    ["summarized", "archived"],
  ] as [Visibility, Visibility][]) {
    for (let round = 0; round < 4 && packet.tokens > budget.ceiling; round++) {
      const excess = packet.tokens - budget.ceiling;
      const candidates = packet.context.entries
        .filter((e) => e.visibility === from && !e.path.startsWith("prompt://"))
        .sort((a, b) => b.tokens - a.tokens);
      if (candidates.length === 0) break;
      let freed = 0;
      core.store.batch(() => {
        for (const e of candidates) {
          if (freed >= excess) break;
          core.store.set({ runId: run.id, path: e.path, visibility: to, writer: "system" });
          freed += Math.max(1, from === "visible" ? e.tokens - Math.ceil(e.tokens / 10) : e.tokens);
        }
      });
      packet = await assemble(core, run, loop, turn, true, budget, shown);
    }
  }
  return packet;
}
