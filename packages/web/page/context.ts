/**
 * The context picture's numbers, from the turn snapshots the telemetry
 * plugin keeps in `audit://turn_N` (attributes.context). Pure: no DOM.
 *
 * Two record formats: format 2 (`format: 2`) lists only the visible and
 * summarized entries, with the archived ones as totals per scheme and the
 * demotions since the previous turn recorded by the server; records of older
 * servers (no `format`) list archived entries as rows too, and the
 * demotions are worked out here against the previous snapshot.
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
  /** Format 2: visible and summarized entries only. Older records: archived ones too. */
  readonly entries: readonly ContextRow[];
  /** Format 2: the run's archived entries, count and full tokens per scheme. */
  readonly archived?: Readonly<Record<string, { readonly count: number; readonly tokens: number }>>;
  /** Format 2: what the server recorded as demoted since the run's previous turn. */
  readonly demoted?: readonly Demotion[];
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

const VISIBILITIES = new Set(["visible", "summarized", "archived"]);

function totalsOf(value: unknown): Record<string, { count: number; tokens: number }> {
  const out: Record<string, { count: number; tokens: number }> = {};
  if (!value || typeof value !== "object" || Array.isArray(value)) return out;
  for (const [scheme, t] of Object.entries(value as Record<string, any>)) {
    if (t && typeof t === "object")
      out[scheme] = { count: Number(t.count) || 0, tokens: Number(t.tokens) || 0 };
  }
  return out;
}

function demotionsOf(value: unknown): Demotion[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (d: any) =>
        d &&
        typeof d.path === "string" &&
        VISIBILITIES.has(d.from) &&
        VISIBILITIES.has(d.to) &&
        (RANK[d.from] ?? 0) > (RANK[d.to] ?? 0),
    )
    .map((d: any) => ({
      path: d.path,
      scheme: typeof d.scheme === "string" ? d.scheme : "",
      from: d.from,
      to: d.to,
      tokens: Number(d.tokens) || 0,
    }));
}

export function snapshotOf(turn: number, attributes: unknown): TurnSnapshot | null {
  const c = (attributes as { context?: any } | null)?.context;
  if (!c || !Array.isArray(c.entries)) return null;
  const entries = c.entries.filter(
    (e: unknown) => Array.isArray(e) && e.length >= 5,
  ) as ContextRow[];
  const base = {
    turn,
    contextLength: Number(c.contextLength) || 0,
    ceiling: Number(c.ceiling) || 0,
    tokens: typeof c.tokens === "number" ? c.tokens : null,
  };
  if (c.format === undefined) return { ...base, entries };
  // Format 2 and later: archived entries are totals, never rows.
  return {
    ...base,
    entries: entries.filter((e) => e[2] !== "archived"),
    archived: totalsOf(c.archived),
    demoted: demotionsOf(c.demoted),
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
  for (const [scheme, a] of Object.entries(current.archived ?? {})) {
    const t = byScheme.get(scheme) ?? { visible: 0, summarized: 0, archived: 0, count: 0 };
    byScheme.set(scheme, t);
    t.count += a.count;
    t.archived += a.tokens;
  }
  const schemes = [...byScheme.entries()]
    .map(([scheme, t]) => ({ scheme, ...t }))
    .sort(
      (a, b) =>
        b.visible + b.summarized - (a.visible + a.summarized) || a.scheme.localeCompare(b.scheme),
    );
  // The server's own list when it recorded one; older records are compared with the previous snapshot.
  const demoted: Demotion[] = current.demoted ? [...current.demoted] : [];
  if (!current.demoted && previous) {
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
