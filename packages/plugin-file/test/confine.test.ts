import assert from "node:assert/strict";
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative } from "node:path";
import { after, before, test } from "node:test";
import { RummyError } from "@rummy/core";
import fc from "fast-check";
import {
  atomicWrite,
  confine,
  copyInside,
  moveInside,
  realTarget,
  refuseReadonly,
  removeInside,
  writeInside,
} from "../src/index.js";

let base: string;
let root: string;
before(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "rummy-confine-")));
  root = join(base, "proj");
  mkdirSync(join(root, "src"), { recursive: true });
  mkdirSync(join(base, "proj-evil"));
  mkdirSync(join(base, "outside"));
  writeFileSync(join(base, "outside", "secret.txt"), "secret");
  symlinkSync(join(base, "outside"), join(root, "linkdir"));
  symlinkSync(join(base, "outside", "secret.txt"), join(root, "link.txt"));
});
after(() => rmSync(base, { recursive: true, force: true }));

const refused = (path: string, why: RegExp) =>
  assert.throws(
    () => confine(root, path),
    (e: unknown) => e instanceof RummyError && e.status === 403 && why.test(e.message),
    path,
  );

test("paths inside the project resolve, including files that do not exist yet", () => {
  assert.equal(confine(root, "src/a.ts"), join(root, "src", "a.ts"));
  assert.equal(confine(root, "src/../README.md"), join(root, "README.md"));
  assert.equal(confine(root, "new/dir/file.ts"), join(root, "new", "dir", "file.ts"));
});

test("every escape is a 403: .., absolute, sibling prefix, symlinked dir or file, NUL", () => {
  refused("../outside/secret.txt", /leaves the project/);
  refused("src/../../outside/secret.txt", /leaves the project/);
  refused("../proj-evil/x", /leaves the project/);
  refused(join(base, "outside", "secret.txt"), /absolute/);
  refused("/etc/passwd", /absolute/);
  refused("linkdir/secret.txt", /symlink/);
  refused("linkdir/new-file.txt", /symlink/);
  refused("link.txt", /symlink/);
  refused("src/a\0.ts", /NUL/);
});

test("refuseReadonly: a readonly file is refused as named and where a symlink inside the project leads", () => {
  const work = join(root, "ro");
  mkdirSync(join(work, "locked"), { recursive: true });
  writeFileSync(join(work, "protected.txt"), "keep");
  symlinkSync("protected.txt", join(work, "alias.txt"));
  symlinkSync("locked", join(work, "door"));
  const readonly = (path: string) => path === "ro/protected.txt" || path.startsWith("ro/locked/");
  const refuses = (path: string, why: RegExp, options?: { followLast?: boolean }) =>
    assert.throws(
      () => refuseReadonly(readonly, root, path, options),
      (e: unknown) => e instanceof RummyError && e.status === 403 && why.test(e.message),
      path,
    );
  refuses("ro/protected.txt", /^ro\/protected\.txt is readonly$/);
  refuses("ro/./protected.txt", /^ro\/protected\.txt is readonly$/);
  refuses("ro/alias.txt", /ro\/alias\.txt leads to ro\/protected\.txt .*readonly/);
  refuses("ro/door/new.txt", /leads to ro\/locked\/new\.txt .*readonly/);
  refuses("ro/door/new.txt", /readonly/, { followLast: false });
  // Acting on the link itself (rm, mv of the link) leaves the file it names alone.
  refuseReadonly(readonly, root, "ro/alias.txt", { followLast: false });
  refuseReadonly(readonly, root, "ro/other.txt");
  rmSync(work, { recursive: true, force: true });
});

test("atomic writes replace content whole and leave no temp files", () => {
  const file = join(root, "src", "atomic.ts");
  atomicWrite(file, "one");
  atomicWrite(file, "two");
  assert.equal(readFileSync(file, "utf8"), "two");
  assert.deepEqual(
    readdirSync(join(root, "src")).filter((f) => f.includes("rummy-tmp")),
    [],
  );
});

