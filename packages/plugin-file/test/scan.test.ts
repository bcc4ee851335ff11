import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger, RummyCore } from "@rummy/core";
import { refuseServerPrivate, scanProject } from "../src/index.js";

const options = { maxFiles: 5000, maxFileBytes: 1_000_000 };

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

test("the server's own files are never scanned into entries: RUMMY_HOME inside the project, or its keys and database when it is the project", async () => {
  const base = realpathSync(mkdtempSync(join(tmpdir(), "rummy-scan-home-")));
  const root = join(base, "project");
  const home = join(root, ".rummy");
  mkdirSync(join(home, "skills"), { recursive: true });
  writeFileSync(join(home, ".env"), "OPENAI_API_KEY=sk-scan-secret\n");
  writeFileSync(join(home, "skills", "a.md"), "skill");
  writeFileSync(join(root, ".env"), "PROJECT_SETTING=1\n");
  writeFileSync(join(root, "main.ts"), "code");
  const core = RummyCore.open({ home, logger: createLogger("silent"), env: {} });
  try {
    const inside = core.projects.ensure("contains-home", root);
    const scanned = scanProject(core, inside.id, root, new Map(), options);
    assert.deepEqual(
      scanned.added.sort(),
      [".env", "main.ts"],
      "the project's own .env is its file",
    );
    const own = core.projects.ensure("is-home", home);
    const homeScan = scanProject(core, own.id, home, new Map(), options);
    assert.deepEqual(homeScan.added, ["skills/a.md"], "no .env, no rummy.db*");
    for (const [r, path] of [
      [root, ".rummy/.env"],
      [root, ".rummy/skills/b.md"],
      [home, ".env"],
      [home, "rummy.db"],
    ] as const)
      assert.throws(() => refuseServerPrivate(home, r, path), /server's own/, path);
    refuseServerPrivate(home, root, ".env");
    refuseServerPrivate(home, home, "skills/.env");
  } finally {
    await core.close();
    rmSync(base, { recursive: true, force: true });
  }
});
