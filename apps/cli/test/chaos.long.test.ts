// The long chaos suite: RUMMY_LONG=1 pnpm test chaos.long (RUMMY_CHAOS_KILLS, RUMMY_CHAOS_SEED to vary).
// chaos.test.ts runs a three-kill slice of the same scenario in CI.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { killPoints, randomKills } from "./chaos-suite.js";
import { tempHome } from "./helpers.js";

const KILLS = Number(process.env.RUMMY_CHAOS_KILLS ?? 30);
const SEED = Number(process.env.RUMMY_CHAOS_SEED ?? Date.now() % 1_000_000);

let home: string;
let cleanup: () => void;
let llm: FakeLlm;

before(async () => {
  ({ home, cleanup } = tempHome());
  llm = await startFakeLlm();
});
after(async () => {
  await llm.close();
  cleanup();
});

test(`kill -9 at ${KILLS} random points (seed ${SEED}): nothing acknowledged is lost`, async (t) => {
  const points = killPoints(KILLS, SEED);
  const report = await randomKills({
    home,
    llm,
    env: {
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: "sk-test",
      RUMMY_MODEL_fake: "openai/fake-model",
      RUMMY_RETRY_ATTEMPTS: "1",
    },
    points,
  });
  t.diagnostic(`seed ${SEED} ${JSON.stringify(report)}`);
  assert.equal(report.lost, 0);
  assert.equal(report.runsContinued, KILLS);
});
