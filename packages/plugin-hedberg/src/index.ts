import { RummyError } from "@rummy/core";
import { applyReplacements, type Replacement } from "./match.js";

export { applyReplacements, type Replacement } from "./match.js";

/** The edit syntaxes hedberg understands. */
export type EditSyntax =
  | "search-replace"
  | "replace-only"
  | "unified-diff"
  | "sed"
  | "old-new-text"
  | "json"
  | "attributes"
  | "whole-file";

export interface ParsedEdit {
  readonly syntax: EditSyntax;
  /** Ordered search/replace pairs, or null for a whole-file replacement. */
  readonly replacements: readonly Replacement[] | null;
  /** For sed: regex substitutions applied in order. */
  readonly substitutions?: readonly { pattern: RegExp; replacement: string }[];
  /** The new whole content (whole-file, replace-only). */
  readonly content?: string;
}

const SEARCH_REPLACE =
  /<{5,9} ?SEARCH[^\n]*\n([\s\S]*?)\n?={5,9}[^\n]*\n([\s\S]*?)\n?>{5,9} ?REPLACE[^\n]*/g;
const REPLACE_ONLY =
  /^\s*(?:<{5,9} ?SEARCH\s*\n)?={5,9}[^\n]*\n([\s\S]*?)\n?>{5,9} ?REPLACE[^\n]*\s*$/;
const OLD_NEW = /<old_text>\n?([\s\S]*?)\n?<\/old_text>\s*<new_text>\n?([\s\S]*?)\n?<\/new_text>/g;
const SED_LINE = /^s(.)((?:\\.|(?!\1).)*)\1((?:\\.|(?!\1).)*)\1([gim]*)$/;

/**
 * Recognizes how an edit is written. Attribute search/replace wins when
 * present; then SEARCH/REPLACE blocks, a replace-only block, a unified diff,
 * `<old_text>/<new_text>` pairs, JSON search/replace, sed substitutions; a
 * body that is none of these is the whole new file.
 */
export function parseEdit(
  body: string,
  attributes: Readonly<Record<string, string>> = {},
): ParsedEdit {
  if (attributes.search !== undefined) {
    return {
      syntax: "attributes",
      replacements: [{ search: attributes.search, replace: attributes.replace ?? "" }],
    };
  }
  const blocks = [...body.matchAll(SEARCH_REPLACE)].map((m) => ({ search: m[1]!, replace: m[2]! }));
  if (blocks.length && blocks.every((b) => b.search !== ""))
    return { syntax: "search-replace", replacements: blocks };
  const only = REPLACE_ONLY.exec(body);
  if (only) return { syntax: "replace-only", replacements: null, content: only[1]! };
  if (/^(?:---|\+\+\+|@@) /m.test(body) && /^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@/m.test(body)) {
    return { syntax: "unified-diff", replacements: hunks(body) };
  }
  const pairs = [...body.matchAll(OLD_NEW)].map((m) => ({ search: m[1]!, replace: m[2]! }));
  if (pairs.length) return { syntax: "old-new-text", replacements: pairs };
  const json = jsonPairs(body);
  if (json) return { syntax: "json", replacements: json };
  const lines = body
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length && lines.every((l) => SED_LINE.test(l))) {
    return { syntax: "sed", replacements: [], substitutions: lines.map(sedCommand) };
  }
  // Exactly what the model wrote: no newline is added that it did not write (as 2.0.1).
  return { syntax: "whole-file", replacements: null, content: body };
}

/** Applies an edit to a file's current content; throws a 409 naming what did not match. */
export function applyEdit(original: string, edit: ParsedEdit): string {
  if (edit.content !== undefined) return edit.content;
  if (edit.substitutions) {
    let text = original;
    edit.substitutions.forEach((s, i) => {
      const next = text.replace(s.pattern, s.replacement);
      if (next === text && !s.pattern.test(text))
        throw new RummyError(
          409,
          `sed substitution ${i + 1} (${s.pattern}) matches nothing in the file`,
        );
      text = next;
    });
    return text;
  }
  return applyReplacements(original, edit.replacements ?? []);
}

/** Unified-diff hunks as search/replace pairs: context + removed lines → context + added lines. */
function hunks(body: string): Replacement[] {
  const out: Replacement[] = [];
  let search: string[] | null = null;
  let replace: string[] = [];
  const flush = () => {
    if (search) out.push({ search: search.join("\n"), replace: replace.join("\n") });
    search = null;
    replace = [];
  };
  for (const line of body.split("\n")) {
    if (line.startsWith("@@")) {
      flush();
      search = [];
      continue;
    }
    if (
      search === null ||
      line.startsWith("---") ||
      line.startsWith("+++") ||
      line.startsWith("\\")
    )
      continue;
    if (line.startsWith("-")) search.push(line.slice(1));
    else if (line.startsWith("+")) replace.push(line.slice(1));
    else {
      const text = line.startsWith(" ") ? line.slice(1) : line;
      search.push(text);
      replace.push(text);
    }
  }
  flush();
  // Trailing blank context lines often come from the model's formatting, not the file.
  return out
    .map((h) => ({ search: h.search.replace(/\n+$/, ""), replace: h.replace.replace(/\n+$/, "") }))
    .filter((h) => h.search !== "");
}

function jsonPairs(body: string): Replacement[] | null {
  const text = body.trim();
  if (!text.startsWith("{") && !text.startsWith("[")) return null;
  try {
    const parsed = JSON.parse(text) as unknown;
    const list = Array.isArray(parsed)
      ? parsed
      : ((parsed as { edits?: unknown[] }).edits ?? [parsed]);
    const pairs = (list as Record<string, unknown>[]).map((e) => ({
      search: e.search ?? e.old ?? e.find,
      replace: e.replace ?? e.new ?? "",
    }));
    if (
      pairs.length &&
      pairs.every((p) => typeof p.search === "string" && typeof p.replace === "string")
    )
      return pairs as Replacement[];
  } catch {
    // Not JSON: some other syntax.
  }
  return null;
}

function sedCommand(line: string): { pattern: RegExp; replacement: string } {
  const m = SED_LINE.exec(line)!;
  const delimiter = m[1]!;
  const unescapeDelimiter = (s: string) => s.split(`\\${delimiter}`).join(delimiter);
  const flags = m[4]!.replace(/[^gim]/g, "");
  try {
    return {
      pattern: new RegExp(unescapeDelimiter(m[2]!), flags),
      replacement: unescapeDelimiter(m[3]!)
        .replace(/\\(\d)/g, "$$$1")
        .replace(/&/g, "$$&"),
    };
  } catch (error) {
    throw new RummyError(
      400,
      `sed pattern ${JSON.stringify(m[2])} is not a valid expression: ${(error as Error).message}`,
    );
  }
}
