import { type EntryStore, type StoreChange, schemeOf } from "@rummy/core";

/** Count and full tokens of a run's archived entries of one scheme. */
export interface SchemeTotal {
  count: number;
  tokens: number;
}

/** One archived path of a run (a run may see more than one entry at a path: they are summed). */
interface ArchivedPath {
  readonly scheme: string;
  readonly count: number;
  readonly tokens: number;
}

/** What one run has archived, by path and by scheme, and the paths changed since it was last read. */
export class RunArchive {
  readonly runId: number;
  readonly projectId: number;
  readonly paths = new Map<string, ArchivedPath>();
  readonly totals = new Map<string, SchemeTotal>();
  /** Paths whose archived state a change notice may have moved since the last refresh: re-read before use. */
  readonly dirty = new Set<string>();

  constructor(runId: number, projectId: number) {
    this.runId = runId;
    this.projectId = projectId;
  }

  /** The archived entry at `path`, if the run holds one. */
  get(path: string): ArchivedPath | undefined {
    return this.paths.get(path);
  }

  set(path: string, value: ArchivedPath | undefined): void {
    const old = this.paths.get(path);
    if (old) {
      const total = this.totals.get(old.scheme)!;
      total.count -= old.count;
      total.tokens -= old.tokens;
      if (total.count === 0) this.totals.delete(old.scheme);
      this.paths.delete(path);
    }
    if (value) {
      this.paths.set(path, value);
      const total = this.totals.get(value.scheme) ?? { count: 0, tokens: 0 };
      total.count += value.count;
      total.tokens += value.tokens;
      this.totals.set(value.scheme, total);
    }
  }
}

/** Re-reading this many changed paths one by one costs about what reading the whole archive once does. */
const REREAD_PER_REBUILD = 10;

/**
 * The archived entries of recent runs, kept current from the store's change
 * notices so a turn's record costs what changed since the last turn, not the
 * run's history. Each run is read whole once per process (when first asked
 * for, or after a notice that its views changed wholesale); after that a
 * notice only marks a path, and the next `of(run)` re-reads the marked paths.
 * Least recently used runs are let go past `maxPaths` cached paths in all.
 */
export class ArchiveCache {
  readonly #store: EntryStore;
  readonly #excluded: (scheme: string) => boolean;
  readonly #maxPaths: number;
  /** Oldest use first (a Map keeps insertion order; a use re-inserts). */
  readonly #runs = new Map<number, RunArchive>();
  readonly #byProject = new Map<number, Set<RunArchive>>();
  #cachedPaths = 0;

  /** `excluded`: schemes left out of the totals (the audit records themselves). */
  constructor(store: EntryStore, excluded: (scheme: string) => boolean, maxPaths = 500_000) {
    this.#store = store;
    this.#excluded = excluded;
    this.#maxPaths = maxPaths;
  }

