// The CI slice of the load suite; load.long.test.ts drives many more clients (RUMMY_LONG=1).
import assert from "node:assert/strict";
import { test } from "node:test";
import { measureLoad, summarize } from "./load-suite.js";

test("load: 10 clients × 2 runs against the real server; every run answers from its own entries", async (t) => {
  const result = await measureLoad(10, 2);
  const figures = summarize(result);
  t.diagnostic(JSON.stringify(figures));
  assert.equal(result.load.runs, 20);
  assert.deepEqual(result.load.failures, []);
  assert.equal(result.load.lost, 0);
  assert.equal(result.load.completed, 20);
  assert.ok(result.load.latenciesMs.length > 60, "probes ran while the runs worked");
  assert.ok(result.loadStatus.eventLoopDelayMs.windowSeconds > 0, "the server measured its loop");
});
