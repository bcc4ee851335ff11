import { randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  copyFileSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  type Stats,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { RummyError } from "@rummy/core";

/** More symlinks than this on one path is a loop (Linux gives up at 40 too). */
const MAX_LINKS = 40;

/**
 * Resolves a project-relative path to an absolute one inside `root`, or
 * refuses with 403. Refused: NUL bytes, absolute paths, `..` that climbs
 * out, sibling prefixes (`/proj-evil` is not inside `/proj`), and symlinks —
 * of the file or any parent, dangling or not — that lead outside. Returns
 * the path as named (under the real root); `realTarget` gives where it lands.
 */
export function confine(root: string, requested: string): string {
  const realRoot = realpathSync(root);
  const target = lexical(realRoot, requested);
  walk(realRoot, target, requested, true);
  return target;
}

/**
 * Where a write to `requested` really lands: every symlink on the way —
 * including the last component unless `followLast` is false — resolved by
 * hand, component by component with `lstat`, each step required to stay
 * inside the project. A dangling symlink is followed to where it points, so
 * one aimed outside is refused even though its target does not exist yet.
 * The parts that do not exist yet are appended as named.
 */
export function realTarget(
  root: string,
  requested: string,
  options: { followLast?: boolean } = {},
): string {
  const realRoot = realpathSync(root);
  return walk(realRoot, lexical(realRoot, requested), requested, options.followLast ?? true);
}

function lexical(realRoot: string, requested: string): string {
  if (requested.includes("\0")) throw forbidden(requested, "contains a NUL byte");
  if (isAbsolute(requested) || /^[A-Za-z]:[\\/]/.test(requested))
    throw forbidden(requested, "is absolute; use a path relative to the project");
  const target = resolve(realRoot, requested);
  if (!inside(realRoot, target)) throw forbidden(requested, "leaves the project");
  return target;
}

/**
 * Walks `target` (absolute, inside `realRoot`) one component at a time. A
 * symlink is replaced by its target and the walk goes on from there, so a
 * link — existing target or not — that points outside is refused. With
 * `followLast` false a final symlink is still checked but the returned path
 * is the link itself (rm and mv act on the link, not on what it names).
 */
function walk(realRoot: string, target: string, requested: string, followLast: boolean): string {
  let done = realRoot;
  let rest = relative(realRoot, target).split(sep).filter(Boolean);
  let links = 0;
  while (rest.length > 0) {
    const [name, ...after] = rest as [string, ...string[]];
    const next = join(done, name);
    const stats = lstatOrNull(next);
    if (stats === null) return join(next, ...after); // the rest does not exist yet
    if (!stats.isSymbolicLink()) {
      done = next;
      rest = after;
      continue;
    }
    if (++links > MAX_LINKS) throw forbidden(requested, "has too many symlinks");
    const pointsTo = resolve(done, readlinkSync(next));
    if (!inside(realRoot, pointsTo))
      throw forbidden(requested, "leads outside the project through a symlink");
    if (after.length === 0 && !followLast) {
      walk(realRoot, pointsTo, requested, true); // its target must be inside too
      return next;
    }
    done = realRoot;
    rest = [...relative(realRoot, pointsTo).split(sep).filter(Boolean), ...after];
  }
  return done;
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw error;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && !rel.startsWith(`..${sep}`));
}

function forbidden(path: string, why: string): RummyError {
  return new RummyError(403, `'${path}' ${why}`);
}

/**
 * Creates the missing directories of `dir` (absolute, inside `realRoot`) one
 * at a time, refusing a symlink found on the way: one created since the
 * destination was checked must not redirect the write.
 */
