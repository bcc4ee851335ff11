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
import { RummyClient } from "@rummy/client";
import type { RunRecord } from "@rummy/core";
import askUser from "@rummy/plugin-ask-user";
import cp from "@rummy/plugin-cp";
import file from "@rummy/plugin-file";
import mv from "@rummy/plugin-mv";
import rm from "@rummy/plugin-rm";
import set from "@rummy/plugin-set";
import { type RummyServer, serverToken, startServer } from "@rummy/server";
import { type Rig, rig } from "../src/index.js";

let r: Rig;
let root: string;
let projectId: number;
let server: RummyServer;
let client: RummyClient;

before(async () => {
  r = await rig({}, [file, rm, cp, mv, set, askUser]);
  root = realpathSync(mkdtempSync(join(tmpdir(), "rummy-ops-")));
  mkdirSync(join(root, "src"));
  writeFileSync(join(root, "src", "old.ts"), "export const x = 1;\n");
  writeFileSync(join(root, "build.log"), "noise\n");
  writeFileSync(join(root, "LICENSE"), "MIT\n");
  mkdirSync(join(root, "logs", "old"), { recursive: true });
  for (const name of ["a.log", "b.log", "old/c.log"])
    writeFileSync(join(root, "logs", name), `${name}\n`);
  writeFileSync(join(root, "logs", "keep.txt"), "keep\n");
  mkdirSync(join(root, "web", "ui"), { recursive: true });
  writeFileSync(join(root, "web", "main.js"), "main\n");
  writeFileSync(join(root, "web", "ui", "button.js"), "button\n");
  projectId = r.core.projects.ensure("ops", root).id;
  r.core.fileConstraints.set(projectId, "LICENSE", "readonly");
  server = await startServer({ core: r.core, port: 0 });
  client = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
  await client.hello("ops", root);
});
after(async () => {
  await client.close();
  await server.close();
  await r.close();
  rmSync(root, { recursive: true, force: true });
});

async function act(
  alias: string,
  replies: string[],
  decision: "accept" | "reject" = "accept",
): Promise<RunRecord> {
  r.llm.enqueue(...replies.map((content) => ({ content })));
  const { run } = r.core.engine.submit({
    projectId,
    alias,
    model: "fake",
    mode: "act",
    prompt: "tidy",
  });
  for (;;) {
    const state = await r.core.engine.settled(run.id);
    if (state.status !== 202) return state;
    for (const p of r.core.store.get({ runId: run.id, state: "proposed" }))
      await r.core.engine.resolve(run.id, p.path, { decision });
  }
}

test("entries: rm (with globs), cp and mv happen at once as the model", async () => {
  const done = await act("entries", [
    `<known path="known://a">1</known>\n<known path="known://scratch/x">x</known>\n<known path="known://scratch/y">y</known>\n<update status="102">noted</update>`,
    `<cp path="known://a" to="known://b"/>\n<mv path="known://b" to="known://c"/>\n<rm path="known://scratch/*"/>\n<update status="200">tidy</update>`,
  ]);
  assert.equal(done.status, 200);
  assert.deepEqual(
    r.core.store.get({ runId: done.id, pattern: "known://*" }).map((e) => [e.path, e.body]),
    [
      ["known://a", "1"],
      ["known://c", "1"],
    ],
  );
});

test("files: mv, cp and rm are proposals carried out on acceptance; rejection changes nothing; readonly is refused", async () => {
  const rejected = await act(
    "reject-ops",
    [
      `<rm path="build.log"/>\n<update status="102">x</update>`,
      `<update status="200">kept</update>`,
    ],
    "reject",
  );
  assert.equal(rejected.status, 200);
  assert.ok(existsSync(join(root, "build.log")), "rejected: still there");

  const done = await act("file-ops", [
    `<mv path="src/old.ts" to="src/new.ts"/>\n<cp path="src/new.ts" to="src/copy.ts"/>\n<rm path="build.log"/>\n<update status="200">moved</update>`,
  ]);
  assert.equal(done.status, 200);
  assert.equal(existsSync(join(root, "src", "old.ts")), false);
  assert.equal(readFileSync(join(root, "src", "new.ts"), "utf8"), "export const x = 1;\n");
  assert.equal(readFileSync(join(root, "src", "copy.ts"), "utf8"), "export const x = 1;\n");
  assert.equal(existsSync(join(root, "build.log")), false);

  const ro = await act("readonly", [
    `<rm path="LICENSE"/>\n<update status="102">x</update>`,
    `<update status="422">cannot</update>`,
  ]);
  assert.equal(r.core.store.get({ runId: ro.id, pattern: "log://turn_1/rm/*" })[0]!.status, 403);
  assert.ok(existsSync(join(root, "LICENSE")));
  const escaped = await act("escape", [
    `<mv path="src/new.ts" to="../elsewhere.ts"/>\n<update status="102">x</update>`,
    `<update status="422">no</update>`,
  ]);
  assert.equal(
    r.core.store.get({ runId: escaped.id, pattern: "log://turn_1/mv/*" })[0]!.status,
    403,
  );
  assert.ok(existsSync(join(root, "src", "new.ts")));
});

