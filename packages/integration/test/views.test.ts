import assert from "node:assert/strict";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import file from "@rummy/plugin-file";
import get from "@rummy/plugin-get";
import { type Rig, rig } from "../src/index.js";

/**
 * What runs see of a project with a history: new runs, a run that goes on after the files changed,
 * a fork, a removed and a promoted view, a noRepo run. The snapshot in fixtures/ was recorded with
 * the store as it was before views were shared between runs (every run had its own copy of every
 * file's view), so this proves the sharing changed nothing a run can see or the model is shown.
 * `UPDATE_SNAPSHOT=1` rewrites it — only do that for a change that is meant to alter what runs see.
 */
const SNAPSHOT = join(import.meta.dirname, "fixtures", "views-snapshot.json");

let r: Rig;
let root: string;
let projectId: number;

before(async () => {
  r = await rig({ RUMMY_FILE_SCAN_INTERVAL: "0", RUMMY_FILE_MAX_VIEWS: "3" }, [file, get]);
  root = realpathSync(mkdtempSync(join(tmpdir(), "rummy-views-")));
  for (const name of ["a.ts", "b.ts", "c.ts", "d.ts", "e.ts"])
    writeFileSync(join(root, name), `export const ${name[0]} = 1;\n`);
  projectId = r.core.projects.ensure("views", root).id;
});
after(async () => {
  await r.close();
  rmSync(root, { recursive: true, force: true });
});

async function ask(alias: string, replies: string[], flags = {}) {
  r.llm.enqueue(...replies.map((content) => ({ content })));
  const { run } = r.core.engine.submit({
    projectId,
    alias,
    model: "fake",
    mode: "ask",
    prompt: `question for ${alias}`,
    flags,
  });
  const done = await r.core.engine.settled(run.id);
  assert.equal(done.status, 200, `${alias} ended ${done.status}`);
  return run.id;
}

/** Everything about a run's entries that a client or the model can observe, minus clocks and ids. */
function seen(runId: number) {
  return r.core.store.get({ runId, order: "path" }).map((e) => ({
    path: e.path,
    scope: e.scope.replace(/:\d+$/, ""),
    visibility: e.visibility,
    state: e.state,
    outcome: e.outcome,
    status: e.status,
    turn: e.turn,
    writeCount: e.writeCount,
    writer: e.writer,
    inLoop: e.loopId !== null,
    body: e.scheme === "file" || e.scheme === "known" ? e.body : undefined,
  }));
}

/** What the model was sent, with the parts that carry clocks or ids masked. */
function shown(from: number) {
  return r.llm
    .chatRequests()
    .slice(from)
    .map((q) =>
      (q.body.messages as { role: string; content: string }[]).map((m) => ({
        role: m.role,
        content: m.content
          .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
          .replace(/\d+(\.\d+)? ?(ms|s)\b/g, "<duration>"),
      })),
    );
}

test("a fork and a new run see exactly what they saw before views were shared", async () => {
  const first = await ask("first", [
    `<get path="b.ts"/>\n<known path="known://note">b matters</known>\n<update status="102">reading</update>`,
    `<update status="200">first done</update>`,
  ]);
  // The files change between two loops of the same run: one new (sorting early), one gone.
  writeFileSync(join(root, "aa.ts"), "export const aa = 1;\n");
  unlinkSync(join(root, "e.ts"));
  const before = r.llm.chatRequests().length;
  await ask("first", [`<update status="200">again</update>`]);
  const second = await ask("second", [`<update status="200">second done</update>`]);
  // The run drops one file's view and promotes another; a new file then brings the dropped one back.
  r.core.store.rm({ runId: second, path: "c.ts", writer: "client" });
  r.core.store.set({ runId: second, path: "d.ts", visibility: "visible", writer: "client" });
  writeFileSync(join(root, "f.ts"), "export const f = 1;\n");
  await ask("second", [`<update status="200">second again</update>`]);
  const fork = r.core.engine.fork(first, "first_fork");
  await ask("first_fork", [
    `<get path="c.ts"/>\n<update status="102">more</update>`,
    `<update status="200">fork done</update>`,
  ]);
  const norepo = await ask("norepo", [`<update status="200">no files</update>`], { noRepo: true });
  const third = await ask("third", [`<update status="200">third done</update>`]);

  const snapshot = {
    first: seen(first),
    second: seen(second),
    fork: seen(fork.id),
    norepo: seen(norepo),
    third: seen(third),
    prompts: shown(before),
  };
  if (process.env.UPDATE_SNAPSHOT === "1" || !existsSync(SNAPSHOT))
    writeFileSync(SNAPSHOT, `${JSON.stringify(snapshot, null, 1)}\n`);
  const expected = JSON.parse(readFileSync(SNAPSHOT, "utf8"));
  assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), expected);
  // The scenario exercises what it means to: the limit, the dropped view's return, the fork's copy.
  const fileViews = (rows: ReturnType<typeof seen>) =>
    rows.filter((x) => x.scope === "project").map((x) => `${x.path}:${x.visibility}`);
  assert.deepEqual(fileViews(snapshot.third), [
    "a.ts:summarized",
    "aa.ts:summarized",
    "b.ts:summarized",
    "c.ts:archived",
    "d.ts:archived",
    "f.ts:archived",
  ]);
  assert.ok(fileViews(snapshot.second).includes("c.ts:archived"));
  assert.ok(fileViews(snapshot.second).includes("d.ts:visible"));
  assert.deepEqual(fileViews(snapshot.norepo), []);
  assert.ok(snapshot.fork.some((x) => x.path === "known://note" && x.scope === "run"));
  // getRuns' one-query summaries are each run's latest update, as reading every run would find.
  const newest = r.core.store.newestPerRun(projectId, "log://*/update/*");
  for (const runId of [first, second, fork.id, norepo, third]) {
    const latest = r.core.store.get({ runId, pattern: "log://*/update/*", order: "id" }).at(-1);
    assert.ok(latest);
    assert.equal(newest.get(runId)?.id, latest.id);
    assert.equal(newest.get(runId)?.body, latest.body);
  }
});