test("property: any path built from escape pieces resolves inside the project or is a 403", () => {
  const piece = fc.constantFrom(
    "..",
    ".",
    "src",
    "linkdir",
    "link.txt",
    "proj-evil",
    "outside",
    "secret.txt",
    "",
    "a\u0000b",
    "%2e%2e",
    "..\\..",
    "~",
  );
  let tried = 0;
  let refusedCount = 0;
  fc.assert(
    fc.property(
      fc.array(piece, { minLength: 1, maxLength: 6 }),
      fc.boolean(),
      (parts, absolute) => {
        tried++;
        const requested = (absolute ? "/" : "") + parts.join("/");
        let resolved: string;
        try {
          resolved = confine(root, requested);
        } catch (error) {
          assert.ok(error instanceof RummyError && error.status === 403, String(error));
          refusedCount++;
          return;
        }
        // Where it really lands: the deepest existing part, symlinks followed, must be inside.
        let probe = resolved;
        while (!existsSync(probe)) probe = dirname(probe);
        const rel = relative(realpathSync(root), realpathSync(probe));
        assert.ok(!rel.startsWith("..") && !isAbsolute(rel), `${requested} → ${resolved} (${rel})`);
      },
    ),
    { numRuns: 2000, seed: 42 },
  );
  assert.equal(tried, 2000);
  assert.ok(refusedCount > 0 && refusedCount < tried, "both outcomes were exercised");
});

/** Everything outside the project, as path → content or link target: nothing may appear or change. */
function outsideSnapshot(): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (full === root) continue;
      const stats = lstatSync(full);
      if (stats.isSymbolicLink()) out.set(full, `-> ${readlinkSync(full)}`);
      else if (stats.isDirectory()) {
        out.set(full, "dir");
        visit(full);
      } else out.set(full, readFileSync(full, "utf8"));
    }
  };
  visit(base);
  return out;
}

test("a dangling symlink aimed outside is refused for every write; the outside file never appears", () => {
  symlinkSync(join(base, "outside", "new.txt"), join(root, "dangling"));
  symlinkSync("../outside/new-dir", join(root, "dangling-dir"));
  writeFileSync(join(root, "payload.txt"), "payload");
  const before = outsideSnapshot();
  const writes: (() => unknown)[] = [
    () => confine(root, "dangling"),
    () => confine(root, "dangling-dir/file.txt"),
    () => realTarget(root, "dangling"),
    () => writeInside(root, "dangling", "x"),
    () => writeInside(root, "dangling-dir/deep/file.txt", "x"),
    () => copyInside(root, "payload.txt", "dangling"),
    () => moveInside(root, "payload.txt", "dangling"),
    () => removeInside(root, "dangling"),
  ];
  for (const write of writes)
    assert.throws(write, (e: unknown) => e instanceof RummyError && e.status === 403);
  assert.deepEqual(outsideSnapshot(), before);
  assert.equal(existsSync(join(base, "outside", "new.txt")), false);
  assert.equal(readFileSync(join(root, "payload.txt"), "utf8"), "payload", "the source is kept");
});

test("symlinks that stay inside are followed, dangling or not; rm and mv act on the link itself", () => {
  symlinkSync("src/fresh.txt", join(root, "inside-dangling"));
  assert.equal(realTarget(root, "inside-dangling"), join(root, "src", "fresh.txt"));
  writeInside(root, "inside-dangling", "fresh");
  assert.equal(readFileSync(join(root, "src", "fresh.txt"), "utf8"), "fresh");
  assert.ok(lstatSync(join(root, "inside-dangling")).isSymbolicLink(), "the link is kept");
  moveInside(root, "inside-dangling", "moved-link");
  assert.ok(lstatSync(join(root, "moved-link")).isSymbolicLink());
  removeInside(root, "moved-link");
  assert.equal(
    existsSync(join(root, "src", "fresh.txt")),
    true,
    "rm removed the link, not the file",
  );
  symlinkSync("loop-b", join(root, "loop-a"));
  symlinkSync("loop-a", join(root, "loop-b"));
  assert.throws(() => realTarget(root, "loop-a/x"), /too many symlinks/);
});

