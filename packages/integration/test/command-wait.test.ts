import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { RummyClient } from "@rummy/client";
import { type RummyServer, serverToken, startServer } from "@rummy/server";
import { type Rig, rig, runOnWire, SHELL_PLUGINS } from "../src/index.js";

// The next turn waits for the commands a turn started, up to RUMMY_COMMAND_WAIT seconds.
let r: Rig;
let server: RummyServer;
let client: RummyClient;
const { terminal } = runOnWire(() => client, 30_000);

before(async () => {
  r = await rig({ RUMMY_COMMAND_WAIT: "2" }, SHELL_PLUGINS);
  server = await startServer({ core: r.core, port: 0 });
  client = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
  await client.hello("it", r.root);
});
after(async () => {
  await client.close();
  await server.close();
  await r.close();
});

type Proposed = { run: string; proposed: { path: string; action: string }[] };

test("the next turn waits for an accepted command that sleeps, then prints: the model reads its output", async () => {
  r.llm.enqueue({
    content: `<sh>sleep 1; echo TESTS OK</sh>\n<update status="102">testing</update>`,
  });
  let seen = "";
  r.llm.setHandler((req) => {
    seen = req.body.messages[1].content as string;
    return {
      content: `<update status="200">${/TESTS OK/.test(seen) ? "passed" : "blind"}</update>`,
    };
  });
  const proposed = client.waitFor<Proposed>("run/proposal", (p) => p.run === "waits", 30_000);
  const done = terminal("waits");
  await client.call("set", {
    path: "run://waits",
    body: "run the tests",
    attributes: { model: "fake", mode: "act" },
  });
  const [p] = (await proposed).proposed;
  await client.call("set", { run: "waits", path: p!.path, state: "resolved" });
  // The producer (this client) is slow: the model's second call must not start before it finishes.
  await new Promise((res) => setTimeout(res, 800));
  assert.equal(r.llm.chatRequests().length, 1, "no second turn while the command runs");
  await client.call("stream", { run: "waits", path: p!.path, channel: 1, chunk: "TESTS OK\n" });
  await client.call("stream/completed", {
    run: "waits",
    path: p!.path,
    exit_code: 0,
    duration: "1.0s",
  });
  const state = await done;
  r.llm.setHandler(undefined);
  assert.equal(state.reason, "passed");
  assert.match(seen, /ran 'sleep 1; echo TESTS OK', exit=0/);
  assert.doesNotMatch(seen, /in progress/);
});

test("past RUMMY_COMMAND_WAIT the model sees the output so far and 'still running', and can cancel it", async () => {
  const watcher = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
  await watcher.hello("it", r.root);
  const cancelled = watcher.waitFor<{ run: string; path: string; reason: string }>(
    "stream/cancelled",
    (p) => p.run === "dev",
    30_000,
  );
  r.llm.enqueue({ content: `<sh>npm run dev</sh>\n<update status="102">starting</update>` });
  let second = "";
  r.llm.setHandler((req) => {
    const user = req.body.messages[1].content as string;
    if (!second) {
      second = user;
      const path = /<sh cancel="(log:\/\/[^"]+)"/.exec(user)?.[1] ?? "none";
      return { content: `<sh cancel="${path}"/>\n<update status="102">stopping it</update>` };
    }
    return { content: `<update status="200">stopped</update>` };
  });
  const proposed = client.waitFor<Proposed>("run/proposal", (p) => p.run === "dev", 30_000);
  const done = terminal("dev");
  await client.call("set", {
    path: "run://dev",
    body: "start the dev server",
    attributes: { model: "fake", mode: "act" },
  });
  const [p] = (await proposed).proposed;
  await client.call("set", { run: "dev", path: p!.path, state: "resolved" });
  await client.call("stream", {
    run: "dev",
    path: p!.path,
    channel: 1,
    chunk: "listening on :5173\n",
  });
  const note = await cancelled;
  assert.equal(note.path, p!.path);
  const state = await done;
  r.llm.setHandler(undefined);
  await watcher.close();
  assert.equal(state.status, 200);
  assert.match(second, /'npm run dev' is still running after \d+ s/);
  assert.match(second, /listening on :5173/, "the output so far is in the prompt");
  const channels = await client.call<{ path: string; state: string; body: string }[]>(
    "getEntries",
    {
      run: "dev",
      pattern: "sh://*",
      withBody: true,
    },
  );
  assert.deepEqual(
    channels.map((c) => [c.path.replace(/.*_/, ""), c.state]),
    [
      ["1", "cancelled"],
      ["2", "cancelled"],
    ],
  );
  assert.equal(channels[0]!.body, "listening on :5173\n", "what streamed is kept");
});

test("a rejection with a reason is fed back to the model as 403 with the user's words", async () => {
  r.llm.enqueue({ content: `<sh>rm -rf build</sh>\n<update status="102">cleaning</update>` });
  let seen = "";
  r.llm.setHandler((req) => {
    seen = req.body.messages[1].content as string;
    return { content: `<update status="200">kept the build</update>` };
  });
  const proposed = client.waitFor<Proposed>("run/proposal", (p) => p.run === "why", 30_000);
  const done = terminal("why");
  await client.call("set", {
    path: "run://why",
    body: "clean up",
    attributes: { model: "fake", mode: "act" },
  });
  const [p] = (await proposed).proposed;
  await client.call("set", {
    run: "why",
    path: p!.path,
    state: "cancelled",
    body: "the build is needed for the release",
  });
  assert.equal((await done).status, 200);
  r.llm.setHandler(undefined);
  assert.match(seen, /status="403"[^>]*>[\s\S]*the build is needed for the release/);
});
