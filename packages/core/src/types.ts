/** The lifecycle of an entry within a run. Independent of visibility. */
export type EntryState = "proposed" | "streaming" | "resolved" | "failed" | "cancelled";
export const ENTRY_STATES: readonly EntryState[] = [
  "proposed",
  "streaming",
  "resolved",
  "failed",
  "cancelled",
];

/** How much of an entry the model sees next turn. Independent of state. */
export type Visibility = "visible" | "summarized" | "archived";
export const VISIBILITIES: readonly Visibility[] = ["visible", "summarized", "archived"];

/** Who is writing. A strict hierarchy: each tier may do what the tiers below it may. */
export type Writer = "system" | "plugin" | "client" | "model";
export const WRITERS: readonly Writer[] = ["system", "plugin", "client", "model"];

export type SchemeCategory = "data" | "logging" | "unknown" | "prompt" | "audit";
export const SCHEME_CATEGORIES: readonly SchemeCategory[] = [
  "data",
  "logging",
  "unknown",
  "prompt",
  "audit",
];

export type ScopeKind = "run" | "project" | "global";
export const SCOPE_KINDS: readonly ScopeKind[] = ["run", "project", "global"];

export type Attributes = Record<string, unknown>;

/** An entry as one run sees it: the shared content plus that run's view of it. */
export interface Entry {
  readonly id: number;
  readonly path: string;
  readonly scheme: string;
  /** `run:N`, `project:N` or `global`. */
  readonly scope: string;
  readonly body: string;
  readonly attributes: Attributes;
  readonly hash: string | null;
  readonly tokens: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The view fields are null when the entry is read outside any run. */
  readonly runId: number | null;
  readonly loopId: number | null;
  readonly turn: number | null;
  readonly state: EntryState | null;
  readonly outcome: string | null;
  readonly visibility: Visibility | null;
  readonly writeCount: number | null;
  readonly writer: Writer | null;
  /** HTTP-style projection of state and outcome (see `statusOf`). */
  readonly status: number | null;
}
