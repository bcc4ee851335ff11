import {
  type CommandsRunningEvent,
  ENGINE_EVENTS,
  type LoopRecord,
  type RummyCore,
  type RunRecord,
} from "@rummy/core";
import { emit } from "./bookkeeping.js";

/**
 * The model's next turn must see what its commands printed: waits until no
 * entry this turn started is still `streaming` (a producer finished it),
 * for at most `waitMs` (RUMMY_COMMAND_WAIT). Whatever is still running then
 * is announced (`turn.commands_running`) so its plugin can tell the model
 * it is still running; it keeps running and later turns do not wait again.
 */
export async function awaitCommands(
  core: RummyCore,
  run: RunRecord,
  loop: LoopRecord,
  turn: number,
  signal: AbortSignal,
  waitMs: number,
): Promise<void> {
  const store = core.store;
  const running = () =>
    store
      .get({ runId: run.id, state: "streaming", includeBody: false })
      .filter((e) => e.turn === turn);
  if (running().length === 0 || signal.aborted) return;
  const startedAt = Date.now();
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      if (timer) clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const unsubscribe = store.observe((change) => {
      // Appends never end a stream; any other write to the run might.
      if (change.runId !== run.id || (change.op === "set" && change.appended)) return;
      if (running().length === 0) done();
    });
    signal.addEventListener("abort", done, { once: true });
    timer = setTimeout(done, waitMs);
    // A producer may have finished between the first look and the subscription.
    if (running().length === 0) done();
  });
  if (signal.aborted) return;
  const still = running();
  if (still.length === 0) return;
  await emit(core, ENGINE_EVENTS.commandsRunning, {
    projectId: run.projectId,
    runId: run.id,
    alias: run.alias,
    loopId: loop.id,
    turn,
    paths: still.map((e) => e.path),
    waitedMs: Date.now() - startedAt,
  } satisfies CommandsRunningEvent);
}
