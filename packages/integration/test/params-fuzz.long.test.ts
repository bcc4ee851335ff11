// The long params fuzz: RUMMY_LONG=1 pnpm test params-fuzz.long (RUMMY_FUZZ_RUNS, RUMMY_FUZZ_SEED to vary).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fuzzParams } from "./params-fuzz.js";

const RUNS = Number(process.env.RUMMY_FUZZ_RUNS ?? 300);
const SEED = Number(process.env.RUMMY_FUZZ_SEED ?? Date.now() % 1_000_000);

test(`property: ${RUNS} fuzzed params per RPC method (seed ${SEED})`, async (t) => {
  const report = await fuzzParams(RUNS, SEED);
  t.diagnostic(`seed ${SEED} ${JSON.stringify(report)}`);
  assert.equal(report.calls, report.accepted + report.refused);
});