function makeDirectories(realRoot: string, dir: string, requested: string): void {
  let current = realRoot;
  for (const name of relative(realRoot, dir).split(sep).filter(Boolean)) {
    current = join(current, name);
    try {
      mkdirSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const stats = lstatSync(current);
    if (stats.isSymbolicLink())
      throw forbidden(requested, "leads outside the project through a symlink");
    if (!stats.isDirectory()) throw new RummyError(409, `'${requested}': ${name} is not a folder`);
  }
}

/**
 * Writes `content` to `requested` inside the project, atomically: where it
 * lands is resolved by `realTarget`, missing folders are made, and the file is
 * replaced by rename — an existing file is never opened for writing, so a
 * hard link to a file outside the project is replaced, not written through.
 * Returns the absolute path written.
 */
export function writeInside(root: string, requested: string, content: string | Buffer): string {
  const realRoot = realpathSync(root);
  const path = realTarget(realRoot, requested);
  makeDirectories(realRoot, dirname(path), requested);
  atomicWrite(path, content);
  return path;
}

/** Copies `from` to `to` inside the project with the same guarantees as `writeInside`. */
export function copyInside(root: string, from: string, to: string): string {
  const realRoot = realpathSync(root);
  const source = realTarget(realRoot, from);
  const path = realTarget(realRoot, to);
  makeDirectories(realRoot, dirname(path), to);
  replaceWith(path, (temp) => copyFileSync(source, temp, constants.COPYFILE_EXCL));
  return path;
}

/** Moves `from` (a symlink moves as the link) to `to` inside the project; rename replaces what was at `to`. */
export function moveInside(root: string, from: string, to: string): string {
  const realRoot = realpathSync(root);
  const source = realTarget(realRoot, from, { followLast: false });
  const path = realTarget(realRoot, to);
  makeDirectories(realRoot, dirname(path), to);
  renameSync(source, path);
  return path;
}

/** Removes `requested` inside the project (a symlink is removed, not what it points at). */
export function removeInside(root: string, requested: string): void {
  unlinkSync(realTarget(root, requested, { followLast: false }));
}

/**
 * Writes a file so readers see the old or the new content, never half: a new
 * temp file (O_EXCL | O_NOFOLLOW), fsync, rename over the destination. The
 * rename replaces whatever the last component is — file, hard link or
 * symlink — rather than writing through it.
 */
export function atomicWrite(path: string, content: string | Buffer): void {
  replaceWith(path, (temp) => {
    const fd = openSync(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    try {
      writeSync(fd, typeof content === "string" ? Buffer.from(content, "utf8") : content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

function replaceWith(path: string, fill: (temp: string) => void): void {
  const temp = join(dirname(path), `.${randomBytes(6).toString("hex")}.rummy-tmp`);
  try {
    fill(temp);
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // Never created, or already renamed.
    }
    throw error;
  }
}

/** What rummy keeps in RUMMY_HOME that no project may read or write: its keys and its database. */
const HOME_PRIVATE = /^(\.env.*|rummy\.db.*)$/;

/**
 * Whether a project-relative path is the server's own: inside RUMMY_HOME
 * when the project contains it, or its `.env*` and `rummy.db*` when the
 * project is RUMMY_HOME itself. The scan skips such paths (so keys never
 * become entries the model sees) and the file tools refuse to write them.
 */
export function serverPrivate(home: string, root: string): (relativePath: string) => boolean {
  let realHome: string;
  let realRoot: string;
  try {
    realHome = realpathSync(home);
    realRoot = realpathSync(root);
  } catch {
    return () => false;
  }
  const rel = relative(realRoot, realHome);
  if (rel === "") return (path) => !path.includes("/") && HOME_PRIVATE.test(path);
  if (rel.startsWith("..") || isAbsolute(rel)) return () => false;
  const prefix = rel.split(sep).join("/");
  return (path) => path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * Refuses (403) a change to a readonly path, as named or where the change
 * really lands: a symlink inside the project (`docs -> protected.txt`) must
 * not carry a write to a readonly file. `followLast` as for `realTarget`
 * (false when the change acts on a final symlink itself, as rm and mv do).
 */
export function refuseReadonly(
  readonly: (relativePath: string) => boolean,
  root: string,
  requested: string,
  options: { followLast?: boolean } = {},
): void {
  const realRoot = realpathSync(root);
  const absolute = lexical(realRoot, requested);
  const named = projectPath(realRoot, absolute);
  if (readonly(named)) throw new RummyError(403, `${named} is readonly`);
  const target = projectPath(
    realRoot,
    walk(realRoot, absolute, requested, options.followLast ?? true),
  );
  if (target !== named && readonly(target))
    throw new RummyError(403, `${named} leads to ${target} through a symlink, and it is readonly`);
}

function projectPath(realRoot: string, absolute: string): string {
  return relative(realRoot, absolute).split(sep).join("/");
}

/** Refuses (403) a write to the server's own files; see `serverPrivate`. */
export function refuseServerPrivate(home: string, root: string, requested: string): void {
  const target = relative(realpathSync(root), realTarget(root, requested)).split(sep).join("/");
  if (serverPrivate(home, root)(target))
    throw forbidden(requested, "is the server's own (RUMMY_HOME: keys and database)");
}
