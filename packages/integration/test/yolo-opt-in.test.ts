import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Rig, rig, SHELL_PLUGINS } from "../src/index.js";

// A server that has not opted in to yolo (RUMMY_ALLOW_YOLO unset), with the real sh and yolo plugins:
// if a yolo loop got through, plugin-yolo would run the command in the project.
let r: Rig;
before(async () => {
  r = await rig({ RUMMY_SHELL_TIMEOUT: "20000" }, SHELL_PLUGINS);
});
after(() => r.close());

test("without the server's opt-in the engine refuses a yolo loop before it makes a run", () => {
  assert.throws(
    () =>
      r.core.engine.submit({
        projectId: r.projectId,
        alias: "refused",
        model: "fake",
        mode: "act",
        prompt: "go",
        flags: { yolo: true },
      }),
    (error: { status?: number; message: string }) =>
      error.status === 403 && /RUMMY_ALLOW_YOLO=1/.test(error.message),
  );
  assert.equal(r.core.runs.byAlias(r.projectId, "refused"), undefined);
  assert.throws(() => r.core.engine.checkFlags({ yolo: true }), /RUMMY_ALLOW_YOLO/);
  assert.doesNotThrow(() => r.core.engine.checkFlags({ noWeb: true, yolo: false }));
});

test("a yolo loop queued by an earlier, opted-in server runs without yolo: its command waits for a client", async () => {
  // What a server started with RUMMY_ALLOW_YOLO=1 leaves in the database when it dies with a
  // yolo prompt acknowledged but not yet run.
  const run = r.core.runs.create({ projectId: r.projectId, alias: "queued", model: "fake" });
  const queued = r.core.loops.enqueue({
    runId: run.id,
    mode: "act",
    prompt: "make a file",
    model: "fake",
    flags: { yolo: true },
  });
  r.llm.enqueue({
    content: `<sh>touch pwned.txt</sh>\n<update status="102">touching</update>`,
  });
  r.core.engine.recover();
  const waiting = await r.core.engine.settled(run.id);
  assert.equal(waiting.status, 202, "the run waits on its proposal");
  assert.equal(r.core.loops.get(queued.id)!.flags.yolo, false, "the loop's yolo is gone");
  const proposal = r.core.store
    .get({ runId: run.id, state: "proposed" })
    .find((e) => e.path.startsWith("log://turn_1/sh/"));
  assert.ok(proposal, "the command is a proposal");
  assert.equal(existsSync(join(r.root, "pwned.txt")), false, "the server ran nothing");
  await r.core.engine.cancel(run.id);
});
