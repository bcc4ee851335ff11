import { createHash } from "node:crypto";
import type { ConfigSpec, ConfigValues } from "../config.js";
import { readConfig } from "../config.js";
import type { RummyCore } from "../core.js";
import { errorMessage, RummyError } from "../errors.js";
import { ProviderError, type ResolvedModel } from "../provider.js";
import type { LoopRecord, RunRecord } from "../records.js";
import { TERMINAL_RUN_STATUSES } from "../status.js";
import type { WriteResult } from "../store.js";
import type { LoopFlags, Mode, Tool, ToolCall, ToolContext } from "../tools.js";
import type { Entry, Visibility } from "../types.js";
import {
  type CommandsRunningEvent,
  ENGINE_EVENTS,
  type Engine,
  type ProposalEvent,
  type ProposalResolution,
  type RunRequest,
} from "./api.js";
import type { ParsedCommand } from "./parser-api.js";
import { Pacer } from "./pacer.js";
import { parseModelOutput } from "./parser.js";
import { slugOf } from "../paths.js";

/** The engine's limits, read from the environment and validated at boot. */
export const ENGINE_CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_MAX_TURNS",
    type: "integer",
    default: 25,
    min: 1,
    max: 1000,
    description: "turns one loop may take before it is abandoned",
  },
  {
    key: "RUMMY_MAX_STRIKES",
    type: "integer",
    default: 3,
    min: 1,
    max: 100,
    description: "consecutive turns with errors or cycles before a loop is abandoned (499)",
  },
  {
    key: "RUMMY_BUDGET_CEILING",
    type: "number",
    default: 0.9,
    min: 0.1,
    max: 1,
    description: "share of the model's context window a prompt may use",
  },
  {
    key: "RUMMY_CONTEXT_DEFAULT",
    type: "integer",
    default: 32_768,
    min: 1024,
    max: 10_000_000,
    description: "context window assumed when the provider cannot tell",
  },
  {
    key: "RUMMY_CYCLE_WINDOW",
    type: "integer",
    default: 3,
    min: 1,
    max: 50,
    description: "how many earlier turns a repeated turn is compared against",
  },
  {
    key: "RUMMY_COMMAND_WAIT",
    type: "number",
    default: 60,
    min: 0,
    max: 86_400,
    description:
      "seconds the next turn waits for this turn's commands to finish; past it the model sees the output so far",
  },
];

/** What assembly filters and the verdict see about the turn being built. */
export interface TurnContext {
  readonly core: RummyCore;
  readonly run: RunRecord;
  readonly loop: LoopRecord;
  readonly turn: number;
  readonly mode: Mode;
  readonly flags: LoopFlags;
  /** The run's visible and summarized entries, oldest first: all the model will see. */
  readonly entries: readonly Entry[];
  /** Tools offered in this loop's mode. */
  readonly tools: readonly Tool[];
  readonly firstTurnOfLoop: boolean;
  readonly budget: { readonly contextLength: number; readonly ceiling: number };
  /** An entry as the model sees it at its visibility (the scheme's renderer, or its body). */
  render(entry: Entry): string;
}

/** The end-of-turn ruling; plugins may adjust it through the `turn.verdict` filter. */
export interface Verdict {
  readonly continue: boolean;
  readonly status: number;
  readonly reason: string | null;
}

export interface VerdictContext {
  readonly turn: TurnContext;
  /** The last `<update>` of the turn, if any. */
  readonly update: { status: number; body: string } | null;
  readonly failures: number;
  readonly cycle: boolean;
  readonly strikes: number;
}

const TERMINAL_UPDATES = new Set([200, 204, 422]);
const PRE_DISPATCH = new Set(["think"]);

interface PendingProposal {
  readonly resolve: (resolution: ProposalResolution) => void;
  readonly done: Promise<WriteResult>;
}

interface ActiveRun {
  readonly controller: AbortController;
  readonly drained: Promise<void>;
  waitingOnProposal: boolean;
  readonly settleWaiters: (() => void)[];
}

/**
 * The agent loop. Loops run in the background, one at a time per run, in
 * the order they were queued. A turn assembles the prompt from the run's
 * visible entries through plugin filters, calls the model, parses and
 * records its commands, dispatches them to tool plugins in order (blocking
 * on proposals), manages the budget, and rules on whether to continue.
 */
