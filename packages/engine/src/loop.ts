import {
  errorMessage,
  type LoopRecord,
  type ResolvedModel,
  RummyError,
  type RunRecord,
  type Verdict,
} from "@rummy/core";
import { type ActiveRun, abortReason } from "./active-run.js";
import { finishLoop, mustRun, setRunStatus } from "./bookkeeping.js";
import type { LoopDeps } from "./deps.js";
import { runTurn } from "./turn.js";

/**
 * One loop of a run: its prompt becomes `prompt://N`, the model is
 * resolved, and turns follow until the verdict stops, the run is cancelled,
 * RUMMY_MAX_TURNS is reached or RUMMY_MAX_STRIKES bad turns come in a row.
 * The loop and the run end with the last verdict.
 */
export async function runLoop(
  deps: LoopDeps,
  startRun: RunRecord,
  queued: LoopRecord,
  active: ActiveRun,
): Promise<void> {
  const { core } = deps;
  const signal = active.controller.signal;
  const maxTurns = deps.config.RUMMY_MAX_TURNS as number;
  const maxStrikes = deps.config.RUMMY_MAX_STRIKES as number;
  let strikes = 0;
  const signatures: string[] = [];
  let lastUpdate: string | null = null;
  let verdict: Verdict = { continue: true, status: 102, reason: null };
  let firstTurn = true;

  // The loop's start — its status, the run's, its prompt — is one commit.
  const started = core.store.batch(() => {
    const loop = core.loops.setStatus(queued.id, 102);
    const run = setRunStatus(core, startRun, 102, null, loop.id, null);
    if (loop.prompt) {
      const promptTurn = Math.max(0, run.nextTurn);
      core.store.set({
        runId: run.id,
        path: `prompt://${loop.sequence}`,
        body: loop.prompt,
        state: "resolved",
        visibility: "visible",
        turn: promptTurn,
        loopId: loop.id,
        attributes: { mode: loop.mode, loop: loop.sequence },
        writer: "system",
      });
    }
    return { loop, run };
  });
  const loop = started.loop;
  let run = started.run;

  let resolved: ResolvedModel;
  try {
    const model = loop.model ?? run.model ?? core.env.RUMMY_MODEL;
    if (!model) throw new RummyError(400, "no model: name one on the run or set RUMMY_MODEL");
    resolved = core.providers.resolve(model);
  } catch (error) {
    finishLoop(core, run, loop, 500, errorMessage(error));
    return;
  }

  for (let i = 0; verdict.continue; i++) {
    if (signal.aborted) {
      verdict = { continue: false, status: 499, reason: abortReason(signal) };
      break;
    }
    if (i >= maxTurns) {
      verdict = {
        continue: false,
        status: 499,
        reason: `gave up after ${maxTurns} turns without a final update`,
      };
      break;
    }
    const outcome = await runTurn(deps, run, loop, resolved, firstTurn, active, {
      strikes,
      signatures,
      lastUpdate,
    });
    firstTurn = false;
    strikes = outcome.strikes;
    lastUpdate = outcome.lastUpdate;
    verdict = outcome.verdict;
    run = mustRun(core, run.id);
    if (verdict.continue && strikes >= maxStrikes) {
      verdict = {
        continue: false,
        status: 499,
        reason: `abandoned after ${strikes} turns in a row with errors or repeats`,
      };
    }
  }
  finishLoop(core, run, loop, verdict.status, verdict.reason);
}
