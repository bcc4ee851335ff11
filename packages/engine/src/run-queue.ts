import {
  errorMessage,
  type LoopFlags,
  type LoopRecord,
  RummyError,
  type RunRecord,
  type RunRequest,
  TERMINAL_RUN_STATUSES,
} from "@rummy/core";
import type { ActiveRun } from "./active-run.js";
import { emit, mustRun, setRunStatus } from "./bookkeeping.js";
import type { LoopDeps } from "./deps.js";
import { runLoop } from "./loop.js";

/**
 * The run queue. Loops are rows (`core.loops`), so an acknowledged prompt
 * survives a restart; each run drains its queue in the background, one loop
 * at a time, in the order they were queued. Forks copy a run's view;
 * cancelling ends the running loop and every queued one at 499.
 */
export class RunQueue {
  readonly #deps: LoopDeps;
  readonly #active = new Map<number, ActiveRun>();

  constructor(deps: LoopDeps) {
    this.#deps = deps;
  }

  submit(request: RunRequest): { run: RunRecord; loop: LoopRecord } {
    const core = this.#deps.core;
    this.checkFlags(request.flags ?? {});
    const prompt = String(request.prompt ?? "");
    let run = request.alias ? core.runs.byAlias(request.projectId, request.alias) : undefined;
    if (!run) {
      run = core.runs.create({
        projectId: request.projectId,
        ...(request.alias ? { alias: request.alias } : {}),
        model: request.model ?? null,
        ...(request.attributes ? { attributes: request.attributes } : {}),
      });
    } else if (request.model && request.model !== run.model) {
      run = core.runs.update(run.id, { model: request.model });
    }
    const loop = core.loops.enqueue({
      runId: run.id,
      mode: request.mode,
      prompt,
      model: request.model ?? run.model,
      flags: request.flags ?? {},
    });
    this.ensureDraining(run.id);
    return { run, loop };
  }

  checkFlags(flags: LoopFlags): void {
    if (flags.yolo && !this.#yoloAllowed)
      throw new RummyError(
        403,
        "yolo (server-side execution) is off on this server; start it with RUMMY_ALLOW_YOLO=1 to allow it",
      );
  }

  get #yoloAllowed(): boolean {
    return this.#deps.config.RUMMY_ALLOW_YOLO === true;
  }

  /**
   * A loop queued with yolo on a server that no longer allows it (restarted without the opt-in)
   * runs without it: its proposals wait for a client instead of being accepted.
   */
  #withAllowedFlags(loop: LoopRecord): LoopRecord {
    if (!loop.flags.yolo || this.#yoloAllowed) return loop;
    this.#deps.core.log.warn(
      `run ${loop.runId} loop ${loop.sequence}: queued with yolo, which this server does not allow (RUMMY_ALLOW_YOLO); its proposals wait for a client`,
    );
    return this.#deps.core.loops.setFlags(loop.id, { ...loop.flags, yolo: false });
  }

  /** Queues a loop with no prompt that continues the run as its last loop did (after an orphan proposal). */
  continueRun(run: RunRecord): void {
    const core = this.#deps.core;
    const last = core.loops.list(run.id).at(-1);
    core.loops.enqueue({
      runId: run.id,
      mode: last?.mode ?? "ask",
      prompt: "",
      model: last?.model ?? run.model,
      flags: last?.flags ?? {},
    });
    this.ensureDraining(run.id);
  }

  fork(runId: number, alias?: string): RunRecord {
    const core = this.#deps.core;
    const parent = mustRun(core, runId);
    const child = core.runs.create({
      projectId: parent.projectId,
      ...(alias ? { alias } : {}),
      model: parent.model,
      parentRunId: parent.id,
      attributes: { ...parent.attributes, forkedFrom: parent.alias },
    });
    // The child starts from the parent's view: run-owned content is copied, shared content gets a
    // view — the views the parent inherited unchanged are inherited by the child too, not copied.
    const entries = core.store.get({ runId: parent.id, order: "id" });
    core.store.batch(() => {
      const inherited = core.store.sharedOnly(parent.id);
      for (const e of entries) {
        if (inherited.has(e.id)) continue;
        const unfinished = e.state === "proposed" || e.state === "streaming";
        core.store.set({
          runId: child.id,
          path: e.path,
          ...(e.scope.startsWith("run:") ? { body: e.body, attributes: e.attributes } : {}),
          state: unfinished ? "cancelled" : (e.state ?? "resolved"),
          outcome: unfinished ? "forked before it finished" : e.outcome,
          visibility: e.visibility ?? "visible",
          turn: 0,
          writer: "system",
        });
      }
      core.store.shareViews(parent.id, child.id, 0, "system");
    });
    return child;
  }

  async cancel(runId: number, reason = "cancelled"): Promise<void> {
    const core = this.#deps.core;
    const run = mustRun(core, runId);
    for (const loop of core.loops.list(runId)) {
      if (loop.status === 100) core.loops.setStatus(loop.id, 499, reason);
    }
    this.#deps.proposals.rejectAll(runId, reason);
    // Plugins running work for this run (yolo's processes) stop it before the loop winds down.
    await emit(core, "run.cancelling", {
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
      setRunStatus(core, run, 499, reason, null, null);
    }
  }

  settled(runId: number): Promise<RunRecord> {
    const core = this.#deps.core;
    const active = this.#active.get(runId);
    if (!active || active.waitingOnProposal) return Promise.resolve(mustRun(core, runId));
    return new Promise((resolve) => active.settleWaiters.push(() => resolve(mustRun(core, runId))));
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
    const core = this.#deps.core;
    let interrupted = 0;
    let resumed = 0;
    for (const project of core.projects.list()) {
      for (const run of core.runs.list(project.id)) {
        if (this.#active.has(run.id)) continue;
        for (const loop of core.loops.list(run.id)) {
          if (loop.status === 102) core.loops.setStatus(loop.id, 500, "interrupted by a restart");
        }
        if (run.status === 102) {
          const pending =
            core.store.get({ runId: run.id, state: "proposed", includeBody: false }).length > 0;
          core.runs.setStatus(run.id, pending ? 202 : 500);
          interrupted++;
        }
        if (core.loops.next(run.id)) {
          this.ensureDraining(run.id);
          resumed++;
        }
      }
    }
    return { interrupted, resumed };
  }

  /** Aborts every running loop and waits for them to wind down. */
  async shutdown(): Promise<void> {
    const running = [...this.#active.values()];
    for (const active of running) active.controller.abort(new Error("the server is shutting down"));
    await Promise.all(running.map((a) => a.drained));
  }

  /** Starts draining the run's queue unless it already is. */
  ensureDraining(runId: number): void {
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
        .catch((error) => this.#deps.core.log.error(`run ${runId}: ${errorMessage(error)}`))
        .finally(() => {
          this.#active.delete(runId);
          resolveDrained();
          for (const w of settleWaiters.splice(0)) w();
        });
    });
  }

  async #drain(runId: number, active: ActiveRun): Promise<void> {
    const core = this.#deps.core;
    for (let loop = core.loops.next(runId); loop; loop = core.loops.next(runId)) {
      if (active.controller.signal.aborted) {
        core.loops.setStatus(loop.id, 499, "cancelled");
        continue;
      }
      await runLoop(this.#deps, mustRun(core, runId), this.#withAllowedFlags(loop), active);
    }
  }
}
