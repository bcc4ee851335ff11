import type { Entry, RummyCore, StoreChange, Visibility } from "@rummy/core";

const SHOWN: readonly Visibility[] = ["visible", "summarized"];

/** A glob (a whole shared view set, `*`) names no one path: the run's entries are read again. */
const GLOB = /[*?[]/;

interface Held {
  entries: readonly Entry[];
  /** Paths written since `entries` was read. */
  readonly stale: Set<string>;
}

/**
 * The visible and summarized entries of the runs that took turns lately — what a turn shows the
 * model — kept between reads and brought up to date from the store's change notices: a read
 * after the first reads again only the paths written since, not every entry shown. A run's own
 * writes mark its paths; a write to shared content (project or global scope) marks the path for
 * every run held, since any of them may see it. The result is the store's own answer to
 * `get({ runId, visibility: ["visible", "summarized"], order: "id" })`; each read returns a new
 * array when anything changed, so a list handed out earlier never changes under its holder.
 * Writes by another connection send no notices: when the store's external version moves,
 * everything held is read again.
 */
export class ShownEntries {
  readonly #core: RummyCore;
  readonly #limit: number;
  /** Least recently read first. */
  readonly #held = new Map<number, Held>();

  /** `limit`: how many runs are held; the least recently read goes first. */
  constructor(core: RummyCore, limit = 32) {
    this.#core = core;
    this.#limit = limit;
    core.store.observe((change) => this.#notice(change));
  }

  /** The store's external version when the held lists were last known good. */
  #version: number | undefined;

  /** The run's visible and summarized entries, oldest (by id) first. */
  read(runId: number): readonly Entry[] {
    // Inside a transaction the store may hold writes not yet committed (no notice yet, and they
    // may roll back): answer from the store and keep nothing.
    if (this.#core.store.inTransaction) return this.#readAll(runId);
    // Another process (say `rummy acp` beside `rummy serve`) wrote to the database: its writes
    // sent no notices here, so nothing held can be trusted.
    const version = this.#core.store.externalVersion();
    if (version !== this.#version) {
      this.#held.clear();
      this.#version = version;
    }
    let held = this.#held.get(runId);
    if (held) {
      this.#held.delete(runId);
      if (held.stale.size > 0) held.entries = this.#refresh(runId, held);
    } else {
      held = { entries: this.#readAll(runId), stale: new Set() };
      if (this.#held.size >= this.#limit) {
        const oldest = this.#held.keys().next().value;
        if (oldest !== undefined) this.#held.delete(oldest);
      }
    }
    this.#held.set(runId, held);
    return held.entries;
  }

  #readAll(runId: number): readonly Entry[] {
    return this.#core.store.get({ runId, visibility: [...SHOWN], order: "id" });
  }

  #refresh(runId: number, held: Held): readonly Entry[] {
    const store = this.#core.store;
    const stale = held.stale;
    const kept = held.entries.filter((e) => !stale.has(e.path));
    let added = false;
    for (const path of stale) {
      for (const e of store.get({ runId, path, visibility: [...SHOWN] })) {
        kept.push(e);
        added = true;
      }
    }
    stale.clear();
    if (added) kept.sort((a, b) => a.id - b.id);
    return kept;
  }

  #notice(change: StoreChange): void {
    if (change.scope.startsWith("run:")) {
      // Run-scoped content is seen only through that run's views.
      if (change.runId !== null) this.#mark(change.runId, change.path);
      const owner = Number(change.scope.slice(4));
      if (owner !== change.runId) this.#mark(owner, change.path);
      return;
    }
    for (const runId of this.#held.keys()) this.#mark(runId, change.path);
  }

  #mark(runId: number, path: string): void {
    const held = this.#held.get(runId);
    if (!held) return;
    if (GLOB.test(path)) this.#held.delete(runId);
    else held.stale.add(path);
  }
}
