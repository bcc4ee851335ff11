import assert from "node:assert/strict";
import { test } from "node:test";
import type { RummyCore } from "@rummy/core";
import { newRun, tempCore } from "./helpers.js";

const views = (core: RummyCore, runId: number) =>
  core.store
    .get({ runId, order: "path", includeBody: false })
    .map((e) => `${e.path}:${e.visibility}:${e.turn}:${e.writeCount}:${e.writer}`);

test("a fork inherits the parent's shared views; its copies of the parent's own views win", async () => {
  const { core, cleanup } = await tempCore();
  try {
    const parent = newRun(core, "p", "parent");
    for (const f of ["x.ts", "y.ts"])
      core.store.set({ projectId: parent.projectId, path: f, body: f, writer: "client" });
    core.store.addViews({
      runId: parent.id,
      views: [
        { path: "x.ts", visibility: "summarized" },
        { path: "y.ts", visibility: "archived" },
      ],
      turn: 1,
    });
    core.store.set({ runId: parent.id, path: "y.ts", visibility: "visible", writer: "model" });
    core.store.set({ runId: parent.id, path: "known://k", body: "k", writer: "model" });
    const child = core.engine.fork(parent.id, "child");
    assert.deepEqual(views(core, child.id), [
      "known://k:visible:0:1:system",
      "x.ts:summarized:0:1:system",
      "y.ts:visible:0:1:system",
    ]);
    assert.deepEqual([...core.store.sharedOnly(child.id)].length, 1);
  } finally {
    await cleanup();
  }
});
