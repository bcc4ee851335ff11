import {
  ENGINE_EVENTS,
  errorMessage,
  type LoopRecord,
  type RummyCore,
  RummyError,
  type ToolInvocation,
  type WriteResult,
} from "@rummy/core";
import { emit, mustRun } from "./bookkeeping.js";
import { record } from "./dispatch.js";

/**
 * Runs one tool on behalf of a client, outside any turn: the command is
 * recorded in the run's log like the model's (at the run's latest turn), its
 * handler runs, and a proposal it makes is announced (`run.proposal`) for any
 * client to resolve.
 */
export async function invokeTool(
  core: RummyCore,
  runId: number,
  command: ToolInvocation,
): Promise<WriteResult> {
  const run = mustRun(core, runId);
  const tool = core.tools.get(command.name);
  if (!tool) throw new RummyError(404, `no tool '${command.name}'`);
  const turn = Math.max(1, run.nextTurn - 1);
  const loop: LoopRecord | undefined = core.loops.list(runId).at(-1);
  const [recorded] = record(core, run, loop ?? ({ id: null } as unknown as LoopRecord), turn, [
    {
      name: command.name,
      attributes: command.attributes ?? {},
      body: command.body ?? "",
      start: 0,
      end: 0,
      recovered: false,
    },
  ]);
  const { path, call } = recorded!;
  const project = core.projects.get(run.projectId);
  try {
    await tool.handler(call, {
      runId,
      loopId: loop?.id ?? 0,
      turn,
      projectId: run.projectId,
      projectRoot: project?.root ?? null,
      mode: loop?.mode ?? "act",
      flags: loop?.flags ?? {},
      store: core.store,
      signal: new AbortController().signal,
    });
  } catch (error) {
    const status = error instanceof RummyError ? error.status : 500;
    core.store.set({
      runId,
      path,
      state: "failed",
      outcome: String(status),
      attributes: { error: errorMessage(error) },
      writer: "system",
    });
    return {
      ok: false,
      status,
      path,
      state: "failed",
      outcome: String(status),
      error: errorMessage(error),
    };
  }
  const entry = core.store.getOne({ runId }, path)!;
  if (entry.state === "proposed") {
    await emit(core, ENGINE_EVENTS.runProposal, {
      projectId: run.projectId,
      runId,
      alias: run.alias,
      loopId: loop?.id ?? 0,
      turn,
      path,
      action: command.name,
      attributes: entry.attributes,
      body: entry.body,
    });
  }
  return {
    ok: entry.state !== "failed",
    status: entry.status ?? 200,
    path,
    state: entry.state ?? "resolved",
    outcome: entry.outcome,
  };
}
