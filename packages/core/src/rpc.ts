import { badRequest, RummyError } from "./errors.js";
import type { RunRecord, Runs } from "./records.js";

export type ParamType = "string" | "number" | "integer" | "boolean" | "object" | "array" | "any";

/** One parameter of an RPC method: validated at the boundary, listed by `discover`. */
export interface ParamSpec {
  readonly type: ParamType;
  readonly required?: boolean;
  readonly description?: string;
  readonly enum?: readonly (string | number | boolean)[];
  readonly items?: ParamSpec;
  readonly properties?: ParamsSchema;
  readonly maxLength?: number;
  readonly min?: number;
  readonly max?: number;
  readonly nullable?: boolean;
}

export type ParamsSchema = Readonly<Record<string, ParamSpec>>;

/** Per-connection state the transport keeps and handlers may read or change. */
export interface RpcSession {
  readonly connectionId: string;
  projectId: number | null;
  projectName: string | null;
  projectRoot: string | null;
  initialized: boolean;
  clientInfo: Record<string, unknown> | null;
}

export interface RpcCallContext {
  readonly session: RpcSession;
  /** Aborted when the call times out or the connection closes. */
  readonly signal: AbortSignal;
  /** Sends a notification to this connection only. */
  notify(method: string, params: unknown): void;
}

export interface RpcMethodDefinition<P = any, R = unknown> {
  readonly description: string;
  readonly params?: ParamsSchema;
  readonly handler: (params: P, context: RpcCallContext) => R | Promise<R>;
  /** Exempt from the per-call timeout (runs that wait on a model, long streams). */
  readonly longRunning?: boolean;
  /** Needs a completed `rummy/hello` (a project) first. Default true. */
  readonly requiresInit?: boolean;
}

export interface RpcMethod extends RpcMethodDefinition {
  readonly name: string;
  readonly owner: string;
}

/** The JSON text of results marked with `serializedResult`, by the result itself. */
const resultTexts = new WeakMap<object, string>();

/**
 * Serializes a result once, for a handler that gives the same result to many calls (a list kept
 * while nothing changed): the transport sends the text it already has instead of serializing the
 * value again. The value is frozen, all the way down, so the text cannot go stale; in-process
 * callers get the value itself. Returns `value`.
 */
export function serializedResult<T extends object>(value: T): T {
  if (!resultTexts.has(value)) {
    const json = JSON.stringify(value);
    deepFreeze(value);
    resultTexts.set(value, json);
  }
  return value;
}

/** The text `serializedResult` made for this result, if it made one. */
export function serializedText(result: unknown): string | undefined {
  return typeof result === "object" && result !== null ? resultTexts.get(result) : undefined;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
}

export interface NotificationDefinition {
  readonly description: string;
  readonly params?: ParamsSchema;
}

/** Who a notification goes to: every connection of a project, or one connection. */
export type NotificationTarget = { readonly projectId: number } | { readonly connectionId: string };

export type NotificationSink = (
  method: string,
  params: unknown,
  target: NotificationTarget,
) => void;

/** Invalid parameters for a method; the transport answers JSON-RPC -32602. */
export class RpcParamsError extends RummyError {
  readonly problems: readonly string[];
  constructor(method: string, problems: readonly string[]) {
    super(400, `invalid params for '${method}': ${problems.join("; ")}`, { problems });
    this.name = "RpcParamsError";
    this.problems = problems;
  }
}

const METHOD_RE = /^[A-Za-z][A-Za-z0-9_]*(\/[A-Za-z][A-Za-z0-9_]*)*$/;

/** The live catalog of RPC methods and notifications, plugin-registered ones included. */
export class RpcRegistry {
  readonly #methods = new Map<string, RpcMethod>();
  readonly #notifications = new Map<
    string,
    NotificationDefinition & { name: string; owner: string }
  >();
  readonly #sinks = new Set<NotificationSink>();
  #fallback: ((name: string) => RpcMethod | undefined) | null = null;

