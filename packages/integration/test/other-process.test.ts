import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger, loadPlugins, RummyCore } from "@rummy/core";
import { ENGINE_PLUGINS, rig } from "../src/index.js";

// `rummy acp` and `rummy serve` can share one home: writes one process makes send no change
// notices to the other, whose engine and telemetry keep entries between turns.
test("a write by another process on the same database reaches the next turn's prompt and record", async () => {
  const r = await rig();
  let other: RummyCore | undefined;
  try {
    r.llm.enqueue({
      content: `<known path="known://fact">the old fact</known>\n<update status="200">noted</update>`,
    });
    const first = r.core.engine.submit({
      projectId: r.projectId,
      alias: "shared",
      model: "fake",
      mode: "ask",
      prompt: "remember something",
    });
    const runId = first.run.id;
    assert.equal((await r.core.engine.settled(runId)).status, 200);

    other = RummyCore.open({ home: r.home, env: r.core.env, logger: createLogger("silent") });
    const report = await loadPlugins(other, {
      bundled: [...ENGINE_PLUGINS],
      pluginDir: join(r.home, "none"),
    });
    assert.deepEqual(report.failed, []);
    assert.equal(r.core.store.externalVersion(), r.core.store.externalVersion(), "steady");
    const before = r.core.store.externalVersion();
    other.store.set({ runId, path: "known://fact", body: "the new fact", writer: "model" });
    other.store.set({
      runId,
      path: "known://aside",
      body: "something put away ".repeat(20),
      visibility: "archived",
      writer: "model",
    });
    assert.notEqual(r.core.store.externalVersion(), before, "the other process's commits show");
    const seen = r.core.store.externalVersion();
    r.core.store.set({ runId, path: "known://own", body: "this process", writer: "model" });
    assert.equal(r.core.store.externalVersion(), seen, "this process's own commits do not");

    r.llm.enqueue({ content: `<update status="200">still here</update>` });
    r.core.engine.submit({
      projectId: r.projectId,
      alias: "shared",
      model: "fake",
      mode: "ask",
      prompt: "and again",
    });
    assert.equal((await r.core.engine.settled(runId)).status, 200);
    const prompt = JSON.stringify(r.llm.chatRequests().at(-1)!.body.messages);
    assert.match(prompt, /the new fact/, "the next turn shows the other process's write");
    assert.doesNotMatch(prompt, /the old fact/);

    const record = r.core.store
      .get({ runId, pattern: "audit://turn_*", order: "id", includeBody: false })
      .at(-1)!;
    const archived = r.core.store.get({
      runId,
      scheme: "known",
      visibility: "archived",
      includeBody: false,
    });
    assert.ok(archived.some((e) => e.path === "known://aside"));
    const context = record.attributes.context as {
      archived: Record<string, { count: number; tokens: number }>;
    };
    assert.deepEqual(context.archived.known, {
      count: archived.length,
      tokens: archived.reduce((n, e) => n + e.tokens, 0),
    });
  } finally {
    await other?.close();
    await r.close();
  }
});
