import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  definePlugin,
  ENGINE_EVENTS,
  type RunProposalEvent,
  TERMINAL_RUN_STATUSES,
} from "@rummy/core";
import { type Rig, rig } from "../src/index.js";

/**
 * A plugin that decides proposals itself, from inside the `run.proposal`
 * event (an auto-approver, a policy bot): it may await `engine.resolve`
 * there, and the run goes on instead of waiting on itself.
 */
const outcomes: string[] = [];
const autoApprover = definePlugin({
  name: "test-auto-approver",
  setup(ctx) {
    ctx.registerTool({
      name: "sh",
      handler(call, turn) {
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          state: "proposed",
          attributes: { command: call.body },
          writer: "plugin",
        });
      },
    });
    ctx.on(ENGINE_EVENTS.proposalAccepted, (e: { runId: number; path: string }) => {
      ctx.store.set({ runId: e.runId, path: e.path, body: "ran" });
    });
    ctx.on(ENGINE_EVENTS.runProposal, async (e: RunProposalEvent) => {
      const result = await ctx.core.engine.resolve(e.runId, e.path, { decision: "accept" });
      outcomes.push(`${e.path} ${result.state}`);
    });
  },
});

let r: Rig;
before(async () => {
  r = await rig({ RUMMY_MAX_TURNS: "4" }, [autoApprover]);
});
after(() => r.close());

test("a run.proposal subscriber that awaits engine.resolve lets the run finish", async () => {
  r.llm.enqueue(
    { content: `<sh>echo hi</sh>\n<update status="102">running it</update>` },
    { content: `<update status="200">it ran</update>` },
  );
  const { run } = r.core.engine.submit({
    projectId: r.projectId,
    alias: "self-approved",
    model: "fake",
    mode: "act",
    prompt: "run echo",
  });
  // `settled` also returns while a run waits on a proposal (202): wait for the run's end instead.
  const deadline = Date.now() + 10_000;
  let status = r.core.runs.get(run.id)!.status;
  while (!TERMINAL_RUN_STATUSES.has(status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    status = r.core.runs.get(run.id)!.status;
  }
  assert.equal(status, 200, "the run still waits on the proposal its own subscriber accepted");
  assert.equal(outcomes.length, 1);
  assert.match(outcomes[0]!, /^log:\/\/turn_1\/sh\/\S+ resolved$/);
  const entry = r.core.store.getOne({ runId: run.id }, outcomes[0]!.split(" ")[0]!);
  assert.equal(entry?.state, "resolved");
  assert.equal(entry?.body, "ran");
});
