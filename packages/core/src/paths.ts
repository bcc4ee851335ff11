/** Path helpers shared by the store and plugins. */

const SCHEME_RE = /^([a-z][a-z0-9+.-]*):\/\//;

/** The scheme of a path: `known://x` → `known`; a bare file path → `file`. */
export function schemeOf(path: string): string {
  const idx = path.indexOf("://");
  return idx > 0 ? path.slice(0, idx) : "file";
}

/** True when the path names a scheme explicitly (`known://…`), false for bare file paths. */
export function hasScheme(path: string): boolean {
  return SCHEME_RE.test(path);
}

/** True when a string uses glob syntax the store expands (`*`, `?`, `[…]`). */
export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/**
 * Tests a path against a glob with the store's semantics (SQLite GLOB):
 * `*` matches any run of characters including `/`, `?` one character,
 * `[…]` a class. Case-sensitive. Kept here so plugins filtering in memory
 * agree exactly with queries the database answers.
 */
export function globMatch(pattern: string, text: string): boolean {
  return globToRegExp(pattern).test(text);
}

const globCache = new Map<string, RegExp>();

export function globToRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (re) return re;
  let out = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      while (pattern[i + 1] === "*") i++;
      out += "[\\s\\S]*";
    } else if (c === "?") out += "[\\s\\S]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) out += "\\[";
      else {
        let cls = pattern.slice(i + 1, end);
        if (cls.startsWith("^")) cls = `\\^${cls.slice(1)}`;
        out += `[${cls.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  re = new RegExp(`${out}$`);
  if (globCache.size > 1000) globCache.clear();
  globCache.set(pattern, re);
  return re;
}

const LOG_PATH_RE = /^log:\/\/(turn_\d+)\/([a-z][a-z0-9_-]*)\/(.+)$/;

/**
 * The data-channel base of a streaming producer's log entry:
 * `log://turn_3/sh/npm_test` → `sh://turn_3/npm_test` (channels append `_1`, `_2`, …).
 * Null when the path is not a command's log entry.
 */
export function logPathToDataBase(path: string): string | null {
  const m = LOG_PATH_RE.exec(path);
  return m ? `${m[2]}://${m[1]}/${m[3]}` : null;
}

/**
 * The path a model-facing tag writes to in `scheme`: the given path (with
 * the scheme added when missing), or one derived from the first words of the
 * text. `<known path="db">` → `known://db`; no path → `known://uses_postgres_16`.
 */
export function schemePath(
  scheme: string,
  given: string | undefined,
  text: string,
  slug: (t: string) => string,
): string {
  const raw = given?.trim();
  if (raw) return raw.startsWith(`${scheme}://`) ? raw : `${scheme}://${raw.replace(/^\/+/, "")}`;
  return `${scheme}://${slug(text.split(/\s+/).slice(0, 6).join(" "))}`;
}

/** A path-safe slug of a text (lowercase words joined by `_`, at most 48 characters). */
export function slugOf(text: string): string {
  const slug = String(text)
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, "")
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 48);
  return slug || "x";
}
