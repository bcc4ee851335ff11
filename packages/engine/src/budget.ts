import { errorMessage, type ResolvedModel, type RummyCore, type RunRecord } from "@rummy/core";
import type { ShownEntries } from "./shown.js";

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
 * Post-dispatch: if what is visible would overflow next turn, this turn's entries step down to
 * summarized. The total comes from the shown entries (kept up to date, so no read of every
 * visible entry each turn); only a turn that must demote reads them from the store.
 */
export function demoteTurn(
  core: RummyCore,
  run: RunRecord,
  turn: number,
  ceiling: number,
  shown: ShownEntries,
): void {
  let shownTotal = 0;
  for (const e of shown.read(run.id)) if (e.visibility === "visible") shownTotal += e.tokens;
  if (shownTotal <= ceiling) return;
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
