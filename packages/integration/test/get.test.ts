import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { RunRecord } from "@rummy/core";
import get from "@rummy/plugin-get";
import { type Rig, rig } from "../src/index.js";

let r: Rig;
before(async () => {
  r = await rig({ RUMMY_CONTEXT_DEFAULT: "4096", RUMMY_MAX_ENTRY_TOKENS: "100000" }, [get]);
  r.core.models.upsert({
    alias: "tiny",
    target: "openai/tiny-model",
    contextLength: null,
    source: "client",
  });
});
after(() => r.close());

async function run(
  alias: string,
  replies: string[],
  setup?: (run: RunRecord) => void,
): Promise<RunRecord> {
  const run = r.core.runs.create({ projectId: r.projectId, alias, model: "tiny" });
  setup?.(run);
  r.llm.enqueue(...replies.map((content) => ({ content })));
  r.core.engine.submit({ projectId: r.projectId, alias, mode: "ask", prompt: "q" });
  return r.core.engine.settled(run.id);
}
const entry = (run: RunRecord, path: string) => r.core.store.getOne({ runId: run.id }, path)!;

test("a demoted entry is read back with <get>: visible again, body intact", async () => {
  const body = "an observation about the code base ".repeat(80).trim();
  const done = await run(
    "demoted",
    [
      `<get path="known://observation"/>\n<update status="102">reading it again</update>`,
      `<update status="200">done</update>`,
    ],
    (run) =>
      r.core.store.set({
        runId: run.id,
        path: "known://observation",
        body,
        visibility: "summarized",
        writer: "model",
      }),
  );
  assert.equal(done.status, 200);
  const [first, second] = r.llm
    .chatRequests()
    .slice(-2)
    .map((q) => q.body.messages[1].content as string);
  assert.ok(!first!.includes(body), "summarized: only a tile before <get>");
  assert.ok(second!.includes(body), "after <get> the next prompt carries the whole body");
  assert.equal(entry(done, "known://observation").visibility, "visible");
  assert.equal(entry(done, "known://observation").state, "resolved");
});

test("a line range is returned numbered in the log, without promoting anything", async () => {
  const done = await run(
    "ranges",
    [
      `<get path="known://notes" lines="2-3"/>\n<get path="known://notes" lines="-1"/>\n<update status="200">read</update>`,
    ],
    (run) =>
      r.core.store.set({
        runId: run.id,
        path: "known://notes",
        body: "a\nb\nc\nd\n",
        visibility: "summarized",
        writer: "model",
      }),
  );
  assert.equal(done.status, 200);
  const logs = r.core.store.get({ runId: done.id, pattern: "log://turn_1/get/*", order: "id" });
  assert.deepEqual(
    logs.map((l) => l.body),
    ["2:\tb\n3:\tc", "4:\td"],
  );
  assert.equal(logs[0]!.attributes.total, 4);
  assert.equal(entry(done, "known://notes").visibility, "summarized", "not promoted");
});

test("globs and body filters promote every match; binary content is a soft 405; no match is a 404", async () => {
  const done = await run(
    "globs",
    [
      `<get path="known://db/*">postgres</get>\n<get path="known://logo.png"/>\n<update status="102">looking</update>`,
      `<get path="known://nothing/*"/>\n<update status="102">more</update>`,
      `<update status="200">done</update>`,
    ],
    (run) => {
      for (const [p, body] of [
        ["known://db/main", "postgres 16"],
        ["known://db/cache", "redis"],
        ["known://db/replica", "postgres replica"],
        ["known://logo.png", "\u0089PNG..."],
      ]) {
        r.core.store.set({
          runId: run.id,
          path: p!,
          body: body!,
          visibility: "archived",
          writer: "model",
        });
      }
    },
  );
  assert.equal(done.status, 200);
  assert.deepEqual(
    ["known://db/main", "known://db/replica", "known://db/cache"].map(
      (p) => entry(done, p).visibility,
    ),
    ["visible", "visible", "archived"],
  );
  const png = entry(done, "log://turn_1/get/logo_png");
  assert.equal(png.state, "resolved", "soft: not a failure");
  assert.equal(png.status, 405);
  assert.match(png.body, /image\/png fetch unsupported/);
  assert.equal(entry(done, "known://logo.png").visibility, "archived");
  const missing = entry(done, "log://turn_2/get/nothing");
  assert.equal(missing.status, 404);
});
