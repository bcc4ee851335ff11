// The long load suite: RUMMY_LONG=1 pnpm test load.long (RUMMY_LOAD_CLIENTS, RUMMY_LOAD_RUNS to vary).
import assert from "node:assert/strict";
import { test } from "node:test";
import { measureLoad, summarize } from "./load-suite.js";

const CLIENTS = Number(process.env.RUMMY_LOAD_CLIENTS ?? 100);
const RUNS = Number(process.env.RUMMY_LOAD_RUNS ?? 5);

test(`load: ${CLIENTS} clients × ${RUNS} runs; nothing lost`, async (t) => {
  const result = await measureLoad(CLIENTS, RUNS);
  t.diagnostic(JSON.stringify(summarize(result)));
  assert.deepEqual(result.load.failures, []);
  assert.equal(result.load.lost, 0);
  assert.equal(result.load.completed, CLIENTS * RUNS);
});
