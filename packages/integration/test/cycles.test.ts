// scripts/check-cycles.mjs, the import-cycle check `pnpm lint` runs, on
// small trees written for the purpose: it must fail on every way a file can
// import another (type-only and dynamic imports included) and pass a tree
// whose imports only converge.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";

const SCRIPT = join(import.meta.dirname, "..", "..", "..", "scripts", "check-cycles.mjs");
const root = mkdtempSync(join(tmpdir(), "rummy-cycles-"));
after(() => rmSync(root, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function check(...dirs: string[]) {
  const res = spawnSync(process.execPath, [SCRIPT, ...dirs], { cwd: root, encoding: "utf8" });
  return { code: res.status, out: res.stdout + res.stderr };
}

test("a cycle through import type, export … from and import() fails, named as a file chain", () => {
  const dir = tree("cyclic", {
    "a.ts": `import type { C } from "./b.js";\nexport const a = (c: C) => c;\n`,
    "b.ts": `export { type C, c } from "./c.js";\n`,
    "c.ts": `export type C = number;\nexport const c = () => import("./a.js");\n`,
    "leaf.ts": `export const leaf = 1;\n`,
  });
  const res = check(dir);
  assert.equal(res.code, 1, res.out);
  assert.match(res.out, /1 import cycle\(s\) among 4 files/);
  assert.match(res.out, /cyclic\/a\.ts → cyclic\/b\.ts → cyclic\/c\.ts → cyclic\/a\.ts/);
  assert.doesNotMatch(res.out, /leaf\.ts/, "a file outside the cycle is not named");
});

test("type-position imports, folder indexes and a file importing itself are cycles too", () => {
  const dir = tree("kinds", {
    "types.ts": `export type T = import("./values").V;\n`,
    "values/index.ts": `import type { T } from "../types.js";\nexport type V = { t?: T };\n`,
    "self.ts": `export * from "./self.js";\n`,
  });
  const res = check(dir);
  assert.equal(res.code, 1, res.out);
  assert.match(res.out, /2 import cycle\(s\)/);
  assert.match(res.out, /kinds\/self\.ts → kinds\/self\.ts/);
  assert.match(res.out, /kinds\/types\.ts → kinds\/values\/index\.ts → kinds\/types\.ts/);
});

test("every cycle of a tangle is reported, each file in at least one chain", () => {
  const dir = tree("tangle", {
    "hub.ts": `import "./x.js";\nimport "./y.js";\n`,
    "x.ts": `import "./hub.js";\n`,
    "y.ts": `import "./hub.js";\n`,
  });
  const res = check(dir);
  assert.equal(res.code, 1, res.out);
  assert.match(res.out, /2 import cycle\(s\)/);
  assert.match(res.out, /tangle\/hub\.ts → tangle\/x\.ts → tangle\/hub\.ts/);
  assert.match(res.out, /tangle\/hub\.ts → tangle\/y\.ts → tangle\/hub\.ts/);
});

test("a tree whose imports only converge passes; packages and non-source files are not followed", () => {
  const dir = tree("acyclic", {
    "index.ts": `export { b } from "./b.js";\nimport type { C } from "./c.js";\nexport type Z = C;\n`,
    "b.ts": `import { c } from "./c.js";\nimport { readFileSync } from "node:fs";\nexport const b = () => [c, readFileSync];\n`,
    "c.ts": `import data from "../index.json" with { type: "json" };\nexport const c = data;\nexport type C = typeof c;\n`,
    "docs.md": `see [b](./b.ts), which imports "./index.js"\n`,
  });
  const res = check(dir);
  assert.equal(res.code, 0, res.out);
  assert.match(res.out, /no import cycles among 3 files/);
});

test("the trees are checked together when several are given; a missing one is a usage error", () => {
  const res = check(join(root, "acyclic"), join(root, "cyclic"));
  assert.equal(res.code, 1, res.out);
  assert.match(res.out, /among 7 files/);
  const missing = check(join(root, "nowhere"));
  assert.equal(missing.code, 2);
  assert.match(missing.out, /nowhere is not a directory/);
});
