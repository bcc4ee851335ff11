import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RummyClient } from "@rummy/client";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { killPoints, randomKills } from "./chaos-suite.js";
import { startServe, tempHome, tokenOf } from "./helpers.js";

let home: string;
let cleanup: () => void;
let llm: FakeLlm;
let env: Record<string, string>;

before(async () => {
  ({ home, cleanup } = tempHome());
  llm = await startFakeLlm();
  env = {
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-test",
    RUMMY_MODEL_fake: "openai/fake-model",
    RUMMY_RETRY_ATTEMPTS: "1",
  };
});
after(async () => {
  await llm.close();
  cleanup();
});

/** kill -9, and remember to clean up even if an assertion fails first. */
function crash(pid: number): void {
  process.kill(pid, "SIGKILL");
}

const started: { stop: () => Promise<number | null> }[] = [];
after(async () => {
  for (const s of started) await s.stop().catch(() => null);
});

async function serve() {
  const s = await startServe(home, ["--port", "0"], env);
  started.push(s);
  return s;
}

async function connect(url: string): Promise<RummyClient> {
  const c = await RummyClient.connect(url, { token: tokenOf(home) });
  await c.hello("chaos", home);
  return c;
}

test("kill -9 with a proposal pending: acknowledged writes survive, the proposal resolves after restart, the run continues", async () => {
  let server = await serve();
  let client = await connect(server.url);
  llm.enqueue({
    content: `<known path="known://before">written before the crash</known>\n<sh>make deploy</sh>\n<update status="102">deploying</update>`,
  });
  const proposed = client.waitFor<{ run: string; proposed: { path: string }[] }>(
    "run/proposal",
    (p) => p.run === "crashy",
    20_000,
  );
  await client.call("set", {
    path: "run://crashy",
    body: "deploy it",
    attributes: { model: "fake", mode: "act" },
  });
  const {
    proposed: [p],
  } = await proposed;
  // Acknowledged client writes: each call returned before the crash.
  for (let i = 0; i < 20; i++)
    await client.call("set", { run: "crashy", path: `known://ack/${i}`, body: `ack ${i}` });

  crash(server.pid);
  await new Promise((r) => setTimeout(r, 100));
  await client.close().catch(() => {});

  server = await serve();
  try {
    client = await connect(server.url);
    const acked = await client.call<{ path: string; body: string }[]>("getEntries", {
      run: "crashy",
      pattern: "known://ack/*",
      withBody: true,
    });
    assert.equal(acked.length, 20, "every acknowledged write is there");
    const [before] = await client.call<{ body: string }[]>("getEntries", {
      run: "crashy",
      pattern: "known://before",
      withBody: true,
    });
    assert.equal(before!.body, "written before the crash");
    const pending = await client.call<{ path: string; state: string }[]>("getEntries", {
      run: "crashy",
      state: "proposed",
    });
    assert.deepEqual(
      pending.map((e) => e.path),
      [p!.path],
      "the proposal is still pending",
    );
    const detail = await client.call<{ status: number; pending: number }>("getRun", {
      run: "crashy",
    });
    // 2.0.1 shows a run waiting on a proposal as running (102); `pending` counts what it waits on.
    assert.equal(detail.status, 102, "the interrupted run is still running");
    assert.equal(detail.pending, 1, "the interrupted run waits on its proposal");

    llm.enqueue({ content: `<update status="200">deployed after the restart</update>` });
    const done = client.waitFor<{ run: string; status: number; reason: string }>(
      "run/state",
      (s) => s.run === "crashy" && s.status === 200,
      20_000,
    );
    await client.call("set", { run: "crashy", path: p!.path, state: "resolved" });
    assert.equal((await done).reason, "deployed after the restart");
    await client.close();
  } finally {
    await server.stop();
  }
});

test("kill -9 while the model is answering: the run is marked interrupted and a new prompt continues it", async () => {
  let server = await serve();
  let client = await connect(server.url);
  llm.enqueue({ fail: "hang" });
  const waiting = client.waitFor<{ run: string; phase: string }>(
    "run/progress",
    (p) => p.run === "midcall" && p.phase === "waiting",
    20_000,
  );
  await client.call("set", {
    path: "run://midcall",
    body: "first question",
    attributes: { model: "fake", mode: "ask" },
  });
  await waiting;
  crash(server.pid);
  await new Promise((r) => setTimeout(r, 100));
  await client.close().catch(() => {});

  server = await serve();
  try {
    client = await connect(server.url);
    assert.equal((await client.call<{ status: number }>("getRun", { run: "midcall" })).status, 500);
    llm.clear();
    llm.enqueue({ content: `<update status="200">answered after the restart</update>` });
    const done = client.waitFor<{ run: string; status: number; reason: string }>(
      "run/state",
      (s) => s.run === "midcall" && s.status === 200,
      20_000,
    );
    await client.call("set", {
      path: "run://midcall",
      body: "try again",
      attributes: { mode: "ask" },
    });
    assert.equal((await done).reason, "answered after the restart");
    const detail = await client.call<{
      loops: { prompt: string; status: number; reason: string | null }[];
    }>("getRun", { run: "midcall" });
    assert.deepEqual(
      detail.loops.map((l) => [l.prompt, l.status]),
      [
        ["first question", 500],
        ["try again", 200],
      ],
    );
    assert.equal(detail.loops[0]!.reason, "interrupted by a restart");
    await client.close();
  } finally {
    await server.stop();
  }
});

test("kill -9 at seeded random points (mid-stream, mid-dispatch, proposal pending): nothing acknowledged is lost, every run continues", async (t) => {
  const points = killPoints(3, 20261125);
  const report = await randomKills({ home, llm, env, points });
  t.diagnostic(JSON.stringify(report));
  assert.equal(report.kills, 3);
  assert.equal(report.lost, 0);
  assert.equal(report.runsContinued, 3);
  assert.ok(report.acknowledged > 0, "the client's writes raced the kills");
});
