import {
  ENGINE_EVENTS,
  type Entry,
  errorMessage,
  type LoopRecord,
  type ProposalEvent,
  type ProposalResolution,
  type RummyCore,
  type RunRecord,
  type WriteResult,
} from "@rummy/core";
import { type ActiveRun, abortReason } from "./active-run.js";
import { emit, mustRun, setRunStatus } from "./bookkeeping.js";

interface PendingProposal {
  readonly resolve: (resolution: ProposalResolution) => void;
  readonly done: Promise<WriteResult>;
}

/**
 * Proposals: a tool handler that needs approval leaves its entry `proposed`;
 * dispatch blocks on it (the run at 202) until a client resolves it, or it is
 * decided at once (`yolo` accepts, `noProposals` rejects). Resolving applies
 * the decision to the entry and lets `proposal.accepted` subscribers do the
 * side effect. Pending ones are keyed `runId:path`.
 */
export class Proposals {
  readonly #core: RummyCore;
  readonly #pending = new Map<string, PendingProposal>();

  constructor(core: RummyCore) {
    this.#core = core;
  }

  /** Hands a client's decision to the turn blocked on this proposal; its result once applied. Undefined when none waits. */
  decide(
    runId: number,
    path: string,
    resolution: ProposalResolution,
  ): Promise<WriteResult> | undefined {
    const pending = this.#pending.get(`${runId}:${path}`);
    if (!pending) return undefined;
    pending.resolve(resolution);
    return pending.done;
  }

  /** Rejects every proposal a turn of the run is blocked on (the run is being cancelled). */
  rejectAll(runId: number, reason: string): void {
    for (const [key, pending] of this.#pending) {
      if (key.startsWith(`${runId}:`)) pending.resolve({ decision: "reject", body: reason });
    }
  }

  /** Blocks dispatch until the proposal is resolved (auto-accepted under yolo). */
  async await(
    run: RunRecord,
    loop: LoopRecord,
    turn: number,
    entry: Entry,
    active: ActiveRun,
  ): Promise<void> {
    const core = this.#core;
    if (loop.flags.yolo) {
      await this.apply(run, entry, { decision: "accept" });
      return;
    }
    if (loop.flags.noProposals) {
      await this.apply(run, entry, {
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
    this.#pending.set(key, { resolve: resolveDecision, done });
    const onAbort = () =>
      resolveDecision({ decision: "reject", body: abortReason(active.controller.signal) });
    active.controller.signal.addEventListener("abort", onAbort, { once: true });
    setRunStatus(core, mustRun(core, run.id), 202, null, loop.id, turn);
    active.waitingOnProposal = true;
    for (const w of active.settleWaiters.splice(0)) w();
    // Not awaited before the decision: a subscriber may itself resolve the proposal and await
    // the outcome (an auto-approver), which only comes once the decision below is taken.
    const announced = emit(core, ENGINE_EVENTS.runProposal, {
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
      const result = await this.apply(run, entry, resolution);
      finish(result);
    } catch (error) {
      fail(error);
    } finally {
      this.#pending.delete(key);
    }
    await announced;
    if (!active.controller.signal.aborted)
      setRunStatus(core, mustRun(core, run.id), 102, null, loop.id, turn);
  }

  /** Accept: resolved, then `proposal.accepted` subscribers do the work. Reject: failed with 403. */
  async apply(run: RunRecord, entry: Entry, resolution: ProposalResolution): Promise<WriteResult> {
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
}
