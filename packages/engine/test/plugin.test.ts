import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createLogger, RummyCore } from "@rummy/core";
import engine, { AgentEngine } from "../src/index.js";
import { tempCore } from "./helpers.js";

test("the plugin installs the agent loop as core.engine with the environment's limits", async () => {
  const { core, cleanup } = await tempCore({ RUMMY_MAX_TURNS: "7" });
  try {
    assert.ok(core.engine instanceof AgentEngine);
    assert.equal((core.engine as AgentEngine).config.RUMMY_MAX_TURNS, 7);
    assert.equal(
      (core.engine as AgentEngine).config.RUMMY_COMMAND_WAIT,
      60,
      "defaults fill the rest",
    );
    assert.ok(core.plugins.some((p) => p.name === "engine"));
  } finally {
    await cleanup();
  }
});

test("a bad engine setting fails the plugin's load, one line per key, and no engine is installed", async () => {
  const home = mkdtempSync(join(tmpdir(), "rummy-engine-bad-"));
  const core = RummyCore.open({
    home,
    env: { RUMMY_MAX_TURNS: "lots", RUMMY_BUDGET_CEILING: "2" },
    logger: createLogger("silent"),
  });
  try {
    const result = await core.use(engine);
    assert.ok("error" in result);
    assert.match(result.error, /RUMMY_MAX_TURNS="lots"/);
    assert.match(result.error, /RUMMY_BUDGET_CEILING=2: must be between 0.1 and 1/);
    assert.throws(() => core.engine, /no engine loaded: add @rummy\/engine/);
  } finally {
    await core.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test("closing the core stops a run that is waiting on the model", async () => {
  const { core, cleanup } = await tempCore();
  let aborted: unknown;
  let called!: () => void;
  const calling = new Promise<void>((r) => (called = r));
  core.providers.register(
    {
      name: "stall",
      complete: (request) =>
        new Promise((_, reject) => {
          called();
          request.signal?.addEventListener("abort", () => {
            aborted = request.signal?.reason;
            reject(request.signal?.reason);
          });
        }),
    },
    "test",
  );
  const project = core.projects.ensure("p", "/tmp/p");
  const { run } = core.engine.submit({
    projectId: project.id,
    model: "stall/m",
    mode: "ask",
    prompt: "wait",
  });
  await calling;
  const settled = core.engine.settled(run.id);
  await cleanup();
  await settled;
  assert.match(String((aborted as Error)?.message), /the server is shutting down/);
});