test("a hard link to an outside file is replaced by writes, never written through", () => {
  const outsideFile = join(base, "outside", "hard-target.txt");
  writeFileSync(outsideFile, "outside original");
  const writes: [string, (name: string) => unknown][] = [
    ["set", (name) => writeInside(root, name, "overwritten")],
    ["atomic", (name) => atomicWrite(join(root, name), "overwritten")],
    ["cp", (name) => copyInside(root, "src/atomic.ts", name)],
    ["mv", (name) => moveInside(root, "src/moving.txt", name)],
    ["rm", (name) => removeInside(root, name)],
  ];
  for (const [label, write] of writes) {
    const name = `hard-${label}.txt`;
    linkSync(outsideFile, join(root, name));
    writeFileSync(join(root, "src", "moving.txt"), "moved");
    write(name);
    assert.equal(readFileSync(outsideFile, "utf8"), "outside original", `${label} left it alone`);
  }
  assert.equal(readFileSync(join(root, "hard-set.txt"), "utf8"), "overwritten");
  assert.equal(
    lstatSync(outsideFile).nlink,
    1,
    "every link in the project was replaced or removed",
  );
});

test("property: writes with dangling links, hard links and parents swapped for symlinks between check and write never touch the outside", (t) => {
  const work = join(root, "prop");
  const reset = () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, "dir", "sub"), { recursive: true });
    writeFileSync(join(work, "file.txt"), "inside");
    writeFileSync(join(base, "outside", "linked.txt"), "outside linked");
    linkSync(join(base, "outside", "linked.txt"), join(work, "hard.txt"));
    symlinkSync(join(base, "outside", "prop-new.txt"), join(work, "dangling"));
    symlinkSync("../../outside/prop-dir", join(work, "dangling-dir"));
    symlinkSync("dir", join(work, "inlink"));
    symlinkSync("dir/none.txt", join(work, "in-dangling"));
  };
  const piece = fc.constantFrom(
    "file.txt",
    "hard.txt",
    "dangling",
    "dangling-dir",
    "inlink",
    "in-dangling",
    "dir",
    "sub",
    "new",
    "..",
    ".",
  );
  // Mostly one component, so the dangerous names are hit often; sometimes a longer way there.
  const path = fc
    .oneof(
      { arbitrary: piece.map((p) => [p]), weight: 4 },
      { arbitrary: fc.array(piece, { minLength: 2, maxLength: 4 }), weight: 1 },
    )
    .map((p) => `prop/${p.join("/")}`);
  const source = fc.constantFrom("file.txt", "hard.txt", "in-dangling", "inlink", "dangling");
  reset();
  const before = outsideSnapshot();
  let written = 0;
  let refusedCount = 0;
  let swapped = 0;
  fc.assert(
    fc.property(
      fc.constantFrom("set", "cp", "mv", "rm"),
      source.map((p) => `prop/${p}`),
      path,
      fc.option(fc.nat(3), { nil: undefined }),
      (op, from, to, swapAt) => {
        reset();
        try {
          // The proposal's check…
          confine(root, from);
          confine(root, to);
          // …then, before acceptance, a folder on the destination's way becomes a symlink outside.
          if (swapAt !== undefined) {
            const parts = to.split("/").slice(0, -1);
            const parent = join(root, ...parts.slice(0, Math.min(parts.length, swapAt + 2)));
            if (parent.startsWith(`${work}/`) && inside(work, parent)) {
              rmSync(parent, { recursive: true, force: true });
              mkdirSync(dirname(parent), { recursive: true });
              symlinkSync(join(base, "outside"), parent);
              swapped++;
            }
          }
          if (op === "set") writeInside(root, to, "payload");
          else if (op === "cp") copyInside(root, from, to);
          else if (op === "mv") moveInside(root, from, to);
          else removeInside(root, to);
          written++;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          assert.ok(
            error instanceof RummyError ||
              ["ENOENT", "EISDIR", "ENOTDIR", "ENOTEMPTY", "EINVAL", "EEXIST"].includes(code ?? ""),
            String(error),
          );
          refusedCount++;
        }
        assert.deepEqual(outsideSnapshot(), before, `${op} ${from} → ${to} (swap ${swapAt})`);
      },
    ),
    { numRuns: 600, seed: 19 },
  );
  rmSync(work, { recursive: true, force: true });
  t.diagnostic(
    `600 operations: ${written} written, ${refusedCount} refused, ${swapped} parents swapped`,
  );
  assert.ok(written > 0 && refusedCount > 0 && swapped > 0, "writes, refusals and swaps happened");
});

function inside(parent: string, path: string): boolean {
  const rel = relative(parent, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}