  register(name: string, definition: RpcMethodDefinition, owner = "core"): () => void {
    if (!METHOD_RE.test(name)) throw badRequest(`invalid RPC method name '${name}'`);
    if (typeof definition.handler !== "function") throw badRequest(`RPC '${name}' needs a handler`);
    const existing = this.#methods.get(name);
    if (existing)
      throw badRequest(`RPC method '${name}' is already registered by ${existing.owner}`);
    const method: RpcMethod = { ...definition, name, owner };
    this.#methods.set(name, method);
    return () => {
      if (this.#methods.get(name) === method) this.#methods.delete(name);
    };
  }

  registerNotification(
    name: string,
    definition: NotificationDefinition,
    owner = "core",
  ): () => void {
    if (!METHOD_RE.test(name)) throw badRequest(`invalid notification name '${name}'`);
    const entry = { ...definition, name, owner };
    this.#notifications.set(name, entry);
    return () => {
      if (this.#notifications.get(name) === entry) this.#notifications.delete(name);
    };
  }

  /** A registered method, else whatever the fallback resolves for that name at call time. */
  get(name: string): RpcMethod | undefined {
    return this.#methods.get(name) ?? this.#fallback?.(name);
  }

  /** Resolves names no method is registered under (the rpc plugin maps them to tools). One fallback at a time. */
  setFallback(resolver: (name: string) => RpcMethod | undefined, owner = "core"): () => void {
    if (this.#fallback)
      throw badRequest(`an RPC fallback is already set (setting it from ${owner})`);
    this.#fallback = resolver;
    return () => {
      if (this.#fallback === resolver) this.#fallback = null;
    };
  }

  methods(): RpcMethod[] {
    return [...this.#methods.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  notifications(): (NotificationDefinition & { name: string; owner: string })[] {
    return [...this.#notifications.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The transport attaches here to deliver notifications. */
  attachSink(sink: NotificationSink): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  notify(method: string, params: unknown, target: NotificationTarget): void {
    for (const sink of this.#sinks) {
      try {
        sink(method, params, target);
      } catch {
        // Delivery to a dead socket is the transport's concern; the event itself happened.
      }
    }
  }
}

/**
 * How deeply a member of params may nest objects and arrays (`{"a": []}` is 2).
 * Far beyond any real call; deeper values would fail later as internal errors
 * (SQLite refuses JSON nested 1000 deep, recursion overflows the stack).
 */
const MAX_PARAM_DEPTH = 64;

/**
 * Checks params against a schema; returns the problems found (empty when
 * valid). Extra keys are allowed; null is refused for a member that is not
 * `nullable`, required or not; no member may nest deeper than `MAX_PARAM_DEPTH`,
 * with a schema or without.
 */
export function validateParams(schema: ParamsSchema | undefined, params: unknown): string[] {
  if (params !== null && typeof params === "object") {
    const tooDeep = Object.entries(params)
      .filter(([, v]) => nestsDeeperThan(v, MAX_PARAM_DEPTH))
      .map(([key]) => `${key} nests deeper than ${MAX_PARAM_DEPTH} levels`);
    if (tooDeep.length > 0) return tooDeep;
  }
  if (!schema) return [];
  if (params === undefined || params === null) params = {};
  if (typeof params !== "object" || Array.isArray(params)) {
    return ["params must be an object with named members"];
  }
  const problems: string[] = [];
  checkObject(schema, params as Record<string, unknown>, "", problems);
  return problems;
}

/** Whether a JSON value nests objects/arrays more than `limit` deep; iterative, so no depth overflows it. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [v, depth] = next;
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(v)) pending.push([child, depth + 1]);
  }
  return false;
}

function checkObject(
  schema: ParamsSchema,
  value: Record<string, unknown>,
  prefix: string,
  problems: string[],
): void {
  for (const [key, spec] of Object.entries(schema)) {
    const v = value[key];
    const name = prefix + key;
    if (v === undefined) {
      if (spec.required) problems.push(`${name} is required`);
      continue;
    }
    if (v === null) {
      // Null is not "absent": handlers would take it for a value (a decision, a version to split).
      if (!spec.nullable) problems.push(`${name} must not be null`);
      continue;
    }
    checkValue(spec, v, name, problems);
  }
}

function checkValue(spec: ParamSpec, v: unknown, name: string, problems: string[]): void {
  switch (spec.type) {
    case "string":
      if (typeof v !== "string") return void problems.push(`${name} must be a string`);
      if (spec.maxLength !== undefined && v.length > spec.maxLength) {
        problems.push(`${name} is longer than ${spec.maxLength} characters`);
      }
      break;
    case "number":
    case "integer":
      if (typeof v !== "number" || !Number.isFinite(v))
        return void problems.push(`${name} must be a number`);
      if (spec.type === "integer" && !Number.isInteger(v))
        problems.push(`${name} must be an integer`);
      if (spec.min !== undefined && v < spec.min) problems.push(`${name} must be ≥ ${spec.min}`);
      if (spec.max !== undefined && v > spec.max) problems.push(`${name} must be ≤ ${spec.max}`);
      break;
    case "boolean":
      if (typeof v !== "boolean") problems.push(`${name} must be true or false`);
      break;
    case "object":
      if (typeof v !== "object" || Array.isArray(v))
        return void problems.push(`${name} must be an object`);
      if (spec.properties)
        checkObject(spec.properties, v as Record<string, unknown>, `${name}.`, problems);
      break;
    case "array":
      if (!Array.isArray(v)) return void problems.push(`${name} must be an array`);
      if (spec.items) {
        for (const [i, item] of v.entries())
          checkValue(spec.items, item, `${name}[${i}]`, problems);
      }
      break;
    case "any":
      break;
  }
  if (spec.enum && !spec.enum.includes(v as string | number | boolean)) {
    problems.push(`${name} must be one of ${spec.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
}

/** The run a call names, in the caller's project: 400 before `rummy/hello`, 404 when unknown. */
export function runForCall(runs: Runs, call: RpcCallContext, alias: string): RunRecord {
  const projectId = call.session.projectId;
  // 2.0.1's texts, which clients match on.
  if (projectId === null) throw new RummyError(400, "Project not initialized.");
  const run = runs.byAlias(projectId, alias);
  if (!run) throw new RummyError(404, `Run '${alias}' not found.`);
  return run;
}
