import {
  ENGINE_EVENTS,
  type LoopRecord,
  type RummyCore,
  RummyError,
  type RunRecord,
  slugOf,
  TERMINAL_RUN_STATUSES,
} from "@rummy/core";

/**
 * What the loop records about itself: run statuses (each change announced
 * as `run.state`), loop outcomes, the error entries the model reads next
 * turn, and its events (a failing subscriber never stops the loop).
 */

export async function emit(core: RummyCore, event: string, payload: unknown): Promise<void> {
  try {
    await core.hooks.emit(event, payload);
  } catch {
    // Subscriber failures are reported by the hooks; the loop goes on.
  }
}

export function mustRun(core: RummyCore, runId: number): RunRecord {
  const run = core.runs.get(runId);
  if (!run) throw new RummyError(404, `run ${runId} not found`);
  return run;
}

export function setRunStatus(
  core: RummyCore,
  run: RunRecord,
  status: number,
  reason: string | null,
  loopId: number | null,
  turn: number | null,
): RunRecord {
  const updated = run.status === status ? run : core.runs.setStatus(run.id, status);
  void emit(core, ENGINE_EVENTS.runState, {
    projectId: run.projectId,
    runId: run.id,
    alias: run.alias,
    status,
    loopId,
    turn,
    reason,
  });
  return updated;
}

export function finishLoop(
  core: RummyCore,
  run: RunRecord,
  loop: LoopRecord,
  status: number,
  reason: string | null,
): void {
  const final = TERMINAL_RUN_STATUSES.has(status) ? status : 500;
  // The loop's outcome and the run's status: one commit.
  core.store.batch(() => {
    core.loops.setStatus(loop.id, final, reason);
    const current = mustRun(core, run.id);
    // A run whose next loop is queued stays running; otherwise it takes the loop's verdict.
    setRunStatus(core, current, final, reason, loop.id, null);
  });
}

/** A failed `log://turn_N/error/{kind}` entry: what went wrong, for the model to read next turn. */
export function errorEntry(
  core: RummyCore,
  run: RunRecord,
  loop: LoopRecord,
  turn: number,
  kind: string,
  message: string,
  code: string,
): void {
  const base = `log://turn_${turn}/error/${slugOf(kind)}`;
  let path = base;
  for (let n = 2; core.store.getOne({ runId: run.id }, path); n++) path = `${base}_${n}`;
  core.store.set({
    runId: run.id,
    path,
    body: message,
    state: "failed",
    outcome: code,
    visibility: "visible",
    turn,
    loopId: loop.id,
    attributes: { action: "error", kind },
    writer: "system",
  });
}
