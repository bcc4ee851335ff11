import type { Db } from "./db/open.js";
import type { SchemeRegistry } from "./schemes.js";
import { StoreContext } from "./store/context.js";
import { get, getOne, newestPerRun, sizes } from "./store/read.js";
import type {
  CopyInput,
  EntrySize,
  GetQuery,
  Locus,
  RemoveInput,
  SetInput,
  SetPatternInput,
  SizesQuery,
  StoreObserver,
  WriteResult,
} from "./store/types.js";
import { shareViews, sharedOnly } from "./store/views.js";
import { addViews, copy, rm, set, setPattern } from "./store/write.js";
import type { Tokenizer } from "./tokens.js";
import type { Entry, Visibility, Writer } from "./types.js";

export type {
  CopyInput,
  EntrySize,
  GetQuery,
  Locus,
  RemoveInput,
  SetInput,
  SetPatternInput,
  SizesQuery,
  StoreChange,
  StoreObserver,
  WriteResult,
} from "./store/types.js";

/**
 * The entries store: every piece of model-facing state, addressed by path.
 * Content lives once per scope in `entries`; each run sees an entry through
 * its own row in `run_views` (state, outcome, visibility, turn, loop), or
 * through a shared view set (store/views.ts). All verbs are synchronous and
 * each is one transaction, so a write that returned is committed. The verbs
 * live by idea in store/: read.ts, write.ts, views.ts.
 */
export class EntryStore {
  readonly #ctx: StoreContext;

  constructor(db: Db, schemes: SchemeRegistry, tokenizer: Tokenizer) {
    this.#ctx = new StoreContext(db, schemes, tokenizer);
  }

  /** Subscribes to committed changes. Observers run synchronously after the commit; keep them cheap. */
  observe(observer: StoreObserver): () => void {
    return this.#ctx.observe(observer);
  }

  /**
   * A number that moves whenever another connection — another process on the same database, such
   * as `rummy acp` beside `rummy serve` — commits, and only then. Change notices cover this
   * process's writes; a cache kept from them is exact while this number stays the same.
   */
  externalVersion(): number {
    return this.#ctx.externalVersion();
  }

  /**
   * Whether a transaction is open (inside `batch`): what a read sees now may still roll back, and
   * its change notices have not been sent yet. A cache kept from notices reads around itself then.
   */
  get inTransaction(): boolean {
    return this.#ctx.inTransaction;
  }

  /**
   * Runs `fn` in one transaction: many writes, one commit. A nested call is a savepoint: if it
   * throws, its writes roll back and observers never hear of them, while the outer batch goes on.
   */
  batch<T>(fn: () => T): T {
    return this.#ctx.batch(fn);
  }

  /** Creates or updates one entry (and the run's view of it). */
  set(input: SetInput): WriteResult {
    return set(this.#ctx, input);
  }

  /** Changes state, outcome, visibility or attributes of every entry in the run's view matching `pattern`. */
  setPattern(input: SetPatternInput): WriteResult {
    return setPattern(this.#ctx, input);
  }

  /** Entries matching a query. Inside a run, only entries the run has a view of. */
  get(query: GetQuery): Entry[] {
    return get(this.#ctx, query);
  }

  /** Path, scheme, visibility and tokens of each match, unordered: totals over many entries. */
  sizes(query: SizesQuery): EntrySize[] {
    return sizes(this.#ctx, query);
  }

  /**
   * The newest (by id) run-owned entry matching `pattern` in each run of a project — what a list
   * of runs shows as each one's latest word — in one query, however many runs there are. Only id,
   * path and body: a list of a thousand runs should not pay for whole entries.
   */
  newestPerRun(
    projectId: number,
    pattern: string,
  ): Map<number, { readonly id: number; readonly path: string; readonly body: string }> {
    return newestPerRun(this.#ctx, projectId, pattern);
  }

  /** One entry by exact path, or undefined. */
  getOne(locus: Locus, path: string): Entry | undefined {
    return getOne(this.#ctx, locus, path);
  }

  /**
   * Removes entries. Inside a run this removes the run's view; content owned
   * by the run (scope `run:N`) is deleted with it, shared content stays for
   * the other runs and the project.
   */
  rm(input: RemoveInput): WriteResult {
    return rm(this.#ctx, input);
  }

  /** Copies an entry's body and attributes to a new path (in the destination scheme's scope). */
  cp(input: CopyInput): WriteResult {
    return copy(this.#ctx, input, false);
  }

  /** Renames an entry: a copy to the new path and removal of the old, in one transaction. */
  mv(input: CopyInput): WriteResult {
    return copy(this.#ctx, input, true);
  }

  /**
   * Gives a run views of many existing project (or global) entries at once, as `set` with only a
   * visibility would for each: state resolved, no outcome, the given turn and writer. A run's first
   * such batch is shared — runs given the same entries with the same visibilities point at one set
   * of rows — so a new run costs its own views, not the project's size. Paths the run already has
   * a view of, or that name no entry, go through `set` one by one.
   */
  addViews(input: {
    readonly runId: number;
    readonly views: readonly { readonly path: string; readonly visibility: Visibility }[];
    readonly turn?: number;
    readonly writer?: Writer;
  }): WriteResult {
    return addViews(this.#ctx, input);
  }

  /** The entries a run sees only through its shared views (it has no row of its own for them). */
  sharedOnly(runId: number): Set<number> {
    return sharedOnly(this.#ctx, runId);
  }

  /**
   * Gives a run the shared views another run inherited (a fork's start, or a new run's first look
   * when it is the same as an earlier run's), with the given turn and writer. Views of its own
   * still win over them. False when there is nothing to share or the run already has a shared set.
   */
  shareViews(fromRunId: number, toRunId: number, turn: number, writer: Writer): boolean {
    return shareViews(this.#ctx, fromRunId, toRunId, turn, writer);
  }
}
