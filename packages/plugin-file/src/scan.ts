import { createHash } from "node:crypto";
import { type Dirent, lstatSync, readdirSync, readFileSync } from "node:fs";
import { serverPrivate } from "./confine.js";
import { join, relative, sep } from "node:path";
import { type FileConstraint, globMatch, type RummyCore } from "@rummy/core";
import ignore, { type Ignore } from "ignore";

export interface ScanOptions {
  readonly maxFiles: number;
  readonly maxFileBytes: number;
}

export interface ScanResult {
  readonly added: string[];
  readonly changed: string[];
  readonly removed: string[];
  unchanged: number;
}

/** The rules of one `.gitignore`, which apply to paths below `base` (project-relative, "" for the root). */
interface IgnoreLayer {
  readonly base: string;
  readonly rules: Ignore;
}

/** What the scanner remembers per file, so an unchanged file costs a stat, not a read. */
export type StatCache = Map<string, { mtimeMs: number; size: number }>;

/** The constraint that governs a path: exact, directory prefix or glob; the most specific (longest) pattern wins. */
export function constraintFor(
  constraints: readonly FileConstraint[],
  path: string,
): FileConstraint | undefined {
  return constraintMatcher(constraints)(path);
}

/** `constraintFor` with the constraints ordered once, for checking many paths. */
export function constraintMatcher(
  constraints: readonly FileConstraint[],
): (path: string) => FileConstraint | undefined {
  const mostSpecificFirst = [...constraints].sort((a, b) => b.pattern.length - a.pattern.length);
  return (path) =>
    mostSpecificFirst.find(
      (c) => c.pattern === path || path.startsWith(`${c.pattern}/`) || globMatch(c.pattern, path),
    );
}

/**
 * Brings the project's `file` entries in line with the disk: new and
 * changed files (by hash) are written, deleted ones removed. Honors every
 * `.gitignore` (each relative to its directory; `.git` is always skipped), `ignore` constraints, and
 * size limits; binary files are recorded without a body.
 */
export function scanProject(
  core: RummyCore,
  projectId: number,
  root: string,
  cache: StatCache,
  options: ScanOptions,
): ScanResult {
  const constraintOf = constraintMatcher(core.fileConstraints.list(projectId));
  const found: string[] = [];
  const isServerPrivate = serverPrivate(core.home, root);
  const skipped = (rel: string, layers: readonly IgnoreLayer[], directory: boolean) =>
    isServerPrivate(rel) ||
    layers.some((layer) => {
      const below = layer.base === "" ? rel : rel.slice(layer.base.length + 1);
      return layer.rules.ignores(directory ? `${below}/` : below);
    }) ||
    constraintOf(rel)?.visibility === "ignore";
  const walk = (dir: string, inherited: readonly IgnoreLayer[]) => {
    if (found.length >= options.maxFiles) return;
    let dirents: Dirent[];
    try {
      dirents = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Each directory's .gitignore applies below it, relative to it, as git does.
    const base = relative(root, dir).split(sep).join("/");
    const gitignore = dirents.some((d) => d.name === ".gitignore")
      ? unlessGone(() => readFileSync(join(dir, ".gitignore"), "utf8"))
      : null;
    const layers =
      gitignore !== null ? [...inherited, { base, rules: ignore().add(gitignore) }] : inherited;
    for (const dirent of dirents) {
      const full = join(dir, dirent.name);
      const rel = base ? `${base}/${dirent.name}` : dirent.name;
      // The directory listing knows each entry's type; stat only where the filesystem does not say.
      const kind =
        dirent.isSymbolicLink() || dirent.isDirectory() || dirent.isFile()
          ? dirent
          : unlessGone(() => lstatSync(full));
      if (kind === null || kind.isSymbolicLink()) continue; // never follow links out of the project
      if (kind.isDirectory()) {
        if (skipped(rel, layers, true)) continue;
        walk(full, layers);
      } else if (kind.isFile()) {
        if (skipped(rel, layers, false)) continue;
        found.push(rel);
        if (found.length >= options.maxFiles) return;
      }
    }
  };
  walk(root, [{ base: "", rules: ignore().add([".git", ".rummy-tmp"]) }]);

  const existing = new Map(
    core.store.get({ projectId, scheme: "file", includeBody: false }).map((e) => [e.path, e]),
  );
  const result: ScanResult = { added: [], changed: [], removed: [], unchanged: 0 };
  const present = new Set(found);
  core.store.batch(() => {
    for (const rel of found) {
      const full = join(root, rel);
      // A file deleted since the listing (or swapped for a link) counts as gone.
      const stat = unlessGone(() => lstatSync(full));
      if (stat === null || !stat.isFile()) {
        present.delete(rel);
        continue;
      }
      const before = cache.get(rel);
      const known = existing.get(rel);
      const readonly = constraintOf(rel)?.visibility === "readonly";
      if (
        known &&
        before &&
        before.mtimeMs === stat.mtimeMs &&
        before.size === stat.size &&
        Boolean(known.attributes.readonly) === readonly
      ) {
        result.unchanged++;
        continue;
      }
      cache.set(rel, { mtimeMs: stat.mtimeMs, size: stat.size });
      const read = stat.size <= options.maxFileBytes ? unlessGone(() => readFileSync(full)) : false;
      if (read === null) {
        present.delete(rel);
        cache.delete(rel);
        continue;
      }
      const bytes = read === false ? null : read;
      const binary = bytes === null || bytes.subarray(0, 8192).includes(0);
      const body = binary ? "" : bytes!.toString("utf8");
      const hash = createHash("sha256").update(body).digest("hex");
      if (known && known.hash === hash && Boolean(known.attributes.readonly) === readonly) {
        result.unchanged++;
        continue;
      }
      core.store.set({
        projectId,
        path: rel,
        body,
        attributes: {
          size: stat.size,
          readonly: readonly || null,
          ...(binary ? { mimetype: "application/octet-stream", binary: true } : { binary: null }),
          ...(bytes === null ? { tooLarge: true } : {}),
        },
        writer: "plugin",
      });
      (known ? result.changed : result.added).push(rel);
    }
    for (const path of existing.keys()) {
      if (present.has(path)) continue;
      core.store.rm({ projectId, path, writer: "plugin" });
      cache.delete(path);
      result.removed.push(path);
    }
  });
  return result;
}

/** `read()`, or null when the file vanished meanwhile: other processes change the tree while it is scanned. */
function unlessGone<T>(read: () => T): T | null {
  try {
    return read();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw error;
  }
}

/** Whether project constraints make a path readonly (the file tools refuse to change it). */
export function isReadonly(core: RummyCore, projectId: number, path: string): boolean {
  return constraintFor(core.fileConstraints.list(projectId), path)?.visibility === "readonly";
}
