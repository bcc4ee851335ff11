import {
  ENGINE_EVENTS,
  errorMessage,
  type LoopRecord,
  type ParsedCommand,
  type RummyCore,
  RummyError,
  type RunRecord,
  slugOf,
  type Tool,
  type ToolCall,
  type ToolContext,
} from "@rummy/core";
import type { ActiveRun } from "./active-run.js";
import { emit, errorEntry } from "./bookkeeping.js";
import type { Proposals } from "./proposals.js";

/** A recorded command: its log entry and the call its tool receives. */
export interface RecordedCall {
  readonly path: string;
  readonly call: ToolCall;
}

/** Tools whose refusal does not cancel the rest of the turn (they run before anything acts). */
const PRE_DISPATCH = new Set(["think"]);

/** Records each command at `log://turn_N/{action}/{slug}` before anything runs. */
export function record(
  core: RummyCore,
  run: RunRecord,
  loop: Pick<LoopRecord, "id">,
  turn: number,
  commands: readonly ParsedCommand[],
): RecordedCall[] {
  const used = new Set<string>();
  const out: RecordedCall[] = [];
  core.store.batch(() => {
    commands.forEach((command, index) => {
      const base = `log://turn_${turn}/${command.name}/${slugOf(command.attributes.path ?? command.body ?? command.name)}`;
      let path = base;
      for (let n = 2; used.has(path); n++) path = `${base}_${n}`;
      used.add(path);
      core.store.set({
        runId: run.id,
        path,
        body: command.body,
        attributes: { ...command.attributes, action: command.name },
        state: "resolved",
        visibility: "visible",
        turn,
        loopId: loop.id,
        writer: "system",
      });
      out.push({
        path,
        call: {
          name: command.name,
          attributes: command.attributes,
          body: command.body,
          index,
          resultPath: path,
        },
      });
    });
  });
  return out;
}

/**
 * Runs commands in emitted order through `dispatch.policy` and the tool's
 * handler; a proposal blocks until resolved. The first failure cancels the
 * rest (outcome `aborted`).
 */
export async function dispatch(
  core: RummyCore,
  proposals: Proposals,
  run: RunRecord,
  loop: LoopRecord,
  turn: number,
  calls: readonly RecordedCall[],
  active: ActiveRun,
): Promise<{ failures: number }> {
  let failures = 0;
  let aborted = false;
  const project = core.projects.get(run.projectId);
  const context: ToolContext = {
    runId: run.id,
    loopId: loop.id,
    turn,
    projectId: run.projectId,
    projectRoot: project?.root ?? null,
    mode: loop.mode,
    flags: loop.flags,
    store: core.store,
    signal: active.controller.signal,
  };
  for (const { path, call } of calls) {
    if (aborted || active.controller.signal.aborted) {
      core.store.set({
        runId: run.id,
        path,
        state: "cancelled",
        outcome: "aborted",
        writer: "system",
      });
      continue;
    }
    const tool = core.tools.get(call.name);
    const refusal = !tool
      ? `no tool <${call.name}>`
      : tool.modes && !tool.modes.includes(loop.mode)
        ? `<${call.name}> is not available in ${loop.mode} mode`
        : await core.hooks.apply<
            string | null,
            { call: ToolCall; tool: Tool; context: ToolContext }
          >("dispatch.policy", null, { call, tool, context });
    if (refusal) {
      core.store.set({
        runId: run.id,
        path,
        state: "failed",
        outcome: "permission:403",
        attributes: { error: refusal },
        writer: "system",
      });
      errorEntry(core, run, loop, turn, call.name, refusal, "403");
      failures++;
      aborted = !PRE_DISPATCH.has(call.name);
      continue;
    }
    try {
      await tool!.handler(call, context);
    } catch (error) {
      core.store.set({
        runId: run.id,
        path,
        state: "failed",
        outcome: String(error instanceof RummyError ? error.status : 500),
        attributes: { error: errorMessage(error) },
        writer: "system",
      });
      errorEntry(
        core,
        run,
        loop,
        turn,
        call.name,
        `<${call.name}> failed: ${errorMessage(error)}`,
        error instanceof RummyError ? String(error.status) : "500",
      );
      failures++;
      aborted = true;
      continue;
    }
    let entry = core.store.getOne({ runId: run.id }, path);
    if (entry?.state === "proposed") {
      await proposals.await(run, loop, turn, entry, active);
      entry = core.store.getOne({ runId: run.id }, path);
    }
    if (
      entry?.state === "failed" ||
      (entry?.state === "cancelled" && entry.outcome !== "aborted")
    ) {
      failures++;
      aborted = true;
    }
    // Each dispatched command is a state snapshot for clients (2.0.1 sends one per command).
    await emit(core, ENGINE_EVENTS.runState, {
      projectId: run.projectId,
      runId: run.id,
      alias: run.alias,
      status: 102,
      loopId: loop.id,
      turn,
      reason: null,
    });
  }
  return { failures };
}