test("files: a symlink inside the project does not carry cp, mv or rm to a readonly file", async () => {
  writeFileSync(join(root, "draft.txt"), "draft\n");
  symlinkSync("LICENSE", join(root, "license_link"));
  symlinkSync(".", join(root, "here"));
  for (const [alias, tool, line] of [
    ["cp-link", "cp", `<cp path="draft.txt" to="license_link"/>`],
    ["mv-link", "mv", `<mv path="draft.txt" to="license_link"/>`],
    ["mv-via-dir", "mv", `<mv path="here/LICENSE" to="freed.txt"/>`],
    ["rm-via-dir", "rm", `<rm path="here/LICENSE"/>`],
  ] as const) {
    const done = await act(alias, [
      `${line}\n<update status="102">x</update>`,
      `<update status="422">cannot</update>`,
    ]);
    const [refused] = r.core.store.get({ runId: done.id, pattern: `log://turn_1/${tool}/*` });
    assert.equal(refused!.status, 403, `${alias}: ${String(refused!.attributes.error)}`);
    assert.match(String(refused!.attributes.error), /LICENSE.*readonly/, alias);
  }
  assert.equal(readFileSync(join(root, "LICENSE"), "utf8"), "MIT\n");
  // Removing the link itself leaves what it names alone, so it is allowed.
  const unlinked = await act("rm-link", [
    `<rm path="license_link"/>\n<update status="200">removed</update>`,
  ]);
  assert.equal(unlinked.status, 200);
  assert.equal(existsSync(join(root, "license_link")), false);
  assert.equal(readFileSync(join(root, "LICENSE"), "utf8"), "MIT\n");
  rmSync(join(root, "here"));
  rmSync(join(root, "draft.txt"));
});

test("ask_user over the wire: the client's answer reaches the model; tools are callable through RPC too", async () => {
  r.llm.enqueue({
    content: `<ask_user>Which port?</ask_user>\n<update status="102">asking</update>`,
  });
  r.llm.setHandler((req) => ({
    content: `<update status="200">${/A: 8080/.test(req.body.messages[1].content) ? "port 8080" : "no answer"}</update>`,
  }));
  const proposed = client.waitFor<{ run: string; proposed: { path: string }[] }>(
    "run/proposal",
    (p) => p.run === "asks",
  );
  const done = client.waitFor<{ run: string; status: number; reason: string }>(
    "run/state",
    (s) => s.run === "asks" && s.status === 200,
  );
  await client.call("set", {
    path: "run://asks",
    body: "configure",
    attributes: { model: "fake", mode: "act" },
  });
  const {
    proposed: [p],
  } = await proposed;
  await client.call("set", { run: "asks", path: p!.path, state: "resolved", body: "8080" });
  assert.equal((await done).reason, "port 8080");
  r.llm.setHandler(undefined);
  // The client surface: the same tools by name.
  await client.call("set", { run: "asks", path: "known://note", body: "via rpc" });
  await client.call("cp", { run: "asks", from: "known://note", to: "known://note2" });
  const removed = await client.call<{ ok: boolean }>("rm", { run: "asks", path: "known://note" });
  assert.equal(removed.ok, true);
  assert.deepEqual(
    (await client.call<any[]>("getEntries", { run: "asks", pattern: "known://*" })).map(
      (e) => e.path,
    ),
    ["known://note2"],
  );
});

