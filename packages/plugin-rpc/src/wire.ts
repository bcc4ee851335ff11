import type { Entry, ParamSpec, ParamsSchema, RummyCore, RunRecord, TurnRecord } from "@rummy/core";

/**
 * Shapes of the 2.0.1 wire built from our records: what `run/state`,
 * `getRun`, `getRuns`, `getEntries` and `run/proposal` carry. The schema
 * they must satisfy is `@rummy/client`'s `wire-2.0.1.ts`; the conformance
 * suite checks every frame against it.
 */

/** A run waiting on a proposal is still running to a 2.0.1 client (`run/proposal` says why it waits). */
export function wireRunStatus(status: number): number {
  return status === 202 ? 102 : status;
}

/** 2.0.1 describes params as strings: `"string? — what it is"`. */
export function describeParams(params: ParamsSchema | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(params ?? {}).map(([name, spec]) => [name, describeParam(spec)]),
  );
}

function describeParam(spec: ParamSpec): string {
  const type =
    spec.type === "integer"
      ? "number"
      : spec.type === "array"
        ? `${spec.items?.type === "integer" ? "number" : (spec.items?.type ?? "any")}[]`
        : spec.type;
  return `${type}${spec.required ? "" : "?"}${spec.description ? ` — ${spec.description}` : ""}`;
}

const FIDELITY = { visible: "promoted", summarized: "demoted", archived: "archived" } as const;

/** A `getEntries` row: 2.0.1's members plus our `status`. */
export function entryRow(e: Entry, withBody: boolean): Record<string, unknown> {
  return {
    id: e.id,
    path: e.path,
    scheme: e.scheme,
    state: e.state,
    status: e.status,
    outcome: e.outcome,
    visibility: e.visibility,
    fidelity: e.visibility ? FIDELITY[e.visibility] : null,
    turn: e.turn,
    tokens: e.tokens,
    attributes: e.attributes,
    ...(withBody ? { body: e.body } : {}),
  };
}

/**
 * What a run's detail is built from — its prompts, logged commands and open
 * questions — read in one query, oldest first. `run/state` goes out after
 * every command, so one read instead of one per part is what keeps it cheap.
 */
export interface RunEntries {
  readonly history: readonly Entry[];
  readonly unknowns: readonly Entry[];
  /** The `<update>` log entries (`log://turn_N/update/…`), oldest first. */
  readonly updates: readonly Entry[];
}

export function runEntries(core: RummyCore, run: RunRecord): RunEntries {
  const history: Entry[] = [];
  const unknowns: Entry[] = [];
  const updates: Entry[] = [];
  for (const e of core.store.get({
    runId: run.id,
    scheme: ["log", "prompt", "unknown"],
    order: "id",
  })) {
    if (e.scheme === "unknown") unknowns.push(e);
    else history.push(e);
    if (isUpdatePath(e.path)) updates.push(e);
  }
  return { history, unknowns, updates };
}

/** Where a run's `<update>` log entries live (a glob: `*` crosses `/`). */
export const UPDATE_PATTERN = "log://*/update/*";

/** `UPDATE_PATTERN` as a test on a path, for entries already read. */
function isUpdatePath(path: string): boolean {
  return path.startsWith("log://") && path.indexOf("/update/", 5) >= 5;
}

/** The run's history as 2.0.1 shows it: every prompt and logged command, oldest first. */
export function historyOf(entries: RunEntries): Record<string, unknown>[] {
  return entries.history.map((h) => ({
    tool: h.scheme === "prompt" ? "prompt" : String(h.attributes.action ?? logAction(h.path)),
    path: h.path,
    status: h.status,
    state: h.state,
    body: h.body,
    attributes: h.attributes,
    turn: h.turn,
  }));
}

function logAction(path: string): string {
  return /^log:\/\/turn_\d+\/([^/]+)\//.exec(path)?.[1] ?? "log";
}

export function unknownsOf(entries: RunEntries): { path: string; body: string }[] {
  return entries.unknowns.map((u) => ({ path: u.path, body: u.body }));
}

