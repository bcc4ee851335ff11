import type { Db } from "../db/open.js";
import { RummyError } from "../errors.js";
import { schemeOf } from "../paths.js";
import { mayWrite, type SchemeRegistry } from "../schemes.js";
import type { Tokenizer } from "../tokens.js";
import type { Writer } from "../types.js";
import { forbidden, scopeFor } from "./rows.js";
import { prepareStatements, type Statements } from "./statements.js";
import type { Locus, StoreChange, StoreObserver, WriteResult } from "./types.js";

/** A statement built at run time from a query's clauses, read as arrays. */
export interface Query {
  all(...params: unknown[]): unknown[][];
}

/**
 * What the store's verbs share: the database and its statements, the scheme
 * rules, change observers and the batch they are held in, and the small
 * caches (a run's project, a view set's schemes, queries by shape).
 */
export class StoreContext {
  readonly db: Db;
  readonly schemes: SchemeRegistry;
  readonly tokenizer: Tokenizer;
  readonly stmt: Statements;
  /** A shared view set's schemes, which never change once the set is made. */
  readonly setSchemes = new Map<number, Set<string>>();
  readonly #observers = new Set<StoreObserver>();
  readonly #runProject = new Map<number, number>();
  readonly #queries = new Map<string, Query>();
  #pending: StoreChange[] | undefined;

  constructor(db: Db, schemes: SchemeRegistry, tokenizer: Tokenizer) {
    this.db = db;
    this.schemes = schemes;
    this.tokenizer = tokenizer;
    this.stmt = prepareStatements(db);
  }

  observe(observer: StoreObserver): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  externalVersion(): number {
    return this.stmt.dataVersion.get() as number;
  }

  /**
   * Runs `fn` in one transaction; observers hear of its changes once it committed. A nested
   * batch is a savepoint: its notices join the outer batch's only if it did not roll back.
   */
  batch<T>(fn: () => T): T {
    const pending: StoreChange[] = [];
    const previous = this.#pending;
    this.#pending = pending;
    let result: T;
    try {
      result = this.db.transaction(fn)();
    } finally {
      this.#pending = previous;
    }
    if (previous) for (const change of pending) previous.push(change);
    else this.#flush(pending);
    return result;
  }

  /** Whether a transaction is open: what a read sees now may still roll back. */
  get inTransaction(): boolean {
    return this.db.inTransaction;
  }

  notify(change: StoreChange): void {
    if (this.#pending) this.#pending.push(change);
    else this.#flush([change]);
  }

  #flush(changes: StoreChange[]): void {
    for (const change of changes) {
      for (const observer of this.#observers) {
        try {
          observer(change);
        } catch {
          // An observer's failure is its own; the write is already committed.
        }
      }
    }
  }

  /** Queries are built from a few optional clauses, so their shapes repeat: prepare each once. */
  prepared(sql: string): Query {
    let stmt = this.#queries.get(sql);
    if (!stmt) {
      if (this.#queries.size > 500) this.#queries.clear();
      stmt = this.db.prepare(sql).raw() as unknown as Query;
      this.#queries.set(sql, stmt);
    }
    return stmt;
  }

  /** The scope a path lands in for this locus, or a refusal. */
  access(
    path: string,
    writer: Writer,
    locus: Locus,
  ): { scope: string; runId: number | undefined } | { denied: WriteResult } {
    const schemeName = schemeOf(path);
    const scheme = this.schemes.get(schemeName);
    if (!scheme) {
      return {
        denied: {
          ok: false,
          status: 400,
          path,
          state: "failed",
          outcome: "scheme:400",
          error: `unknown scheme '${schemeName}'`,
        },
      };
    }
    if (!mayWrite(scheme, writer)) {
      return {
        denied: forbidden(
          path,
          writer,
          `${writer} may not write '${schemeName}://' entries (writable by ${scheme.writableBy.join(", ")})`,
        ),
      };
    }
    const runId = locus.runId;
    const projectId = runId !== undefined ? this.projectOf(runId) : locus.projectId;
    return { scope: scopeFor(scheme, runId, projectId), runId };
  }

  writable(schemeName: string, writer: Writer): boolean {
    const scheme = this.schemes.get(schemeName);
    return scheme !== undefined && mayWrite(scheme, writer);
  }

  projectOf(runId: number): number {
    let projectId = this.#runProject.get(runId);
    if (projectId === undefined) {
      projectId = this.stmt.runProject.get(runId) as number | undefined;
      if (projectId === undefined) throw new RummyError(404, `run ${runId} not found`);
      this.#runProject.set(runId, projectId);
    }
    return projectId;
  }
}
