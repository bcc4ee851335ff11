import { RummyError } from "@rummy/core";

/** One search/replace pair. */
export interface Replacement {
  readonly search: string;
  readonly replace: string;
}

/**
 * Applies replacements in order. Each SEARCH must match exactly once:
 * verbatim first, then ignoring trailing whitespace and line-ending style,
 * then ignoring indentation (the replacement is re-indented to match). A
 * miss names the block and the nearest line, so the model can correct it.
 */
export function applyReplacements(original: string, blocks: readonly Replacement[]): string {
  let text = original;
  blocks.forEach((block, i) => {
    const at = locate(text, block.search);
    if (at.kind === "none") {
      throw new RummyError(
        409,
        `SEARCH block ${i + 1} does not match the file${at.hint ? `; nearest line: ${JSON.stringify(at.hint)}` : ""}`,
      );
    }
    if (at.kind === "many")
      throw new RummyError(
        409,
        `SEARCH block ${i + 1} matches ${at.count} places; include more surrounding lines`,
      );
    const replacement = reindent(block.replace, at.indentShift);
    text = text.slice(0, at.start) + replacement + text.slice(at.end);
  });
  return text;
}

type Located =
  | { kind: "one"; start: number; end: number; indentShift: string | null }
  | { kind: "many"; count: number }
  | { kind: "none"; hint: string | null };

function locate(text: string, search: string): Located {
  if (search === "") return { kind: "none", hint: null };
  const exact = occurrences(text, search);
  if (exact.length === 1)
    return { kind: "one", start: exact[0]!, end: exact[0]! + search.length, indentShift: null };
  if (exact.length > 1) return { kind: "many", count: exact.length };
  // Line-wise tolerant matching.
  const lines = text.split("\n");
  const want = search.replace(/\r\n/g, "\n").split("\n");
  for (const normalize of [
    (l: string) => l.replace(/\s+$/, ""),
    (l: string) => l.trim().replace(/\s+/g, " "),
  ]) {
    const target = want.map(normalize);
    const hits: number[] = [];
    for (let i = 0; i + target.length <= lines.length; i++) {
      if (target.every((t, j) => normalize(lines[i + j]!.replace(/\r$/, "")) === t)) hits.push(i);
    }
    if (hits.length > 1) return { kind: "many", count: hits.length };
    if (hits.length === 1) {
      const first = hits[0]!;
      const start = lines.slice(0, first).reduce((n, l) => n + l.length + 1, 0);
      const end = start + lines.slice(first, first + target.length).join("\n").length;
      const fileIndent = /^\s*/.exec(lines[first]!)![0];
      const searchIndent = /^\s*/.exec(want[0]!)![0];
      return {
        kind: "one",
        start,
        end,
        indentShift: fileIndent === searchIndent ? null : `${searchIndent}\u0000${fileIndent}`,
      };
    }
  }
  return { kind: "none", hint: nearest(lines, want.find((l) => l.trim())?.trim() ?? "") };
}

function occurrences(text: string, search: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(search); i !== -1 && out.length < 2; i = text.indexOf(search, i + 1))
    out.push(i);
  return out;
}

/** Moves the replacement from the SEARCH block's indentation to the file's. */
function reindent(replace: string, shift: string | null): string {
  if (!shift) return replace;
  const [from, to] = shift.split("\u0000") as [string, string];
  return replace
    .split("\n")
    .map((line) => (line.startsWith(from) ? to + line.slice(from.length) : line))
    .join("\n");
}

/** The file line sharing the longest prefix with `needle` (at least 5 characters), to point the model at. */
function nearest(lines: readonly string[], needle: string): string | null {
  let best: string | null = null;
  let bestLength = 4;
  for (const line of lines) {
    const t = line.trim();
    let n = 0;
    while (n < t.length && n < needle.length && t[n] === needle[n]) n++;
    if (n > bestLength) {
      bestLength = n;
      best = line;
    }
  }
  return best;
}