test("globs: preview lists the steps and changes nothing; a glob proposal lists every file and does them all on accept", async () => {
  const previewed = await act("preview", [
    `<rm path="logs/*.log" preview/>\n<update status="200">looked</update>`,
  ]);
  assert.equal(previewed.status, 200);
  const [preview] = r.core.store.get({ runId: previewed.id, pattern: "log://turn_1/rm/*" });
  assert.equal(
    preview!.body,
    "preview (nothing changed):\nrm logs/a.log\nrm logs/b.log\nrm logs/old/c.log",
  );
  assert.ok(existsSync(join(root, "logs", "a.log")));

  const moved = await act("glob-mv", [
    `<mv path="web/*.js" to="lib/"/>\n<rm path="logs/*.log"/>\n<update status="200">tidied</update>`,
  ]);
  assert.equal(moved.status, 200);
  const [mvLog] = r.core.store.get({ runId: moved.id, pattern: "log://turn_1/mv/*" });
  assert.equal(mvLog!.body, "mv web/main.js → lib/main.js\nmv web/ui/button.js → lib/ui/button.js");
  assert.equal(readFileSync(join(root, "lib", "ui", "button.js"), "utf8"), "button\n");
  assert.equal(existsSync(join(root, "web", "main.js")), false);
  assert.deepEqual(
    ["a.log", "b.log", "old/c.log", "keep.txt"].map((n) => existsSync(join(root, "logs", n))),
    [false, false, false, true],
  );
  assert.ok(r.core.store.getOne({ projectId }, "lib/main.js"), "the file entries follow");
  assert.equal(r.core.store.getOne({ projectId }, "web/main.js"), undefined);

  const refused = await act("glob-refused", [
    `<cp path="lib/*.js" to="copy.js"/>\n<update status="102">x</update>`,
    `<rm path="nothing/*.tmp"/>\n<update status="102">y</update>`,
    `<update status="422">no</update>`,
  ]);
  const statuses = r.core.store
    .get({ runId: refused.id, pattern: "log://turn_*" })
    .filter((e) => /\/(cp|rm)\//.test(e.path))
    .map((e) => e.status);
  assert.deepEqual(statuses.sort(), [400, 404], "a glob needs a directory; no match is a 404");
  assert.ok(!existsSync(join(root, "copy.js")));
});

test("the client surface for files: tool/<name> proposes like the model; the client accepts; escapes are refused", async () => {
  writeFileSync(join(root, "notes.md"), "alpha\nbeta\n");
  await client.call("set", {
    path: "run://client-files",
    body: "idle",
    attributes: { model: "fake", mode: "act" },
  });
  r.llm.enqueue({ content: `<update status="200">ok</update>` });
  await r.core.engine.settled(r.core.runs.byAlias(projectId, "client-files")!.id);

  const edit = await client.call<{ ok: boolean; path: string; state: string }>("tool/set", {
    run: "client-files",
    path: "notes.md",
    body: "<<<<<<< SEARCH\nbeta\n=======\ngamma\n>>>>>>> REPLACE",
  });
  assert.equal(edit.state, "proposed");
  assert.equal(readFileSync(join(root, "notes.md"), "utf8"), "alpha\nbeta\n", "not before accept");
  await client.call("set", { run: "client-files", path: edit.path, state: "resolved" });
  assert.equal(readFileSync(join(root, "notes.md"), "utf8"), "alpha\ngamma\n");

  const removal = await client.call<{ path: string; state: string }>("tool/rm", {
    run: "client-files",
    path: "notes.md",
  });
  assert.equal(removal.state, "proposed");
  await client.call("set", { run: "client-files", path: removal.path, state: "resolved" });
  assert.equal(existsSync(join(root, "notes.md")), false);

  for (const to of ["../outside.md", "/tmp/outside.md", "a\u0000b"]) {
    await assert.rejects(
      client.call("tool/cp", { run: "client-files", path: "LICENSE", attributes: { to } }),
      (error: { code?: number; data?: { status?: number } }) =>
        JSON.stringify(error).includes("403"),
      `cp to ${JSON.stringify(to)} is refused`,
    );
  }
  // The store verb on a file path changes the run's view only, never the disk.
  await client.call("rm", { run: "client-files", path: "LICENSE" });
  assert.ok(existsSync(join(root, "LICENSE")));
});
