import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { RunRecord } from "@rummy/core";
import file from "@rummy/plugin-file";
import get from "@rummy/plugin-get";
import set from "@rummy/plugin-set";
import { type Rig, rig } from "../src/index.js";

let r: Rig;
let base: string;
let root: string;
let projectId: number;
const APP = "export function start() {\n    const port = 3000;\n    return port;\n}\n";

before(async () => {
  r = await rig({}, [file, get, set]);
  base = realpathSync(mkdtempSync(join(tmpdir(), "rummy-set-")));
  root = join(base, "proj");
  mkdirSync(join(root, "src"), { recursive: true });
  mkdirSync(join(base, "outside"));
  writeFileSync(join(root, "src", "app.ts"), APP);
  writeFileSync(join(root, "package.json"), '{ "name": "demo" }\n');
  symlinkSync(join(base, "outside"), join(root, "out-link"));
  projectId = r.core.projects.ensure("edits", root).id;
  r.core.fileConstraints.set(projectId, "package.json", "readonly");
});
after(async () => {
  await r.close();
  rmSync(base, { recursive: true, force: true });
});

async function act(
  alias: string,
  replies: string[],
  decide: "accept" | "reject" | "none" = "accept",
  mode: "ask" | "act" = "act",
): Promise<RunRecord> {
  r.llm.enqueue(...replies.map((content) => ({ content })));
  const { run } = r.core.engine.submit({ projectId, alias, model: "fake", mode, prompt: "edit" });
  for (;;) {
    const state = await r.core.engine.settled(run.id);
    if (state.status !== 202) return state;
    const [pending] = r.core.store.get({ runId: run.id, state: "proposed" });
    await r.core.engine.resolve(run.id, pending!.path, {
      decision: decide === "reject" ? "reject" : "accept",
    });
  }
}
const log = (run: RunRecord, pattern: string) =>
  r.core.store.get({ runId: run.id, pattern, order: "id" });

test("a SEARCH/REPLACE edit is proposed with a diff and written on accept; the file entry follows", async () => {
  const edit = `<set path="src/app.ts">\n<<<<<<< SEARCH\n    const port = 3000;\n=======\n    const port = Number(process.env.PORT ?? 3000);\n>>>>>>> REPLACE\n</set>\n<update status="102">edited</update>`;
  const done = await act("search-replace", [edit, `<update status="200">done</update>`]);
  assert.equal(done.status, 200);
  const expected = APP.replace(
    "const port = 3000;",
    "const port = Number(process.env.PORT ?? 3000);",
  );
  assert.equal(readFileSync(join(root, "src", "app.ts"), "utf8"), expected);
  const [proposal] = log(done, "log://turn_1/set/*");
  assert.match(
    String(proposal!.attributes.patch),
    /- {4}const port = 3000;\n\+ {4}const port = Number\(process.env.PORT \?\? 3000\);/,
  );
  assert.equal(
    proposal!.attributes.merge,
    "<<<<<<< SEARCH\n    const port = 3000;\n=======\n    const port = Number(process.env.PORT ?? 3000);\n>>>>>>> REPLACE",
  );
  assert.equal(proposal!.state, "resolved");
  assert.equal(r.core.store.getOne({ projectId }, "src/app.ts")!.body, expected);
  writeFileSync(join(root, "src", "app.ts"), APP);
});

test("whole-file writes create files; indentation drift in SEARCH is tolerated and re-indented", async () => {
  const drift = `<set path="src/app.ts">\n<<<<<<< SEARCH\nconst port = 3000;\nreturn port;\n=======\nconst port = 8080;\nreturn port;\n>>>>>>> REPLACE\n</set>`;
  const done = await act("create", [
    `<set path="src/new/util.ts">export const two = 2;</set>\n${drift}\n<update status="200">ok</update>`,
  ]);
  assert.equal(done.status, 200);
  assert.equal(
    readFileSync(join(root, "src", "new", "util.ts"), "utf8"),
    "export const two = 2;",
    "exactly what the model wrote: no trailing newline is added",
  );
  assert.match(
    readFileSync(join(root, "src", "app.ts"), "utf8"),
    /\n {4}const port = 8080;\n {4}return port;\n/,
  );
  writeFileSync(join(root, "src", "app.ts"), APP);
});

test("every hedberg syntax reaches the disk through <set>: unified diff, sed, attributes", async () => {
  const diff = `<set path="src/app.ts">\n@@ -2,1 +2,1 @@\n-    const port = 3000;\n+    const port = 5000;\n</set>`;
  const sed = `<set path="src/app.ts">s/return port;/return port + 1;/</set>`;
  const attrs = `<set path="src/app.ts" search="export function start()" replace="export function boot()"/>`;
  const done = await act("syntaxes", [
    `${diff}\n${sed}\n${attrs}\n<update status="200">done</update>`,
  ]);
  assert.equal(done.status, 200);
  assert.equal(
    readFileSync(join(root, "src", "app.ts"), "utf8"),
    "export function boot() {\n    const port = 5000;\n    return port + 1;\n}\n",
  );
  writeFileSync(join(root, "src", "app.ts"), APP);
});

