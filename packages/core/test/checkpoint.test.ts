import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger, RummyCore } from "../src/index.js";
import { newRun, tempCore } from "./helpers.js";

const size = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

test("the WAL is checkpointed into the database file while the core stays open, and nothing is lost", async () => {
  const { core, home, cleanup } = tempCore();
  let reopened: RummyCore | undefined;
  try {
    const db = join(home, "rummy.db");
    const run = newRun(core);
    const before = size(db);
    // ~8 MB of commits: past the 1000-page mark where SQLite would checkpoint inside a commit.
    for (let i = 0; i < 400; i++)
      core.store.set({
        runId: run.id,
        path: `known://n${i}`,
        body: "x".repeat(20_000),
        writer: "model",
      });
    assert.ok(size(`${db}-wal`) > 4_000_000, "the commits went to the log, not the database file");
    const deadline = Date.now() + 20_000;
    while (size(db) < before + 8_000_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(size(db) >= before + 8_000_000, "a checkpoint copied the log into the database file");
    await core.close();
    reopened = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
    const entries = reopened.store.get({ runId: run.id, pattern: "known://*", includeBody: false });
    assert.equal(entries.length, 400);
  } finally {
    await reopened?.close();
    await cleanup();
  }
});
