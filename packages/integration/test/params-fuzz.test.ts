// The CI slice of the params fuzz; params-fuzz.long.test.ts runs many more cases (RUMMY_LONG=1).
import assert from "node:assert/strict";
import { test } from "node:test";
import { fuzzParams } from "./params-fuzz.js";

test("property: every RPC method, fuzzed params — a result or a clear refusal, never an internal error", async (t) => {
  const report = await fuzzParams(12, 20261125);
  t.diagnostic(JSON.stringify(report));
  assert.ok(report.methods >= 20, `the catalog has the methods (${report.methods})`);
  assert.equal(report.calls, report.accepted + report.refused);
});
