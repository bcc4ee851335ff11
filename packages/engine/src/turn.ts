import {
  type CompletionResult,
  ENGINE_EVENTS,
  errorMessage,
  type LoopRecord,
  ProviderError,
  type ResolvedModel,
  type RunRecord,
  type Verdict,
} from "@rummy/core";
import { type ActiveRun, abortReason } from "./active-run.js";
import { assemble, type Packet, summarizeToFit } from "./assembly.js";
import { emit, errorEntry } from "./bookkeeping.js";
import { demoteTurn } from "./budget.js";
import { awaitCommands } from "./commands.js";
import type { LoopDeps } from "./deps.js";
import { dispatch, record } from "./dispatch.js";
import { parseModelOutput } from "./parser.js";
import { rule, type TurnHistory } from "./verdict.js";

export interface TurnOutcome {
  readonly verdict: Verdict;
  readonly strikes: number;
  readonly lastUpdate: string | null;
}

/**
 * One turn: assemble the prompt under the budget, call the model, parse and
 * record every command before any runs, dispatch them in order, wait for the
 * commands they started, then rule. Clients follow along through
 * `turn.started`, `run.progress` phases and `turn.completed`.
 */
export async function runTurn(
  deps: LoopDeps,
  run: RunRecord,
  loop: LoopRecord,
  resolved: ResolvedModel,
  firstTurnOfLoop: boolean,
  active: ActiveRun,
  history: TurnHistory,
): Promise<TurnOutcome> {
  const { core, pacer } = deps;
  const signal = active.controller.signal;
  // The turn's number and its row: one commit.
  const { turnNo, turnRecord } = core.store.batch(() => {
    const turnNo = core.runs.takeTurnNumber(run.id);
    return { turnNo, turnRecord: core.turns.create(run.id, loop.id, turnNo) };
  });
  const base = {
    projectId: run.projectId,
    runId: run.id,
    alias: run.alias,
    loopId: loop.id,
    turn: turnNo,
  };
  /** The turn ends before dispatch: the strikes and last update carry over unchanged. */
  const stop = (verdict: Verdict): TurnOutcome => ({
    verdict,
    strikes: history.strikes,
    lastUpdate: history.lastUpdate,
  });
  await pacer.next();
  await emit(core, ENGINE_EVENTS.turnStarted, base);
  await emit(core, ENGINE_EVENTS.runProgress, { ...base, phase: "assembling" });

  const budget = await deps.budgets.of(resolved, signal);
  let packet = await assemble(core, run, loop, turnNo, firstTurnOfLoop, budget, deps.shown);
  if (packet.tokens > budget.ceiling && firstTurnOfLoop)
    packet = await summarizeToFit(core, run, loop, turnNo, packet, budget, deps.shown);
  if (packet.tokens > budget.ceiling) {
    core.turns.record(turnRecord.id, { status: 413, contextTokens: packet.tokens });
    errorEntry(
      core,
      run,
      loop,
      turnNo,
      "budget",
      `the prompt needs ${packet.tokens} tokens but the budget is ${budget.ceiling}; archive or remove entries to continue`,
      "413",
    );
    return stop({
      continue: false,
      status: 413,
      reason: `prompt of ${packet.tokens} tokens exceeds the budget of ${budget.ceiling}`,
    });
  }

  await emit(core, ENGINE_EVENTS.runProgress, { ...base, phase: "waiting" });
  let result: CompletionResult;
  try {
    result = await callModel(deps, resolved, packet, signal, base);
  } catch (error) {
    const failure = error instanceof ProviderError ? error : null;
    if (signal.aborted || failure?.kind === "aborted") {
      core.turns.record(turnRecord.id, { status: 499, contextTokens: packet.tokens });
      return stop({ continue: false, status: 499, reason: abortReason(signal) });
    }
    const status = failure?.kind === "context_length" ? 413 : 500;
    core.turns.record(turnRecord.id, { status, contextTokens: packet.tokens });
    errorEntry(
      core,
      run,
      loop,
      turnNo,
      "provider",
      `the model call failed: ${errorMessage(error)}`,
      String(status),
    );
    return stop({ continue: false, status, reason: errorMessage(error) });
  }
  await pacer.next();
  core.turns.record(turnRecord.id, {
    contextTokens: packet.tokens,
    ...(result.usage
      ? {
          promptTokens: result.usage.promptTokens,
          completionTokens: result.usage.completionTokens,
        }
      : {}),
    ...(result.cost !== null ? { cost: result.cost } : {}),
    usage: {
      ...(result.usage ?? {}),
      finishReason: result.finishReason,
      model: result.model,
      contextSize: budget.contextLength,
    },
  });
  await emit(core, "turn.response", {
    ...base,
    system: packet.system,
    user: packet.user,
    content: result.content,
    reasoning: result.reasoning,
    usage: result.usage,
    cost: result.cost,
    // What the prompt was built from, for audit records and context pictures.
    context: packet.context,
    contextTokens: packet.tokens,
  });

  // Parse and record every command before running any of them.
  const tools = core.tools.list();
  const parsed = parseModelOutput(result.content, new Set(tools.map((t) => t.name)));
  let failures = 0;
  for (const issue of parsed.issues) {
    failures++;
    errorEntry(core, run, loop, turnNo, "parse", issue.message, "400");
  }
  if (parsed.commands.length === 0) {
    failures++;
    errorEntry(
      core,
      run,
      loop,
      turnNo,
      "no_commands",
      'the reply held no commands; act through the tags described in your instructions and end with <update status="200">answer</update>',
      "400",
    );
  }
  const calls = record(core, run, loop, turnNo, parsed.commands);

  await pacer.next();
  await emit(core, ENGINE_EVENTS.runProgress, { ...base, phase: "dispatching" });
  const dispatched = await dispatch(core, deps.proposals, run, loop, turnNo, calls, active);
  failures += dispatched.failures;
  await awaitCommands(
    core,
    run,
    loop,
    turnNo,
    signal,
    (deps.config.RUMMY_COMMAND_WAIT as number) * 1000,
  );

  const { verdict, strikes, update, cycle } = await rule(
    core,
    {
      run,
      loop,
      turn: turnNo,
      commands: parsed.commands,
      calls,
      failures,
      context: packet.context,
    },
    history,
    deps.config.RUMMY_CYCLE_WINDOW as number,
  );

  // A turn that continues is a snapshot too; a final verdict is announced when the loop closes.
  if (verdict.continue)
    await emit(core, ENGINE_EVENTS.runState, { ...base, status: 102, reason: null });
  demoteTurn(core, run, turnNo, budget.ceiling, deps.shown);
  core.turns.record(turnRecord.id, {
    status: verdict.continue ? (verdict.status === 409 ? 409 : 102) : verdict.status,
  });
  await emit(core, ENGINE_EVENTS.turnCompleted, { ...base, verdict, failures, cycle, strikes });
  await emit(core, ENGINE_EVENTS.runProgress, { ...base, phase: "done" });
  return { verdict, strikes, lastUpdate: update?.body ?? history.lastUpdate };
}

/** The provider call; its deltas and retries become `run.progress` events. */
function callModel(
  deps: LoopDeps,
  resolved: ResolvedModel,
  packet: Packet,
  signal: AbortSignal,
  base: { projectId: number; runId: number; alias: string; loopId: number; turn: number },
): Promise<CompletionResult> {
  return resolved.provider.complete({
    model: resolved.model,
    messages: [
      { role: "system", content: packet.system },
      { role: "user", content: packet.user },
    ],
    signal,
    onDelta: (delta) => {
      void emit(deps.core, ENGINE_EVENTS.runProgress, {
        ...base,
        phase: "streaming",
        ...(delta.content ? { content: delta.content } : {}),
        ...(delta.reasoning ? { reasoning: delta.reasoning } : {}),
      });
    },
    onRetry: (retry) => {
      void emit(deps.core, ENGINE_EVENTS.runProgress, { ...base, phase: "retrying", retry });
    },
  });
}
