import { errorMessage } from "./errors.js";

export type EventHandler<P = any> = (payload: P) => void | Promise<void>;
export type FilterHandler<V = any, C = any> = (value: V, context: C) => V | Promise<V>;

/** Default priority. Lower numbers run first; equal priorities run in subscription order. */
export const DEFAULT_PRIORITY = 100;

interface Subscription<F> {
  readonly fn: F;
  readonly priority: number;
  readonly order: number;
  readonly owner: string;
}

/** A failure inside one hook subscriber, naming the hook and the plugin that subscribed. */
export class HookError extends Error {
  readonly hook: string;
  readonly owner: string;
  override readonly cause: unknown;
  constructor(kind: "event" | "filter", hook: string, owner: string, cause: unknown) {
    super(`${kind} '${hook}' subscriber of ${owner} failed: ${errorMessage(cause)}`);
    this.name = "HookError";
    this.hook = hook;
    this.owner = owner;
    this.cause = cause;
  }
}

export type HookErrorReporter = (error: HookError) => void;

/**
 * Events (side effects, every subscriber runs) and filters (a value threaded
 * through subscribers in priority order). Both are async and sequential.
 *
 * Failures are reported, never swallowed: each failing subscriber's error is
 * passed to the reporters; an event still runs its other subscribers and
 * then rejects with the failures; a filter stops at the failure and rejects,
 * because the value it was threading can no longer be trusted.
 */
export class Hooks {
  readonly #events = new Map<string, Subscription<EventHandler>[]>();
  readonly #filters = new Map<string, Subscription<FilterHandler>[]>();
  readonly #reporters = new Set<HookErrorReporter>();
  #order = 0;

  on<P = any>(
    event: string,
    fn: EventHandler<P>,
    priority = DEFAULT_PRIORITY,
    owner = "core",
  ): () => void {
    return this.#add(this.#events, event, fn as EventHandler, priority, owner);
  }

  filter<V = any, C = any>(
    name: string,
    fn: FilterHandler<V, C>,
    priority = DEFAULT_PRIORITY,
    owner = "core",
  ): () => void {
    return this.#add(this.#filters, name, fn as FilterHandler, priority, owner);
  }

  /** Receives every subscriber failure (logging, the error plugin). */
  onError(reporter: HookErrorReporter): () => void {
    this.#reporters.add(reporter);
    return () => this.#reporters.delete(reporter);
  }

  /** Every subscription, for diagnostics and conformance checks: which hook, which owner. */
  list(): { kind: "event" | "filter"; name: string; owner: string; priority: number }[] {
    const out: { kind: "event" | "filter"; name: string; owner: string; priority: number }[] = [];
    for (const [kind, map] of [
      ["event", this.#events],
      ["filter", this.#filters],
    ] as const) {
      for (const [name, subs] of map)
        for (const sub of subs) out.push({ kind, name, owner: sub.owner, priority: sub.priority });
    }
    return out;
  }

  hasSubscribers(name: string): boolean {
    return (this.#events.get(name)?.length ?? 0) + (this.#filters.get(name)?.length ?? 0) > 0;
  }

  async emit<P = any>(event: string, payload: P): Promise<void> {
    const subs = this.#events.get(event);
    if (!subs || subs.length === 0) return;
    const failures: HookError[] = [];
    for (const sub of [...subs]) {
      try {
        await sub.fn(payload);
      } catch (cause) {
        const error = new HookError("event", event, sub.owner, cause);
        this.#report(error);
        failures.push(error);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      throw new AggregateError(failures, `${failures.length} subscribers of '${event}' failed`);
    }
  }

  async apply<V, C = unknown>(name: string, value: V, context?: C): Promise<V> {
    const subs = this.#filters.get(name);
    if (!subs || subs.length === 0) return value;
    let current = value;
    for (const sub of [...subs]) {
      try {
        current = (await sub.fn(current, context)) as V;
      } catch (cause) {
        const error = new HookError("filter", name, sub.owner, cause);
        this.#report(error);
        throw error;
      }
    }
    return current;
  }

  #report(error: HookError): void {
    for (const reporter of this.#reporters) {
      try {
        reporter(error);
      } catch {
        // A broken reporter must not hide the original failure, which still propagates.
      }
    }
  }

  #add<F>(
    map: Map<string, Subscription<F>[]>,
    name: string,
    fn: F,
    priority: number,
    owner: string,
  ): () => void {
    if (typeof fn !== "function") throw new TypeError(`hook '${name}': handler must be a function`);
    if (!Number.isFinite(priority))
      throw new TypeError(`hook '${name}': priority must be a number`);
    const sub: Subscription<F> = { fn, priority, order: this.#order++, owner };
    const list = map.get(name) ?? [];
    list.push(sub);
    list.sort((a, b) => a.priority - b.priority || a.order - b.order);
    map.set(name, list);
    return () => {
      const current = map.get(name);
      if (!current) return;
      const idx = current.indexOf(sub);
      if (idx >= 0) current.splice(idx, 1);
    };
  }
}
