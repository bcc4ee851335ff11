import assert from "node:assert/strict";
import { test } from "node:test";
import { ShownEntries } from "../src/shown.js";
import { newRun, tempCore } from "./helpers.js";

test("shown entries read inside a transaction come from the store and a rollback leaves nothing kept", async () => {
  const { core, cleanup } = await tempCore();
  try {
    const run = newRun(core);
    const shown = new ShownEntries(core);
    const fresh = () =>
      core.store
        .get({ runId: run.id, visibility: ["visible", "summarized"], order: "id" })
        .map((e) => [e.path, e.body]);
    const held = () => shown.read(run.id).map((e) => [e.path, e.body]);
    core.store.set({ runId: run.id, path: "known://a", body: "one", writer: "model" });
    assert.deepEqual(held(), fresh());
    core.store.batch(() => {
      core.store.set({ runId: run.id, path: "known://b", body: "two", writer: "model" });
      assert.deepEqual(held(), fresh(), "inside the batch: what the store says now");
    });
    assert.deepEqual(held(), fresh());
    // A path marked stale before the batch, read inside it, then rolled back.
    core.store.set({ runId: run.id, path: "known://a", body: "committed", writer: "model" });
    assert.throws(() =>
      core.store.batch(() => {
        core.store.set({ runId: run.id, path: "known://a", body: "rolled back", writer: "model" });
        shown.read(run.id);
        throw new Error("abort");
      }),
    );
    assert.deepEqual(held(), fresh());
    assert.equal(shown.read(run.id).find((e) => e.path === "known://a")?.body, "committed");
  } finally {
    await cleanup();
  }
});
