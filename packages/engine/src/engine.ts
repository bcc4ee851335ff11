import {
  type ConfigValues,
  type Engine,
  type LoopFlags,
  type LoopRecord,
  type ProposalResolution,
  type RummyCore,
  RummyError,
  type RunRecord,
  type RunRequest,
  readConfig,
  TERMINAL_RUN_STATUSES,
  type ToolInvocation,
  type WriteResult,
} from "@rummy/core";
import { mustRun } from "./bookkeeping.js";
import { Budgets } from "./budget.js";
import { ENGINE_CONFIG } from "./config.js";
import type { LoopDeps } from "./deps.js";
import { invokeTool } from "./invoke.js";
import { Pacer } from "./pacer.js";
import { Proposals } from "./proposals.js";
import { RunQueue } from "./run-queue.js";
import { ShownEntries } from "./shown.js";

/**
 * The agent loop. Loops run in the background, one at a time per run, in
 * the order they were queued (run-queue.ts). A turn (turn.ts) assembles the
 * prompt from the run's visible entries through plugin filters (assembly.ts)
 * under the budget (budget.ts), calls the model, parses (parser.ts) and
 * records its commands, dispatches them to tool plugins in order
 * (dispatch.ts), blocking on proposals (proposals.ts), waits for the
 * commands it started (commands.ts), and rules on whether to continue
 * (verdict.ts). This class only wires those parts together.
 */
export class AgentEngine implements Engine {
  readonly #deps: LoopDeps;
  readonly #queue: RunQueue;

  /** `config`: ENGINE_CONFIG's values; default read from the core's environment. */
  constructor(
    core: RummyCore,
    config: Readonly<ConfigValues> = readConfig(ENGINE_CONFIG, core.env),
  ) {
    this.#deps = {
      core,
      config,
      pacer: new Pacer(),
      proposals: new Proposals(core),
      budgets: new Budgets(
        core,
        config.RUMMY_BUDGET_CEILING as number,
        config.RUMMY_CONTEXT_DEFAULT as number,
      ),
      shown: new ShownEntries(core),
    };
    this.#queue = new RunQueue(this.#deps);
  }

  get config(): Readonly<ConfigValues> {
    return this.#deps.config;
  }

  submit(request: RunRequest): { run: RunRecord; loop: LoopRecord } {
    return this.#queue.submit(request);
  }

  checkFlags(flags: LoopFlags): void {
    this.#queue.checkFlags(flags);
  }

  fork(runId: number, alias?: string): RunRecord {
    return this.#queue.fork(runId, alias);
  }

  cancel(runId: number, reason?: string): Promise<void> {
    return this.#queue.cancel(runId, reason);
  }

  async resolve(runId: number, path: string, resolution: ProposalResolution): Promise<WriteResult> {
    const core = this.#deps.core;
    const run = mustRun(core, runId);
    const entry = core.store.getOne({ runId }, path);
    if (!entry) throw new RummyError(404, `no entry at '${path}' in run ${run.alias}`);
    if (entry.state !== "proposed")
      throw new RummyError(409, `'${path}' is not a pending proposal (state ${entry.state})`);
    const blocked = this.#deps.proposals.decide(runId, path, resolution);
    if (blocked) return blocked;
    // An orphan: its loop ended (a restart, a cancelled client). Apply it, then let the run go on.
    const result = await this.#deps.proposals.apply(run, entry, resolution);
    if (!this.#queue.isActive(runId) && !TERMINAL_RUN_STATUSES.has(mustRun(core, runId).status)) {
      if (!core.store.get({ runId, state: "proposed", includeBody: false }).length)
        this.#queue.continueRun(run);
    }
    return result;
  }

  invokeTool(runId: number, command: ToolInvocation): Promise<WriteResult> {
    return invokeTool(this.#deps.core, runId, command);
  }

  settled(runId: number): Promise<RunRecord> {
    return this.#queue.settled(runId);
  }

  isActive(runId: number): boolean {
    return this.#queue.isActive(runId);
  }

  recover(): { interrupted: number; resumed: number } {
    return this.#queue.recover();
  }

  shutdown(): Promise<void> {
    return this.#queue.shutdown();
  }
}