test("a SEARCH that does not match is a 409 naming the nearest line; nothing is touched", async () => {
  const miss = `<set path="src/app.ts">\n<<<<<<< SEARCH\n    const port = 4000;\n=======\n    const port = 1;\n>>>>>>> REPLACE\n</set>\n<update status="102">x</update>`;
  const done = await act("miss", [miss, `<update status="422">could not edit</update>`]);
  assert.equal(done.status, 422);
  const [failed] = log(done, "log://turn_1/set/*");
  assert.equal(failed!.status, 409);
  assert.match(
    String(failed!.attributes.error),
    /does not match the file; nearest line: ".*const port = 3000;"/,
  );
  assert.equal(readFileSync(join(root, "src", "app.ts"), "utf8"), APP);
});

test("readonly files and every path escape are refused with 403; nothing outside is written", async () => {
  for (const [alias, path] of [
    ["ro", "package.json"],
    ["dotdot", "../outside/x.txt"],
    ["abs", join(base, "outside", "y.txt")],
    ["link", "out-link/z.txt"],
    ["nul", "src/a\u0000.ts"],
  ] as const) {
    const done = await act(`escape-${alias}`, [
      `<set path="${path}">pwned</set>\n<update status="102">x</update>`,
      `<update status="422">refused</update>`,
    ]);
    const [refused] = log(done, "log://turn_1/set/*");
    assert.equal(refused!.status, 403, `${alias}: ${String(refused!.attributes.error)}`);
  }
  assert.equal(readFileSync(join(root, "package.json"), "utf8"), '{ "name": "demo" }\n');
  for (const f of ["x.txt", "y.txt", "z.txt"])
    assert.equal(existsSync(join(base, "outside", f)), false);
});

test("a symlink inside the project does not carry a write to a readonly file, proposed or accepted", async () => {
  symlinkSync("package.json", join(root, "docs_link"));
  symlinkSync(".", join(root, "here"));
  for (const path of ["docs_link", "here/package.json"]) {
    const done = await act(`ro-link-${path.length}`, [
      `<set path="${path}">pwned</set>\n<update status="102">x</update>`,
      `<update status="422">refused</update>`,
    ]);
    const [refused] = log(done, "log://turn_1/set/*");
    assert.equal(refused!.status, 403, path);
    assert.match(String(refused!.attributes.error), /package\.json.*readonly/, path);
  }
  // A link made after the proposal: the acceptance checks where the write lands now.
  writeFileSync(join(root, "later.txt"), "plain\n");
  r.llm.enqueue(
    { content: `<set path="later.txt">pwned</set>\n<update status="102">x</update>` },
    { content: `<update status="200">done</update>` },
  );
  const { run } = r.core.engine.submit({
    projectId,
    alias: "ro-later",
    model: "fake",
    mode: "act",
    prompt: "edit",
  });
  assert.equal((await r.core.engine.settled(run.id)).status, 202);
  rmSync(join(root, "later.txt"));
  symlinkSync("package.json", join(root, "later.txt"));
  const [pending] = r.core.store.get({ runId: run.id, state: "proposed" });
  await r.core.engine.resolve(run.id, pending!.path, { decision: "accept" });
  const accepted = r.core.store.getOne({ runId: run.id }, pending!.path)!;
  assert.equal(accepted.state, "failed");
  assert.match(String(accepted.attributes.error), /later\.txt leads to package\.json .*readonly/);
  await r.core.engine.settled(run.id);
  assert.equal(readFileSync(join(root, "package.json"), "utf8"), '{ "name": "demo" }\n');
  for (const link of ["docs_link", "here", "later.txt"]) rmSync(join(root, link));
});

test("entries: <set> writes model-writable schemes with visibility and summary; a rejected file edit is not written", async () => {
  const done = await act(
    "entries",
    [
      `<set path="known://plan" visibility="summarized" summary="three steps">1. read\n2. edit\n3. test</set>\n<set path="src/app.ts">// gone</set>\n<update status="102">x</update>`,
      `<update status="200">ok</update>`,
    ],
    "reject",
  );
  const plan = r.core.store.getOne({ runId: done.id }, "known://plan")!;
  assert.equal(plan.visibility, "summarized");
  assert.equal(plan.attributes.summary, "three steps");
  assert.equal(readFileSync(join(root, "src", "app.ts"), "utf8"), APP, "rejected: not written");
});

test("ask mode: file edits are refused by policy", async () => {
  const done = await act(
    "ask-edit",
    [
      `<set path="src/app.ts">// nope</set>\n<update status="102">x</update>`,
      `<update status="422">read-only</update>`,
    ],
    "none",
    "ask",
  );
  const [refused] = log(done, "log://turn_1/set/*");
  assert.equal(refused!.status, 403);
  assert.equal(readFileSync(join(root, "src", "app.ts"), "utf8"), APP);
});
