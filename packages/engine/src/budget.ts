import {
  type Entry,
  errorMessage,
  type ResolvedModel,
  type RummyCore,
  type RunRecord,
} from "@rummy/core";

/** A turn's token budget: the model's context window and the share of it a prompt may use. */
export interface Budget {
  readonly contextLength: number;
  readonly ceiling: number;
}

/**
 * The budget side of a turn. The context window comes from the resolved
 * model, else the provider (asked once per model), else RUMMY_CONTEXT_DEFAULT;
 * the ceiling is RUMMY_BUDGET_CEILING of it.
 */
export class Budgets {
  readonly #core: RummyCore;
  readonly #share: number;
  readonly #defaultLength: number;
  readonly #contextCache = new Map<string, number>();

  constructor(core: RummyCore, share: number, defaultLength: number) {
    this.#core = core;
    this.#share = share;
    this.#defaultLength = defaultLength;
  }

  async of(resolved: ResolvedModel, signal: AbortSignal): Promise<Budget> {
    const contextLength = await this.#contextLength(resolved, signal);
    return { contextLength, ceiling: Math.floor(contextLength * this.#share) };
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
    const value = length ?? this.#defaultLength;
    this.#contextCache.set(key, value);
    return value;
  }
}

/**
 * The paths whose view a run may have changed since a turn began: its own writes, and any write to
 * content it can share (project or global scope). With the turn's assembled entries, that gives
 * what is visible now without reading every visible entry again.
 */
export class TurnChanges {
  readonly #runId: number;
  readonly #paths = new Set<string>();
  #unknown = false;
  readonly stop: () => void;

  constructor(core: RummyCore, runId: number) {
    this.#runId = runId;
    this.stop = core.store.observe((change) => {
      if (change.runId !== runId && change.scope.startsWith("run:")) return;
      // A glob path (a whole shared view set) names no one entry: count from the store again.
      if (/[*?[]/.test(change.path)) this.#unknown = true;
      else this.#paths.add(change.path);
    });
  }

  /**
   * Tokens of the run's visible entries now, from `entries` (all its visible and summarized
   * entries, read after this watch began) with the changed paths read again; null when a change
   * could not be followed.
   */
  visibleTokens(core: RummyCore, entries: readonly Entry[]): number | null {
    if (this.#unknown) return null;
    let total = 0;
    for (const e of entries) {
      if (e.visibility === "visible" && !this.#paths.has(e.path)) total += e.tokens;
    }
    for (const path of this.#paths) {
      for (const e of core.store.get({
        runId: this.#runId,
        path,
        visibility: "visible",
        includeBody: false,
      }))
        total += e.tokens;
    }
    return total;
  }
}

/**
 * Post-dispatch: if what is visible would overflow next turn, this turn's entries step down to
 * summarized. `known`: the visible total when the caller could follow it (else it is read).
 */
export function demoteTurn(
  core: RummyCore,
  run: RunRecord,
  turn: number,
  ceiling: number,
  known: number | null = null,
): void {
  if (known !== null && known <= ceiling) return;
  const store = core.store;
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
