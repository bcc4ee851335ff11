import type { EntryStore, TurnContext } from "@rummy/core";
import type { RunArchive, SchemeTotal } from "./archive.js";

/** One entry in a turn's context: `[path, scheme, visibility, tokens as sent, full tokens]`. */
export type ContextRow = [string, string, string, number, number];

export type Shown = "visible" | "summarized";

/** An entry whose visibility went down since the run's previous recorded turn. */
export interface Demotion {
  readonly path: string;
  readonly scheme: string;
  readonly from: Shown;
  readonly to: "summarized" | "archived";
  /** The entry's full tokens now. */
  readonly tokens: number;
}

/**
 * `attributes.context` of an `audit://turn_N` record, format 2: the rows the
 * prompt was built from (visible and summarized only), the run's archived
 * entries as totals per scheme, and what was demoted since the previous turn.
 * Format 1 (no `format` key) listed archived entries as rows at 0 tokens sent.
 */
export interface ContextRecord {
  readonly format: 2;
  readonly contextLength: number;
  readonly ceiling: number;
  readonly tokens: number | null;
  readonly entries: ContextRow[];
  readonly archived: Record<string, SchemeTotal>;
  readonly demoted: Demotion[];
}

/** A turn's shown entries by path, what the next turn's demotions are measured against. */
export interface ShownRows {
  readonly turn: number;
  readonly rows: ReadonlyMap<string, { readonly scheme: string; readonly visibility: Shown }>;
}

const RANK: Record<string, number> = { visible: 2, summarized: 1, archived: 0 };

/** The rows of the entries a prompt was built from; summarized ones at the size of their summary. */
export function rowsOf(c: TurnContext): ContextRow[] {
  const count = (text: string) => c.core.tokenizer.count(text);
  return c.entries.map((e) => [
    e.path,
    e.scheme,
    e.visibility ?? "visible",
    e.visibility === "summarized" ? count(c.render(e)) : e.tokens,
    e.tokens,
  ]);
}

export function shownOf(turn: number, rows: readonly ContextRow[]): ShownRows {
  const shown = new Map<string, { scheme: string; visibility: Shown }>();
  for (const [path, scheme, visibility] of rows) {
    if (visibility === "visible" || visibility === "summarized")
      shown.set(path, { scheme, visibility });
  }
  return { turn, rows: shown };
}

/** Entries shown last time that are shown less now (summarized, or archived); removed ones are not demoted. */
export function demotionsOf(
  previous: ShownRows | undefined,
  rows: readonly ContextRow[],
  archive: RunArchive,
): Demotion[] {
  if (!previous) return [];
  const now = new Map(rows.map((r) => [r[0], r]));
  const demoted: Demotion[] = [];
  for (const [path, was] of previous.rows) {
    const row = now.get(path);
    const archived = row ? undefined : archive.get(path);
    const to = row ? row[2] : archived ? "archived" : undefined;
    if (to === undefined || RANK[to]! >= RANK[was.visibility]!) continue;
    demoted.push({
      path,
      scheme: row?.[1] ?? archived!.scheme,
      from: was.visibility,
      to: to as Demotion["to"],
      tokens: row?.[4] ?? archived!.tokens,
    });
  }
  return demoted;
}

export function archivedOf(archive: RunArchive): Record<string, SchemeTotal> {
  const out: Record<string, SchemeTotal> = {};
  for (const scheme of [...archive.totals.keys()].sort()) {
    const t = archive.totals.get(scheme)!;
    out[scheme] = { count: t.count, tokens: t.tokens };
  }
  return out;
}

/**
 * The shown rows of the run's newest record before `turn`, read from the store
 * (after a restart, or when another process recorded the turns in between).
 * Both record formats list shown entries as rows. Looks back a few turns only:
 * turns that failed before the model answered leave no record.
 */
export function recordedShown(
  store: EntryStore,
  runId: number,
  turn: number,
  after = 0,
): ShownRows | undefined {
  for (let t = turn - 1; t > Math.max(after, turn - 9); t--) {
    const record = store.get({ runId, path: `audit://turn_${t}`, includeBody: false })[0];
    const entries = (record?.attributes.context as { entries?: unknown } | undefined)?.entries;
    if (!Array.isArray(entries)) continue;
    return shownOf(
      t,
      entries.filter(
        (e): e is ContextRow =>
          Array.isArray(e) && e.length >= 5 && typeof e[0] === "string" && typeof e[1] === "string",
      ),
    );
  }
  return undefined;
}