  /** A committed store change: marks the paths whose archived state may have moved. */
  notice(change: StoreChange): void {
    if (this.#runs.size === 0) return;
    if (change.path === "*") {
      // A run inherited a whole view set at once: read it again when next asked.
      if (change.runId !== null) this.drop(change.runId);
      else this.clear();
      return;
    }
    const path = change.path;
    if (this.#excluded(schemeOf(path))) return;
    // A path the run does not hold archived (and that is not marked already) stays out of its
    // totals unless this very change archives it in the run's own view: anything else (a new
    // visible entry, a body or state change, a removal) cannot move them.
    const own = change.runId !== null ? this.#runs.get(change.runId) : undefined;
    if (own && (own.paths.has(path) || (change.op === "set" && change.visibility === "archived")))
      own.dirty.add(path);
    if (change.scope.startsWith("run:")) {
      if (change.runId === null) {
        const run = this.#runs.get(Number(change.scope.slice("run:".length)));
        if (run?.paths.has(path)) run.dirty.add(path);
      }
      return;
    }
    // Shared content (a project's file, a global entry) changed or went away: another run's
    // archived totals move only if it holds that path archived; its views change under its own id.
    const others =
      change.scope === "global"
        ? this.#runs.values()
        : (this.#byProject.get(Number(change.scope.slice("project:".length)))?.values() ?? []);
    for (const run of others) {
      if (run !== own && run.paths.has(path)) run.dirty.add(path);
    }
  }

  /** The store's external version when the cached archives were last known good. */
  #version: number | undefined;

  /** The run's archive, brought up to date with the store. */
  of(runId: number, projectId: number): RunArchive {
    // Inside a transaction the store may hold writes that have sent no notice yet and may roll
    // back: answer from the store and keep nothing.
    if (this.#store.inTransaction) return this.#read(runId, projectId);
    // Another process wrote to the database: its writes sent no notices here.
    const version = this.#store.externalVersion();
    if (version !== this.#version) {
      this.clear();
      this.#version = version;
    }
    let run = this.#runs.get(runId);
    if (run) {
      this.#runs.delete(runId);
      this.#runs.set(runId, run);
      if (run.dirty.size > 0) {
        if (run.dirty.size > 1000 && run.dirty.size * REREAD_PER_REBUILD > run.paths.size) {
          this.drop(runId);
          run = this.#build(runId, projectId);
        } else {
          this.#cachedPaths -= run.paths.size;
          for (const path of run.dirty) this.#reread(run, path);
          this.#cachedPaths += run.paths.size;
          run.dirty.clear();
        }
      }
    } else {
      run = this.#build(runId, projectId);
    }
    this.#evict(run);
    return run;
  }

  /** Forgets a run (it is read whole again when next asked for). */
  drop(runId: number): void {
    const run = this.#runs.get(runId);
    if (!run) return;
    this.#runs.delete(runId);
    this.#cachedPaths -= run.paths.size;
    const siblings = this.#byProject.get(run.projectId);
    siblings?.delete(run);
    if (siblings?.size === 0) this.#byProject.delete(run.projectId);
  }

  clear(): void {
    this.#runs.clear();
    this.#byProject.clear();
    this.#cachedPaths = 0;
  }

  #build(runId: number, projectId: number): RunArchive {
    const run = this.#read(runId, projectId);
    this.#runs.set(runId, run);
    let siblings = this.#byProject.get(projectId);
    if (!siblings) {
      siblings = new Set();
      this.#byProject.set(projectId, siblings);
    }
    siblings.add(run);
    this.#cachedPaths += run.paths.size;
    return run;
  }

  /** A run's archive read whole from the store, not kept. */
  #read(runId: number, projectId: number): RunArchive {
    const run = new RunArchive(runId, projectId);
    for (const [path, archived] of this.#archived(runId)) run.set(path, archived);
    return run;
  }

  #reread(run: RunArchive, path: string): void {
    run.set(path, this.#archived(run.runId, path).get(path));
  }

  /**
   * The run's archived entries (at one path, or all), summed per path. Sizes only — no bodies,
   * attributes or whole entries: a long run's first turn here reads its whole archive, and at
   * 100k entries that is the difference between ~400 ms and ~100 ms.
   */
  #archived(runId: number, path?: string): Map<string, ArchivedPath> {
    const out = new Map<string, ArchivedPath>();
    const query = {
      runId,
      visibility: "archived" as const,
      ...(path !== undefined ? { path } : {}),
    };
    for (const e of this.#store.sizes(query)) {
      if (this.#excluded(e.scheme)) continue;
      const had = out.get(e.path);
      out.set(e.path, {
        scheme: e.scheme,
        count: (had?.count ?? 0) + 1,
        tokens: (had?.tokens ?? 0) + e.tokens,
      });
    }
    return out;
  }

  /** Lets the least recently used runs go while over the bound (never the one in use). */
  #evict(keep: RunArchive): void {
    for (const run of this.#runs.values()) {
      if (this.#cachedPaths <= this.#maxPaths) return;
      if (run !== keep) this.drop(run.runId);
    }
  }
}
