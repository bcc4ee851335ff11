import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger, RummyCore } from "@rummy/core";
import { scanProject } from "../src/index.js";

test("files deleted while the project is scanned are skipped, never an error", async (t) => {
  const base = mkdtempSync(join(tmpdir(), "rummy-scan-churn-"));
  const root = join(base, "project");
  mkdirSync(root);
  const core = RummyCore.open({
    home: join(base, "home"),
    logger: createLogger("silent"),
    env: {},
  });
  const project = core.projects.ensure("churn", root);
  // Another process keeps creating and deleting files, as other programs do in a real tree.
  const churn = spawn(
    "sh",
    ["-c", `cd ${root}; while :; do for i in $(seq 1 200); do echo x > f$i; done; rm -f f*; done`],
    { stdio: "ignore" },
  );
  try {
    let scans = 0;
    let sawFiles = 0;
    for (; scans < 150; scans++) {
      const result = scanProject(core, project.id, root, new Map(), {
        maxFiles: 5000,
        maxFileBytes: 1_000_000,
      });
      if (result.added.length > 0) sawFiles++;
      await new Promise((res) => setImmediate(res));
    }
    t.diagnostic(`${scans} scans under churn, ${sawFiles} found files`);
    assert.ok(sawFiles > 0, "the churn was visible to the scans");
  } finally {
    churn.kill("SIGKILL");
    await new Promise((res) => churn.once("close", res));
    await core.close();
    rmSync(base, { recursive: true, force: true });
  }
});
