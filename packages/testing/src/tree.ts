import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * Every file, folder and symlink under `root` with a digest of its content
 * (or its link target): two snapshots are equal exactly when nothing was
 * added, removed or rewritten. For "bad input leaves the home unchanged".
 */
export function treeSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const key = relative(root, full);
      const stat = lstatSync(full);
      if (stat.isSymbolicLink()) out[key] = `-> ${readlinkSync(full)}`;
      else if (stat.isDirectory()) {
        out[key] = "dir";
        walk(full);
      } else out[key] = createHash("sha256").update(readFileSync(full)).digest("hex").slice(0, 16);
    }
  };
  walk(root);
  return out;
}
