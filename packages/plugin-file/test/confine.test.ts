import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
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
import { atomicWrite, confine } from "../src/index.js";

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
