import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger, RummyCore } from "@rummy/core";
import { ArchiveCache } from "../src/archive.js";

test("an archive asked for inside a transaction is read from the store and not kept", async () => {
  const home = mkdtempSync(join(tmpdir(), "rummy-telemetry-"));
  const core = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
  try {
    core.schemes.register({
      name: "known",
      category: "data",
      defaultScope: "run",
      writableBy: ["model"],
    });
    const project = core.projects.ensure("t", "/tmp/t");
    const run = core.runs.create({ projectId: project.id });
    const archives = new ArchiveCache(core.store, () => false);
    core.store.observe((change) => archives.notice(change));
    const archivedPaths = () => [...archives.of(run.id, project.id).paths.keys()].sort();
    core.store.set({
      runId: run.id,
      path: "known://a",
      body: "a",
      visibility: "archived",
      writer: "model",
    });
    assert.deepEqual(archivedPaths(), ["known://a"]);
    assert.throws(() =>
      core.store.batch(() => {
        core.store.set({
          runId: run.id,
          path: "known://b",
          body: "b",
          visibility: "archived",
          writer: "model",
        });
        assert.deepEqual(archivedPaths(), ["known://a", "known://b"], "what the store says now");
        throw new Error("abort");
      }),
    );
    assert.deepEqual(archivedPaths(), ["known://a"], "the rolled-back entry is not kept");
  } finally {
    await core.close();
    rmSync(home, { recursive: true, force: true });
  }
});