/** The latest update of the run, or the latest final (200) one. */
export function latestUpdate(entries: RunEntries, final = false): Entry | undefined {
  return entries.updates.filter((e) => !final || Number(e.attributes.status) === 200).at(-1);
}

export function runTotals(turns: readonly TurnRecord[]) {
  return turns.reduce(
    (t, x) => ({
      prompt_tokens: t.prompt_tokens + (x.promptTokens ?? 0),
      completion_tokens: t.completion_tokens + (x.completionTokens ?? 0),
      total_tokens: t.total_tokens + (x.promptTokens ?? 0) + (x.completionTokens ?? 0),
      cost: t.cost + (x.cost ?? 0),
    }),
    { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost: 0 },
  );
}

/** `run/state`'s telemetry: totals plus the last turn's context use. */
export function telemetryOf(core: RummyCore, run: RunRecord): Record<string, unknown> {
  const turns = core.turns.list(run.id);
  const last = turns.at(-1);
  const usage = last?.usage ?? {};
  const limit = numberOrNull(run.attributes.contextLimit);
  const size = numberOrNull(usage.contextSize) ?? limit ?? 0;
  return {
    modelAlias: run.model,
    model: typeof usage.model === "string" ? usage.model : null,
    temperature: numberOrNull(run.attributes.temperature),
    context_size: limit ? Math.min(limit, size || limit) : size,
    context_tokens: last?.contextTokens ?? 0,
    ...runTotals(turns),
  };
}

/** The full state snapshot `run/state` carries (the same content as `getRun`'s context). */
export function runStateSnapshot(
  core: RummyCore,
  run: RunRecord,
  event: { status: number; turn: number | null; reason: string | null },
): Record<string, unknown> {
  const entries = runEntries(core, run);
  const summary = latestUpdate(entries, true)?.body;
  return {
    run: run.alias,
    turn: event.turn ?? Math.max(0, run.nextTurn - 1),
    status: wireRunStatus(event.status),
    ...(summary !== undefined ? { summary } : {}),
    history: historyOf(entries),
    unknowns: unknownsOf(entries),
    telemetry: telemetryOf(core, run),
    reason: event.reason,
  };
}

/**
 * A `run/proposal` item as 2.0.1 sends it: `attributes` JSON-encoded, the
 * turn, and for a file edit the change under `patch` / `merge` with an empty
 * body (the proposed content is what accepting writes, not what a client shows).
 */
export function proposalItem(p: {
  path: string;
  action: string;
  attributes: Record<string, unknown>;
  body: string;
  turn: number;
}): Record<string, unknown> {
  const isEdit = typeof p.attributes.patch === "string";
  return {
    path: p.path,
    body: isEdit ? "" : p.body,
    attributes: JSON.stringify(p.attributes),
    turn: p.turn,
    action: p.action,
  };
}

/** `reasoning` and `content` of each turn, cut from the telemetry plugin's audit records. */
export function turnTexts(
  core: RummyCore,
  run: RunRecord,
): { reasoning: TurnText[]; content: TurnText[] } {
  const reasoning: TurnText[] = [];
  const content: TurnText[] = [];
  // Only `sections` of the audit record: the rest of it (the turn's whole context) is large.
  const audits = core.store.get({
    runId: run.id,
    pattern: "audit://turn_*",
    order: "id",
    attributeKeys: ["sections"],
  });
  for (const audit of audits) {
    const turn = audit.turn ?? Number(/turn_(\d+)/.exec(audit.path)?.[1] ?? 0);
    const sections = audit.attributes.sections as
      | { reasoning?: [number, number] | null; content?: [number, number] | null }
      | undefined;
    const cut = (range: [number, number] | null | undefined) =>
      range ? audit.body.slice(range[0], range[1]) : null;
    const r = cut(sections?.reasoning);
    const c = cut(sections?.content);
    if (r) reasoning.push({ path: `reasoning://turn_${turn}`, body: r, turn });
    if (c !== null) content.push({ path: `content://turn_${turn}`, body: c, turn });
  }
  return { reasoning, content };
}

interface TurnText {
  path: string;
  body: string;
  turn: number;
}

function numberOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
