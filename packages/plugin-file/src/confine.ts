import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { RummyError } from "@rummy/core";

/**
 * Resolves a project-relative path to an absolute one inside `root`, or
 * refuses with 403. Refused: NUL bytes, absolute paths, `..` that climbs
 * out, sibling prefixes (`/proj-evil` is not inside `/proj`), and symlinks —
 * of the file or any parent, existing or not yet — that lead outside.
 */
export function confine(root: string, requested: string): string {
  if (requested.includes("\0")) throw forbidden(requested, "contains a NUL byte");
  if (isAbsolute(requested) || /^[A-Za-z]:[\\/]/.test(requested))
    throw forbidden(requested, "is absolute; use a path relative to the project");
  const realRoot = realpathSync(root);
  const target = resolve(realRoot, requested);
  if (!inside(realRoot, target)) throw forbidden(requested, "leaves the project");
  // Follow symlinks: the deepest part that exists must resolve inside the root.
  let probe = target;
  while (!existsSync(probe) && probe !== realRoot) probe = dirname(probe);
  const real = realpathSync(probe);
  if (!inside(realRoot, real))
    throw forbidden(requested, "leads outside the project through a symlink");
  return target;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && !rel.startsWith(`..${sep}`));
}

function forbidden(path: string, why: string): RummyError {
  return new RummyError(403, `'${path}' ${why}`);
}

/** Writes a file so readers see the old or the new content, never half: temp file, fsync, rename. */
export function atomicWrite(path: string, content: string): void {
  const temp = join(dirname(path), `.${randomBytes(6).toString("hex")}.rummy-tmp`);
  const fd = openSync(temp, "w", 0o644);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // The rename failed; the temp file may already be gone.
    }
    throw error;
  }
}