export class AgentEngine implements Engine {
  readonly #core: RummyCore;
  readonly #config: ConfigValues;
  readonly #active = new Map<number, ActiveRun>();
  /** One synchronous stretch of a turn (assembly; recording; dispatch) per event-loop turn across all runs. */
  readonly #pacer = new Pacer();
  readonly #proposals = new Map<string, PendingProposal>();
  readonly #contextCache = new Map<string, number>();

  constructor(core: RummyCore) {
    this.#core = core;
    this.#config = readConfig(ENGINE_CONFIG, core.env);
    // The engine writes these itself: every command's record, and each loop's prompt.
    core.schemes.register(
      { name: "log", category: "logging", defaultScope: "run", writableBy: ["plugin"] },
      "engine",
    );
    core.schemes.register(
      { name: "prompt", category: "prompt", defaultScope: "run", writableBy: ["plugin"] },
      "engine",
    );
    // Closing the core stops every loop first, so nothing writes to a closed database.
    core.hooks.on("core.closing", () => this.shutdown(), 0, "engine");
  }

  /** Aborts every running loop and waits for them to wind down. */
  async shutdown(): Promise<void> {
    const running = [...this.#active.values()];
    for (const active of running) active.controller.abort(new Error("the server is shutting down"));
    await Promise.all(running.map((a) => a.drained));
  }

  get config(): Readonly<ConfigValues> {
    return this.#config;
  }

  submit(request: RunRequest): { run: RunRecord; loop: LoopRecord } {
    const prompt = String(request.prompt ?? "");
    let run = request.alias ? this.#core.runs.byAlias(request.projectId, request.alias) : undefined;
    if (!run) {
      run = this.#core.runs.create({
        projectId: request.projectId,
        ...(request.alias ? { alias: request.alias } : {}),
        model: request.model ?? null,
        ...(request.attributes ? { attributes: request.attributes } : {}),
      });
    } else if (request.model && request.model !== run.model) {
      run = this.#core.runs.update(run.id, { model: request.model });
    }
    const loop = this.#core.loops.enqueue({
      runId: run.id,
      mode: request.mode,
      prompt,
      model: request.model ?? run.model,
      flags: request.flags ?? {},
    });
    this.#ensureDraining(run.id);
    return { run, loop };
  }

  fork(runId: number, alias?: string): RunRecord {
    const parent = this.#mustRun(runId);
    const child = this.#core.runs.create({
      projectId: parent.projectId,
      ...(alias ? { alias } : {}),
      model: parent.model,
      parentRunId: parent.id,
      attributes: { ...parent.attributes, forkedFrom: parent.alias },
    });
    // The child starts from the parent's view: run-owned content is copied, shared content gets a
    // view — the views the parent inherited unchanged are inherited by the child too, not copied.
    const entries = this.#core.store.get({ runId: parent.id, order: "id" });
    this.#core.store.batch(() => {
      const inherited = this.#core.store.sharedOnly(parent.id);
      for (const e of entries) {
        if (inherited.has(e.id)) continue;
        this.#core.store.set({
          runId: child.id,
          path: e.path,
          ...(e.scope.startsWith("run:") ? { body: e.body, attributes: e.attributes } : {}),
          state:
            e.state === "proposed" || e.state === "streaming"
              ? "cancelled"
              : (e.state ?? "resolved"),
          outcome:
            e.state === "proposed" || e.state === "streaming"
              ? "forked before it finished"
              : e.outcome,
          visibility: e.visibility ?? "visible",
          turn: 0,
          writer: "system",
        });
      }
      this.#core.store.shareViews(parent.id, child.id, 0, "system");
    });
    return child;
  }

  async cancel(runId: number, reason = "cancelled"): Promise<void> {
    const run = this.#mustRun(runId);
    for (const loop of this.#core.loops.list(runId)) {
      if (loop.status === 100) this.#core.loops.setStatus(loop.id, 499, reason);
    }
    for (const [key, pending] of this.#proposals) {
      if (key.startsWith(`${runId}:`)) pending.resolve({ decision: "reject", body: reason });
    }
    // Plugins running work for this run (yolo's processes) stop it before the loop winds down.
    await this.#emit("run.cancelling", {
      projectId: run.projectId,
      runId,
      alias: run.alias,
      reason,
    });
    const active = this.#active.get(runId);
    if (active) {
      active.controller.abort(new Error(reason));
      await active.drained;
    } else if (!TERMINAL_RUN_STATUSES.has(run.status) || run.status === 202) {
      this.#setRunStatus(run, 499, reason, null, null);
    }
  }

  async resolve(runId: number, path: string, resolution: ProposalResolution): Promise<WriteResult> {
    const run = this.#mustRun(runId);
    const entry = this.#core.store.getOne({ runId }, path);
    if (!entry) throw new RummyError(404, `no entry at '${path}' in run ${run.alias}`);
    if (entry.state !== "proposed")
      throw new RummyError(409, `'${path}' is not a pending proposal (state ${entry.state})`);
    const pending = this.#proposals.get(`${runId}:${path}`);
    if (pending) {
      pending.resolve(resolution);
      return pending.done;
    }
    // An orphan: its loop ended (a restart, a cancelled client). Apply it, then let the run go on.
    const result = await this.#applyResolution(run, entry, resolution);
    if (!this.#active.has(runId) && !TERMINAL_RUN_STATUSES.has(this.#mustRun(runId).status)) {
      const last = this.#core.loops.list(runId).at(-1);
      if (!this.#core.store.get({ runId, state: "proposed", includeBody: false }).length) {
        this.#core.loops.enqueue({
          runId,
          mode: last?.mode ?? "ask",
          prompt: "",
          model: last?.model ?? run.model,
          flags: last?.flags ?? {},
        });
        this.#ensureDraining(runId);
      }
    }
    return result;
  }

  /**
   * Runs one tool on behalf of a client, outside any turn: the command is
   * recorded in the run's log like the model's, its handler runs, and a
   * proposal it makes is announced (`run.proposal`) for any client to resolve.
   */
  async invokeTool(
    runId: number,
    command: { name: string; attributes?: Record<string, string>; body?: string },
  ): Promise<WriteResult> {
    const run = this.#mustRun(runId);
    const tool = this.#core.tools.get(command.name);
    if (!tool) throw new RummyError(404, `no tool '${command.name}'`);
    const turn = Math.max(1, run.nextTurn - 1);
    const loop = this.#core.loops.list(runId).at(-1);
    const [recorded] = this.#record(run, loop ?? ({ id: null } as unknown as LoopRecord), turn, [
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
    const project = this.#core.projects.get(run.projectId);
    try {
      await tool.handler(call, {
        runId,
        loopId: loop?.id ?? 0,
        turn,
        projectId: run.projectId,
        projectRoot: project?.root ?? null,
        mode: loop?.mode ?? "act",
        flags: loop?.flags ?? {},
        store: this.#core.store,
        signal: new AbortController().signal,
      });
    } catch (error) {
      const status = error instanceof RummyError ? error.status : 500;
      this.#core.store.set({
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
    const entry = this.#core.store.getOne({ runId }, path)!;
    if (entry.state === "proposed") {
      await this.#emit(ENGINE_EVENTS.runProposal, {
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

  settled(runId: number): Promise<RunRecord> {
    const active = this.#active.get(runId);
    if (!active || active.waitingOnProposal) return Promise.resolve(this.#mustRun(runId));
    return new Promise((resolve) => active.settleWaiters.push(() => resolve(this.#mustRun(runId))));
  }

  isActive(runId: number): boolean {
    return this.#active.has(runId);
  }

  /**
   * After a restart: runs left mid-loop are marked interrupted (so a new
   * prompt can continue them) unless proposals are pending (then they wait
   * at 202); queued loops — acknowledged prompts — start.
   */
  recover(): { interrupted: number; resumed: number } {
    let interrupted = 0;
    let resumed = 0;
    for (const project of this.#core.projects.list()) {
      for (const run of this.#core.runs.list(project.id)) {
        if (this.#active.has(run.id)) continue;
        for (const loop of this.#core.loops.list(run.id)) {
          if (loop.status === 102)
            this.#core.loops.setStatus(loop.id, 500, "interrupted by a restart");
        }
        if (run.status === 102) {
          const pending =
            this.#core.store.get({ runId: run.id, state: "proposed", includeBody: false }).length >
            0;
          this.#core.runs.setStatus(run.id, pending ? 202 : 500);
          interrupted++;
        }
        if (this.#core.loops.next(run.id)) {
          this.#ensureDraining(run.id);
          resumed++;
        }
      }
    }
    return { interrupted, resumed };
  }

  #ensureDraining(runId: number): void {
    if (this.#active.has(runId)) return;
    const controller = new AbortController();
    const settleWaiters: (() => void)[] = [];
    let resolveDrained!: () => void;
    const drained = new Promise<void>((r) => (resolveDrained = r));
    const active: ActiveRun = { controller, drained, waitingOnProposal: false, settleWaiters };
    this.#active.set(runId, active);
    // Start on the next tick so submit() returns (and the RPC answers) first.
    setImmediate(() => {
      this.#drain(runId, active)
        .catch((error) => this.#core.log.error(`run ${runId}: ${errorMessage(error)}`))
        .finally(() => {
          this.#active.delete(runId);
          resolveDrained();
          for (const w of settleWaiters.splice(0)) w();
        });
    });
  }

  async #drain(runId: number, active: ActiveRun): Promise<void> {
    for (let loop = this.#core.loops.next(runId); loop; loop = this.#core.loops.next(runId)) {
      if (active.controller.signal.aborted) {
        this.#core.loops.setStatus(loop.id, 499, "cancelled");
        continue;
      }
      await this.#runLoop(this.#mustRun(runId), loop, active);
    }
  }

  async #runLoop(startRun: RunRecord, queued: LoopRecord, active: ActiveRun): Promise<void> {
    const core = this.#core;
    const loop = core.loops.setStatus(queued.id, 102);
    let run = this.#setRunStatus(startRun, 102, null, loop.id, null);
    const signal = active.controller.signal;
    const maxTurns = this.#config.RUMMY_MAX_TURNS as number;
    const maxStrikes = this.#config.RUMMY_MAX_STRIKES as number;
    let strikes = 0;
    const signatures: string[] = [];
    let lastUpdate: string | null = null;
    let verdict: Verdict = { continue: true, status: 102, reason: null };
    let firstTurn = true;

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

    let resolved: ResolvedModel;
    try {
      const model = loop.model ?? run.model ?? core.env.RUMMY_MODEL;
      if (!model) throw new RummyError(400, "no model: name one on the run or set RUMMY_MODEL");
      resolved = core.providers.resolve(model);
    } catch (error) {
      this.#finishLoop(run, loop, 500, errorMessage(error));
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
      const outcome = await this.#turn(run, loop, resolved, firstTurn, active, {
        strikes,
        signatures,
        lastUpdate,
      });
      firstTurn = false;
      strikes = outcome.strikes;
      lastUpdate = outcome.lastUpdate;
      verdict = outcome.verdict;
      run = this.#mustRun(run.id);
      if (verdict.continue && strikes >= maxStrikes) {
        verdict = {
          continue: false,
          status: 499,
          reason: `abandoned after ${strikes} turns in a row with errors or repeats`,
        };
      }
    }
    this.#finishLoop(run, loop, verdict.status, verdict.reason);
  }

  async #turn(
    run: RunRecord,
    loop: LoopRecord,
    resolved: ResolvedModel,
    firstTurnOfLoop: boolean,
    active: ActiveRun,
    state: { strikes: number; signatures: string[]; lastUpdate: string | null },
  ): Promise<{ verdict: Verdict; strikes: number; lastUpdate: string | null }> {
    const core = this.#core;
    const signal = active.controller.signal;
    const turnNo = core.runs.takeTurnNumber(run.id);
    const turnRecord = core.turns.create(run.id, loop.id, turnNo);
    const base = {
      projectId: run.projectId,
      runId: run.id,
      alias: run.alias,
      loopId: loop.id,
      turn: turnNo,
    };
    await this.#pacer.next();
    await this.#emit(ENGINE_EVENTS.turnStarted, base);
    await this.#emit(ENGINE_EVENTS.runProgress, { ...base, phase: "assembling" });

    const contextLength = await this.#contextLength(resolved, signal);
    const ceiling = Math.floor(contextLength * (this.#config.RUMMY_BUDGET_CEILING as number));
    let packet = await this.#assemble(run, loop, turnNo, firstTurnOfLoop, {
      contextLength,
      ceiling,
    });
    if (packet.tokens > ceiling) {
      if (firstTurnOfLoop)
        packet = await this.#summarizeToFit(run, loop, turnNo, packet, { contextLength, ceiling });
      if (packet.tokens > ceiling) {
        core.turns.record(turnRecord.id, { status: 413, contextTokens: packet.tokens });
        this.#errorEntry(
          run,
          loop,
          turnNo,
          "budget",
          `the prompt needs ${packet.tokens} tokens but the budget is ${ceiling}; archive or remove entries to continue`,
          "413",
        );
        return {
          verdict: {
            continue: false,
            status: 413,
            reason: `prompt of ${packet.tokens} tokens exceeds the budget of ${ceiling}`,
          },
          strikes: state.strikes,
          lastUpdate: state.lastUpdate,
        };
      }
    }

    await this.#emit(ENGINE_EVENTS.runProgress, { ...base, phase: "waiting" });
    let result: Awaited<ReturnType<typeof resolved.provider.complete>>;
    try {
      result = await resolved.provider.complete({
        model: resolved.model,
        messages: [
          { role: "system", content: packet.system },
          { role: "user", content: packet.user },
        ],
        signal,
        onDelta: (delta) => {
          void this.#emit(ENGINE_EVENTS.runProgress, {
            ...base,
            phase: "streaming",
            ...(delta.content ? { content: delta.content } : {}),
            ...(delta.reasoning ? { reasoning: delta.reasoning } : {}),
          });
        },
        onRetry: (retry) => {
          void this.#emit(ENGINE_EVENTS.runProgress, { ...base, phase: "retrying", retry });
        },
      });
    } catch (error) {
      const failure = error instanceof ProviderError ? error : null;
      if (signal.aborted || failure?.kind === "aborted") {
        core.turns.record(turnRecord.id, { status: 499, contextTokens: packet.tokens });
        return {
          verdict: { continue: false, status: 499, reason: abortReason(signal) },
          strikes: state.strikes,
          lastUpdate: state.lastUpdate,
        };
      }
      const status = failure?.kind === "context_length" ? 413 : 500;
      core.turns.record(turnRecord.id, { status, contextTokens: packet.tokens });
      this.#errorEntry(
        run,
        loop,
        turnNo,
        "provider",
        `the model call failed: ${errorMessage(error)}`,
        String(status),
      );
      return {
        verdict: { continue: false, status, reason: errorMessage(error) },
        strikes: state.strikes,
        lastUpdate: state.lastUpdate,
      };
    }
    await this.#pacer.next();
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
        contextSize: contextLength,
      },
    });
    await this.#emit("turn.response", {
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
      this.#errorEntry(run, loop, turnNo, "parse", issue.message, "400");
    }
    if (parsed.commands.length === 0) {
      failures++;
      this.#errorEntry(
        run,
        loop,
        turnNo,
        "no_commands",
        'the reply held no commands; act through the tags described in your instructions and end with <update status="200">answer</update>',
        "400",
      );
    }
    const calls = this.#record(run, loop, turnNo, parsed.commands);

    await this.#pacer.next();
    await this.#emit(ENGINE_EVENTS.runProgress, { ...base, phase: "dispatching" });
    const dispatch = await this.#dispatch(run, loop, turnNo, calls, active);
    failures += dispatch.failures;
    await this.#awaitCommands(run, loop, turnNo, signal);

    // The verdict: last update wins; failures turn a terminal claim into a continuation.
    const updates = calls.filter((c) => c.call.name === "update");
    const last = updates.at(-1);
    const update = last
      ? { status: Number(last.call.attributes.status ?? 102) || 102, body: last.call.body }
      : null;
    const signature = createHash("sha256")
      .update(JSON.stringify(parsed.commands.map((c) => [c.name, c.attributes, c.body])))
      .digest("hex");
    const window = this.#config.RUMMY_CYCLE_WINDOW as number;
    const repeatedUpdate =
      update !== null && update.status === 102 && state.lastUpdate === update.body;
    const cycle =
      parsed.commands.length > 0 &&
      (state.signatures.slice(-window).includes(signature) || repeatedUpdate);
    state.signatures.push(signature);
    if (cycle)
      this.#errorEntry(
        run,
        loop,
        turnNo,
        "cycle",
        'this turn repeats an earlier one; try something different or finish with <update status="200">',
        "508",
      );
    const strikes = failures > 0 || cycle ? state.strikes + 1 : 0;

    let verdict: Verdict;
    if (update && TERMINAL_UPDATES.has(update.status)) {
      if (failures > 0) {
        // A claim that was dispatched is overruled (409); one cancelled by an earlier failure keeps "aborted".
        const path = last!.path;
        if (core.store.getOne({ runId: run.id }, path)?.state !== "cancelled") {
          core.store.set({
            runId: run.id,
            path,
            state: "failed",
            outcome: "409",
            writer: "system",
          });
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
    const turnContext = packet.context;
    verdict = await core.hooks.apply<Verdict, VerdictContext>("turn.verdict", verdict, {
      turn: turnContext,
      update,
      failures,
      cycle,
      strikes,
    });

    // A turn that continues is a snapshot too; a final verdict is announced when the loop closes.
    if (verdict.continue)
      await this.#emit(ENGINE_EVENTS.runState, { ...base, status: 102, reason: null });
    this.#demoteTurn(run, turnNo, ceiling);
    core.turns.record(turnRecord.id, {
      status: verdict.continue ? (verdict.status === 409 ? 409 : 102) : verdict.status,
    });
    await this.#emit(ENGINE_EVENTS.turnCompleted, { ...base, verdict, failures, cycle, strikes });
    await this.#emit(ENGINE_EVENTS.runProgress, { ...base, phase: "done" });
    return { verdict, strikes, lastUpdate: update?.body ?? state.lastUpdate };
  }

  /** Builds the turn context and runs the assembly filters; tokens counted on the result. */
  async #assemble(
    run: RunRecord,
    loop: LoopRecord,
    turn: number,
    firstTurnOfLoop: boolean,
    budget: { contextLength: number; ceiling: number },
  ): Promise<{ system: string; user: string; tokens: number; context: TurnContext }> {
    const core = this.#core;
    const entries = core.store.get({
      runId: run.id,
      visibility: ["visible", "summarized"],
      order: "id",
    });
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
  async #summarizeToFit(
    run: RunRecord,
    loop: LoopRecord,
    turn: number,
    packet: { system: string; user: string; tokens: number; context: TurnContext },
    budget: { contextLength: number; ceiling: number },
  ): Promise<{ system: string; user: string; tokens: number; context: TurnContext }> {
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
        this.#core.store.batch(() => {
          for (const e of candidates) {
            if (freed >= excess) break;
            this.#core.store.set({ runId: run.id, path: e.path, visibility: to, writer: "system" });
            freed += Math.max(
              1,
              from === "visible" ? e.tokens - Math.ceil(e.tokens / 10) : e.tokens,
            );
          }
        });
        packet = await this.#assemble(run, loop, turn, true, budget);
      }
    }
    return packet;
  }

  /** Post-dispatch: if what is visible would overflow next turn, this turn's entries step down to summarized. */
  #demoteTurn(run: RunRecord, turn: number, ceiling: number): void {
    const store = this.#core.store;
    const visible = store.get({ runId: run.id, visibility: "visible", includeBody: false });
    let total = visible.reduce((n, e) => n + e.tokens, 0);
    if (total <= ceiling) return;
    const mine = visible
      .filter((e) => e.turn === turn && !e.path.startsWith("prompt://"))
      .sort((a, b) => b.tokens - a.tokens);
    store.batch(() => {
      for (const e of mine) {
        if (total <= ceiling) break;
        store.set({ runId: run.id, path: e.path, visibility: "summarized", writer: "system" });
        total -= e.tokens;
      }
    });
  }

  /** Records each command at `log://turn_N/{action}/{slug}` before anything runs. */
  #record(
    run: RunRecord,
    loop: LoopRecord,
    turn: number,
    commands: readonly ParsedCommand[],
  ): { path: string; call: ToolCall }[] {
    const used = new Set<string>();
    const out: { path: string; call: ToolCall }[] = [];
    this.#core.store.batch(() => {
      commands.forEach((command, index) => {
        const base = `log://turn_${turn}/${command.name}/${slugOf(command.attributes.path ?? command.body ?? command.name)}`;
        let path = base;
        for (let n = 2; used.has(path); n++) path = `${base}_${n}`;
        used.add(path);
        this.#core.store.set({
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

  /** Runs commands in emitted order; the first failure aborts the rest. */
  async #dispatch(
    run: RunRecord,
    loop: LoopRecord,
    turn: number,
    calls: readonly { path: string; call: ToolCall }[],
    active: ActiveRun,
  ): Promise<{ failures: number }> {
    const core = this.#core;
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
        this.#errorEntry(run, loop, turn, call.name, refusal, "403");
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
        this.#errorEntry(
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
        await this.#awaitProposal(run, loop, turn, entry, active);
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
      await this.#emit(ENGINE_EVENTS.runState, {
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

  /**
   * The model's next turn must see what its commands printed: waits until no
   * entry this turn started is still `streaming` (a producer finished it),
   * for at most RUMMY_COMMAND_WAIT seconds. Whatever is still running then
   * is announced (`turn.commands_running`) so its plugin can tell the model
   * it is still running; it keeps running and later turns do not wait again.
   */
  async #awaitCommands(
    run: RunRecord,
    loop: LoopRecord,
    turn: number,
    signal: AbortSignal,
  ): Promise<void> {
    const store = this.#core.store;
    const running = () =>
      store
        .get({ runId: run.id, state: "streaming", includeBody: false })
        .filter((e) => e.turn === turn);
    if (running().length === 0 || signal.aborted) return;
    const waitMs = (this.#config.RUMMY_COMMAND_WAIT as number) * 1000;
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
    await this.#emit(ENGINE_EVENTS.commandsRunning, {
      projectId: run.projectId,
      runId: run.id,
      alias: run.alias,
      loopId: loop.id,
      turn,
      paths: still.map((e) => e.path),
      waitedMs: Date.now() - startedAt,
    } satisfies CommandsRunningEvent);
  }

  /** Blocks dispatch until the proposal is resolved (auto-accepted under yolo). */
  async #awaitProposal(
    run: RunRecord,
    loop: LoopRecord,
    turn: number,
    entry: Entry,
    active: ActiveRun,
  ): Promise<void> {
    if (loop.flags.yolo) {
      await this.#applyResolution(run, entry, { decision: "accept" });
      return;
    }
    if (loop.flags.noProposals) {
      await this.#applyResolution(run, entry, {
        decision: "reject",
        body: "proposals are turned off for this run",
      });
      return;
    }
    const key = `${run.id}:${entry.path}`;
    let resolveDecision!: (r: ProposalResolution) => void;
    const decision = new Promise<ProposalResolution>((r) => (resolveDecision = r));
    let finish!: (w: WriteResult) => void;
    let fail!: (e: unknown) => void;
    const done = new Promise<WriteResult>((res, rej) => {
      finish = res;
      fail = rej;
    });
    done.catch(() => {});
    this.#proposals.set(key, { resolve: resolveDecision, done });
    const onAbort = () =>
      resolveDecision({ decision: "reject", body: abortReason(active.controller.signal) });
    active.controller.signal.addEventListener("abort", onAbort, { once: true });
    this.#setRunStatus(this.#mustRun(run.id), 202, null, loop.id, turn);
    active.waitingOnProposal = true;
    for (const w of active.settleWaiters.splice(0)) w();
    await this.#emit(ENGINE_EVENTS.runProposal, {
      projectId: run.projectId,
      runId: run.id,
      alias: run.alias,
      loopId: loop.id,
      turn,
      path: entry.path,
      action: String(entry.attributes.action ?? entry.path.split("/")[3] ?? ""),
      attributes: entry.attributes,
      body: entry.body,
    });
    const resolution = await decision;
    active.controller.signal.removeEventListener("abort", onAbort);
    active.waitingOnProposal = false;
    try {
      const result = await this.#applyResolution(run, entry, resolution);
      finish(result);
    } catch (error) {
      fail(error);
    } finally {
      this.#proposals.delete(key);
    }
    if (!active.controller.signal.aborted)
      this.#setRunStatus(this.#mustRun(run.id), 102, null, loop.id, turn);
  }

  /** Accept: resolved, then `proposal.accepted` subscribers do the work. Reject: failed with 403. */
  async #applyResolution(
    run: RunRecord,
    entry: Entry,
    resolution: ProposalResolution,
  ): Promise<WriteResult> {
    const store = this.#core.store;
    const accepted = resolution.decision === "accept";
    const attributes = {
      ...resolution.attributes,
      ...(resolution.body !== undefined ? { resolution: resolution.body } : {}),
    };
    let result = store.set({
      runId: run.id,
      path: entry.path,
      state: accepted ? "resolved" : "failed",
      outcome: accepted ? null : "rejected:403",
      ...(Object.keys(attributes).length ? { attributes } : {}),
      writer: "system",
    });
    const fresh = store.getOne({ runId: run.id }, entry.path) ?? entry;
    const event: ProposalEvent = {
      projectId: run.projectId,
      runId: run.id,
      alias: run.alias,
      loopId: fresh.loopId ?? 0,
      turn: fresh.turn ?? 0,
      path: entry.path,
      action: String(fresh.attributes.action ?? entry.path.split("/")[3] ?? ""),
      attributes: fresh.attributes,
      body: fresh.body,
      resolution,
    };
    try {
      await this.#core.hooks.emit(
        accepted ? ENGINE_EVENTS.proposalAccepted : ENGINE_EVENTS.proposalRejected,
        event,
      );
    } catch (error) {
      const message =
        error instanceof AggregateError
          ? error.errors.map(errorMessage).join("; ")
          : errorMessage(error);
      result = store.set({
        runId: run.id,
        path: entry.path,
        state: "failed",
        outcome: "500",
        attributes: { error: message },
        writer: "system",
      });
    }
    return result;
  }

  #finishLoop(run: RunRecord, loop: LoopRecord, status: number, reason: string | null): void {
    const final = TERMINAL_RUN_STATUSES.has(status) ? status : 500;
    this.#core.loops.setStatus(loop.id, final, reason);
    const current = this.#mustRun(run.id);
    // A run whose next loop is queued stays running; otherwise it takes the loop's verdict.
    this.#setRunStatus(current, final, reason, loop.id, null);
  }

  #setRunStatus(
    run: RunRecord,
    status: number,
    reason: string | null,
    loopId: number | null,
    turn: number | null,
  ): RunRecord {
    const updated = run.status === status ? run : this.#core.runs.setStatus(run.id, status);
    void this.#emit(ENGINE_EVENTS.runState, {
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

  #errorEntry(
    run: RunRecord,
    loop: LoopRecord,
    turn: number,
    kind: string,
    message: string,
    code: string,
  ): void {
    const base = `log://turn_${turn}/error/${slugOf(kind)}`;
    let path = base;
    for (let n = 2; this.#core.store.getOne({ runId: run.id }, path); n++) path = `${base}_${n}`;
    this.#core.store.set({
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

  async #contextLength(resolved: ResolvedModel, signal: AbortSignal): Promise<number> {
    if (resolved.contextLength) return resolved.contextLength;
    const key = `${resolved.provider.name}/${resolved.model}`;
    const cached = this.#contextCache.get(key);
    if (cached) return cached;
    let length: number | null = null;
    try {
      length = (await resolved.provider.contextLength?.(resolved.model, signal)) ?? null;
    } catch (error) {
      this.#core.log.debug(`context length of ${key} unknown: ${errorMessage(error)}`);
    }
    const value = length ?? (this.#config.RUMMY_CONTEXT_DEFAULT as number);
    this.#contextCache.set(key, value);
    return value;
  }

  async #emit(event: string, payload: unknown): Promise<void> {
    try {
      await this.#core.hooks.emit(event, payload);
    } catch {
      // Subscriber failures are reported by the hooks; the loop goes on.
    }
  }

  #mustRun(runId: number): RunRecord {
    const run = this.#core.runs.get(runId);
    if (!run) throw new RummyError(404, `run ${runId} not found`);
    return run;
  }
}

/** An entry as the model sees it at its visibility: the scheme's renderer, else the body (visible) or nothing (summarized). */
export function renderEntry(core: RummyCore, entry: Entry): string {
  const scheme = core.schemes.get(entry.scheme);
  if (entry.visibility === "summarized") {
    const render = scheme?.render.summarized;
    return render
      ? render(entry)
      : typeof entry.attributes.summary === "string"
        ? entry.attributes.summary
        : "";
  }
  const render = scheme?.render.visible;
  return render ? render(entry) : entry.body;
}

function abortReason(signal: AbortSignal): string {
  const reason = signal.reason;
  return reason instanceof Error
    ? reason.message
    : typeof reason === "string"
      ? reason
      : "cancelled";
}
