import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger, RummyCore } from "../src/index.js";

test("a new home and its database are the user's alone (0700 folder, 0600 database, WAL and SHM)", async () => {
  const parent = mkdtempSync(join(tmpdir(), "rummy-files-"));
  const home = join(parent, "home");
  const core = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
  try {
    const project = core.projects.ensure("p", parent);
    const run = core.runs.create({ projectId: project.id, alias: "r" });
    core.store.set({ runId: run.id, path: "known://secret", body: "a password", writer: "model" });
    const mode = (path: string) => statSync(path).mode & 0o777;
    assert.equal(mode(home), 0o700);
    for (const file of ["rummy.db", "rummy.db-wal", "rummy.db-shm"]) {
      assert.equal(mode(join(home, file)), 0o600, file);
    }
  } finally {
    await core.close();
    rmSync(parent, { recursive: true, force: true });
  }
});
