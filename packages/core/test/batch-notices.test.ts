import assert from "node:assert/strict";
import { test } from "node:test";
import { newRun, tempCore } from "./helpers.js";

test("a nested batch that throws rolls back and sends no notices; the outer batch's still go", async () => {
  const { core, cleanup } = tempCore();
  try {
    const run = newRun(core);
    const heard: string[] = [];
    core.store.observe((c) => heard.push(c.path));
    assert.equal(core.store.inTransaction, false);
    core.store.batch(() => {
      assert.equal(core.store.inTransaction, true);
      core.store.set({ runId: run.id, path: "known://kept", body: "x", writer: "model" });
      assert.throws(() =>
        core.store.batch(() => {
          core.store.set({ runId: run.id, path: "known://ghost", body: "y", writer: "model" });
          throw new Error("changed my mind");
        }),
      );
      core.store.batch(() =>
        core.store.set({ runId: run.id, path: "known://inner", body: "z", writer: "model" }),
      );
      assert.deepEqual(heard, [], "nothing is heard before the outer commit");
    });
    assert.equal(core.store.inTransaction, false);
    assert.equal(core.store.getOne({ runId: run.id }, "known://ghost"), undefined);
    assert.deepEqual(heard, ["known://kept", "known://inner"]);
    // A batch that throws at the top sends nothing at all.
    assert.throws(() =>
      core.store.batch(() => {
        core.store.set({ runId: run.id, path: "known://gone", body: "w", writer: "model" });
        throw new Error("no");
      }),
    );
    assert.deepEqual(heard, ["known://kept", "known://inner"]);
  } finally {
    await cleanup();
  }
});

test("runs of different projects cannot share views", async () => {
  const { core, cleanup } = tempCore();
  try {
    const a = newRun(core, "alpha");
    core.store.set({ projectId: a.projectId, path: "src/a.ts", body: "a" });
    core.store.addViews({
      runId: a.id,
      views: [{ path: "src/a.ts", visibility: "visible" }],
      turn: 1,
      writer: "plugin",
    });
    const b = newRun(core, "beta");
    assert.throws(
      () => core.store.shareViews(a.id, b.id, 1, "plugin"),
      (e: unknown) => (e as { status?: number }).status === 400,
    );
    assert.deepEqual(core.store.get({ runId: b.id, includeBody: false }), []);
    const sibling = newRun(core, "alpha", "alpha-2");
    assert.equal(core.store.shareViews(a.id, sibling.id, 1, "plugin"), true);
    assert.deepEqual(
      core.store.get({ runId: sibling.id, includeBody: false }).map((e) => e.path),
      ["src/a.ts"],
    );
  } finally {
    await cleanup();
  }
});
