/**
 * The context picture's numbers, from the turn snapshots the telemetry
 * plugin keeps in `audit://turn_N` (attributes.context). Pure: no DOM.
 */

export type Visibility = "visible" | "summarized" | "archived";

/** `[path, scheme, visibility, tokens as sent, full tokens]`, as recorded. */
export type ContextRow = [string, string, string, number, number];

export interface TurnSnapshot {
  readonly turn: number;
  readonly contextLength: number;
  readonly ceiling: number;
  /** Tokens of the whole prompt (system and user text) by the server's count. */
  readonly tokens: number | null;
  readonly entries: readonly ContextRow[];
}

export interface SchemeTotals {
  readonly scheme: string;
  /** Tokens sent for visible entries. */
  readonly visible: number;
  /** Tokens sent for summarized entries (their summaries). */
  readonly summarized: number;
  /** Full tokens of archived entries: in the store, not in the prompt. */
  readonly archived: number;
  readonly count: number;
}

export interface Demotion {
  readonly path: string;
  readonly scheme: string;
  readonly from: Visibility | "absent";
  readonly to: Visibility;
  readonly tokens: number;
}

export interface Picture {
  readonly turn: number;
  readonly contextLength: number;
  readonly ceiling: number;
  readonly promptTokens: number | null;
  /** Tokens sent for entries (visible + summarized), all schemes. */
  readonly entryTokens: number;
  readonly schemes: readonly SchemeTotals[];
  /** Entries whose visibility went down since the previous turn's snapshot. */
  readonly demoted: readonly Demotion[];
}

const RANK: Record<string, number> = { visible: 2, summarized: 1, archived: 0 };

export function snapshotOf(turn: number, attributes: unknown): TurnSnapshot | null {
  const c = (attributes as { context?: any } | null)?.context;
  if (!c || !Array.isArray(c.entries)) return null;
  return {
    turn,
    contextLength: Number(c.contextLength) || 0,
    ceiling: Number(c.ceiling) || 0,
    tokens: typeof c.tokens === "number" ? c.tokens : null,
    entries: c.entries.filter((e: unknown) => Array.isArray(e) && e.length >= 5) as ContextRow[],
  };
}

export function pictureOf(current: TurnSnapshot, previous: TurnSnapshot | null): Picture {
  const byScheme = new Map<
    string,
    { visible: number; summarized: number; archived: number; count: number }
  >();
  let entryTokens = 0;
  for (const [, scheme, visibility, sent, full] of current.entries) {
    const t = byScheme.get(scheme) ?? { visible: 0, summarized: 0, archived: 0, count: 0 };
    byScheme.set(scheme, t);
    t.count++;
    if (visibility === "visible") t.visible += sent;
    else if (visibility === "summarized") t.summarized += sent;
    else t.archived += full;
    if (visibility !== "archived") entryTokens += sent;
  }
  const schemes = [...byScheme.entries()]
    .map(([scheme, t]) => ({ scheme, ...t }))
    .sort(
      (a, b) =>
        b.visible + b.summarized - (a.visible + a.summarized) || a.scheme.localeCompare(b.scheme),
    );
  const demoted: Demotion[] = [];
  if (previous) {
    const before = new Map(previous.entries.map((e) => [e[0], e[2]]));
    for (const [path, scheme, visibility, , full] of current.entries) {
      const was = before.get(path);
      if (was !== undefined && (RANK[was] ?? 0) > (RANK[visibility] ?? 0))
        demoted.push({
          path,
          scheme,
          from: was as Visibility,
          to: visibility as Visibility,
          tokens: full,
        });
    }
  }
  return {
    turn: current.turn,
    contextLength: current.contextLength,
    ceiling: current.ceiling,
    promptTokens: current.tokens,
    entryTokens,
    schemes,
    demoted,
  };
}
