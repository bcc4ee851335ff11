import { createHash } from "node:crypto";
import type {
  LoopRecord,
  ParsedCommand,
  RummyCore,
  RunRecord,
  TurnContext,
  Verdict,
  VerdictContext,
} from "@rummy/core";
import { errorEntry } from "./bookkeeping.js";
import type { RecordedCall } from "./dispatch.js";

/** Update statuses that end the loop when the turn had no failures. */
const TERMINAL_UPDATES = new Set([200, 204, 422]);

/** What the verdict remembers from turn to turn within a loop. */
export interface TurnHistory {
  /** Consecutive turns with errors or repeats. */
  readonly strikes: number;
  /** A hash of each earlier turn's commands, oldest first (appended to). */
  readonly signatures: string[];
  /** The body of the last `<update>`, to spot one repeated word for word. */
  readonly lastUpdate: string | null;
}

export interface Ruling {
  readonly verdict: Verdict;
  readonly strikes: number;
  readonly update: { status: number; body: string } | null;
  readonly cycle: boolean;
}

/**
 * The end-of-turn ruling. The last `<update>` wins: 200/204/422 end the
 * loop unless an action failed (then the claim is overruled with 409 and the
 * loop continues). A turn with failures, or one repeating any of the last
 * `cycleWindow` turns (or the same progress update again), is a strike.
 * Plugins have the last word through the `turn.verdict` filter.
 */
export async function rule(
  core: RummyCore,
  turn: {
    readonly run: RunRecord;
    readonly loop: LoopRecord;
    readonly turn: number;
    readonly commands: readonly ParsedCommand[];
    readonly calls: readonly RecordedCall[];
    readonly failures: number;
    readonly context: TurnContext;
  },
  history: TurnHistory,
  cycleWindow: number,
): Promise<Ruling> {
  const { run, loop, calls, failures, commands } = turn;
  const updates = calls.filter((c) => c.call.name === "update");
  const last = updates.at(-1);
  const update = last
    ? { status: Number(last.call.attributes.status ?? 102) || 102, body: last.call.body }
    : null;
  const signature = createHash("sha256")
    .update(JSON.stringify(commands.map((c) => [c.name, c.attributes, c.body])))
    .digest("hex");
  const repeatedUpdate =
    update !== null && update.status === 102 && history.lastUpdate === update.body;
  const cycle =
    commands.length > 0 &&
    (history.signatures.slice(-cycleWindow).includes(signature) || repeatedUpdate);
  history.signatures.push(signature);
  if (cycle)
    errorEntry(
      core,
      run,
      loop,
      turn.turn,
      "cycle",
      'this turn repeats an earlier one; try something different or finish with <update status="200">',
      "508",
    );
  const strikes = failures > 0 || cycle ? history.strikes + 1 : 0;

  let verdict: Verdict;
  if (update && TERMINAL_UPDATES.has(update.status)) {
    if (failures > 0) {
      // A claim that was dispatched is overruled (409); one cancelled by an earlier failure keeps "aborted".
      const path = last!.path;
      if (core.store.getOne({ runId: run.id }, path)?.state !== "cancelled") {
        core.store.set({ runId: run.id, path, state: "failed", outcome: "409", writer: "system" });
      }
      verdict = {
        continue: true,
        status: 409,
        reason: "a terminal update in a turn with failed actions; continuing",
      };
    } else {
      verdict = { continue: false, status: update.status, reason: update.body || null };
    }
  } else {
    verdict = { continue: true, status: 102, reason: null };
  }
  verdict = await core.hooks.apply<Verdict, VerdictContext>("turn.verdict", verdict, {
    turn: turn.context,
    update,
    failures,
    cycle,
    strikes,
  });
  return { verdict, strikes, update, cycle };
}
