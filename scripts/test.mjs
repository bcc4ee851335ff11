#!/usr/bin/env node
// One node:test run over every package's tests, so the output ends with a
// single summary CI can read. Long suites (*.long.test.ts) run only when
// RUMMY_LONG=1; CI runs their short deterministic slices instead.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const only = process.argv.slice(2);
// Naming a long suite (`pnpm test chaos.long`) runs it without RUMMY_LONG.
const long = process.env.RUMMY_LONG === "1" || only.some((o) => o.includes(".long"));

function collect(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) collect(full, out);
    else if (name.endsWith(".test.ts") && (long || !name.endsWith(".long.test.ts"))) out.push(full);
  }
  return out;
}

let files = [];
for (const top of ["packages", "apps"]) {
  for (const pkg of readdirSync(join(root, top), { withFileTypes: true })) {
    if (pkg.isDirectory()) collect(join(root, top, pkg.name, "test"), files);
  }
}
if (only.length) files = files.filter((f) => only.some((o) => relative(root, f).includes(o)));
files.sort();

// Node applies --test-timeout to each file as a whole. The distribution test
// builds, publishes and installs with native compiles (minutes, more on a busy
// machine), so a run that includes it allows every file 30 minutes; other
// runs keep two.
const SLOW_FILES = ["packages/integration/test/distribution."];
const slow = files.some((f) => SLOW_FILES.some((s) => relative(root, f).startsWith(s)));
const args = [
  "--import",
  "tsx",
  "--test",
  "--test-concurrency=2",
  `--test-timeout=${slow ? 1_800_000 : 120_000}`,
  ...files.map((f) => relative(root, f)),
];
const child = spawn(process.execPath, args, { cwd: root, stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
