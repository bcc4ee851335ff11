/** A run whose loops are running or queued: what cancelling it, settling on it and proposals need. */
export interface ActiveRun {
  /** Aborts the provider call, the dispatch and every queued loop of the run. */
  readonly controller: AbortController;
  /** Resolves when the run's queue is drained (its last loop finished). */
  readonly drained: Promise<void>;
  /** True while dispatch is blocked on a proposal: the run counts as settled then. */
  waitingOnProposal: boolean;
  /** `settled()` callers, woken when the run drains or starts waiting on a proposal. */
  readonly settleWaiters: (() => void)[];
}

/** Why a signal was aborted, as a sentence for the run's reason. */
export function abortReason(signal: AbortSignal): string {
  const reason = signal.reason;
  return reason instanceof Error
    ? reason.message
    : typeof reason === "string"
      ? reason
      : "cancelled";
}
