import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { RpcCallError, RummyClient } from "@rummy/client";
import { definePlugin } from "@rummy/core";
import { type RummyServer, serverToken, startServer } from "@rummy/server";
import { type Rig, rig, runOnWire } from "../src/index.js";

/** A side-effect tool for wire tests: proposes; acceptance records the client's answer. */
const asker = definePlugin({
  name: "test-asker",
  setup(ctx) {
    ctx.registerTool({
      name: "ask_user",
      handler(call, turn) {
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          state: "proposed",
          attributes: { question: call.body },
          writer: "plugin",
        });
      },
    });
  },
});

let r: Rig;
let server: RummyServer;
let client: RummyClient;
const { terminal } = runOnWire(() => client, 20_000);

before(async () => {
  r = await rig({}, [asker]);
  server = await startServer({ core: r.core, port: 0 });
  client = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
  await client.hello("it", r.root);
});
after(async () => {
  await client.close();
  await server.close();
  await r.close();
});

describe("run lifecycle over the wire", () => {
  test("start a named run, watch state and progress, read the answer", async () => {
    r.llm.enqueue({
      content: `<known path="known://x">fact</known>\n<update status="200">the answer</update>`,
      chunkSize: 5,
    });
    const progress: string[] = [];
    const onProgress = (p: { run: string; content?: string }) =>
      p.run === "wired" && p.content && progress.push(p.content);
    client.on("run/progress", onProgress);
    const done = terminal("wired");
    const res = await client.call("set", {
      path: "run://wired",
      body: "what is x?",
      attributes: { model: "fake", mode: "ask" },
    });
    assert.deepEqual(res, { ok: true, alias: "wired" });
    const state = await done;
    client.off("run/progress", onProgress);
    assert.equal(state.status, 200);
    assert.equal(state.reason, "the answer");
    assert.ok(progress.length > 3, "text arrived while the model wrote it");
    assert.match(progress.join(""), /<update status="200">the answer<\/update>/);
    const rows = await client.call<any[]>("getEntries", {
      run: "wired",
      pattern: "known://*",
      withBody: true,
    });
    assert.equal(rows[0].body, "fact");
    const detail = await client.call<any>("getRun", { run: "wired" });
    assert.equal(detail.status, 200);
    assert.ok(detail.context.telemetry.prompt_tokens > 0);
  });

  test("an anonymous run gets an alias; continuing it queues a new loop", async () => {
    r.llm.enqueue(
      { content: `<update status="200">one</update>` },
      { content: `<update status="200">two</update>` },
    );
    const { alias } = await client.call<{ alias: string }>("set", {
      path: "run://",
      body: "first",
      attributes: { model: "fake", mode: "ask" },
    });
    assert.match(alias, /^run_\d+$/);
    await terminal(alias);
    const second = client.waitFor<{ run: string; status: number; reason: string }>(
      "run/state",
      (p) => p.run === alias && p.reason === "two",
      20_000,
    );
    await client.call("set", {
      path: `run://${alias}`,
      body: "second",
      attributes: { mode: "ask" },
    });
    assert.equal((await second).status, 200);
    const detail = await client.call<any>("getRun", { run: alias });
    assert.deepEqual(
      detail.loops.map((l: any) => l.prompt),
      ["first", "second"],
    );
  });

  test("a proposal arrives as run/proposal and is resolved by set {state}; the answer reaches the model", async () => {
    r.llm.enqueue({
      content: `<ask_user>Which port?</ask_user>\n<update status="102">asking</update>`,
    });
    r.llm.setHandler((req) => {
      const user = req.body.messages[1].content as string;
      return {
        content: `<update status="200">${/8080/.test(user) ? "using 8080" : "no answer seen"}</update>`,
      };
    });
    const proposed = client.waitFor<{ run: string; proposed: { path: string; action: string }[] }>(
      "run/proposal",
      (p) => p.run === "asks",
    );
    const toast = client.waitFor<{ run: string; level: string; text: string }>(
      "ui/notify",
      (n) => n.run === "asks",
    );
    const done = terminal("asks");
    await client.call("set", {
      path: "run://asks",
      body: "configure",
      attributes: { model: "fake", mode: "act" },
    });
    const {
      proposed: [p],
    } = await proposed;
    assert.equal(p!.action, "ask_user");
    const notice = await toast;
    assert.equal(notice.level, "info");
    assert.equal(notice.text, `asks waits for your decision: <ask_user> ${p!.path}`);
    const resolved = await client.call<{ ok: boolean }>("set", {
      run: "asks",
      path: p!.path,
      state: "resolved",
      body: "use 8080",
    });
    assert.equal(resolved.ok, true);
    const state = await done;
    r.llm.setHandler(undefined);
    assert.equal(state.reason, "using 8080");
  });

  test("pending proposals survive the client vanishing; another client resolves them", async () => {
    const other = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
    await other.hello("it", r.root);
    r.llm.enqueue(
      { content: `<ask_user>Proceed?</ask_user>\n<update status="102">waiting</update>` },
      { content: `<update status="200">proceeded</update>` },
    );
    const proposed = other.waitFor<{ run: string; proposed: { path: string }[] }>(
      "run/proposal",
      (p) => p.run === "orphan",
    );
    await other.call("set", {
      path: "run://orphan",
      body: "go",
      attributes: { model: "fake", mode: "act" },
    });
    const {
      proposed: [p],
    } = await proposed;
    await other.close();
    const pending = await client.call<any[]>("getEntries", { run: "orphan", state: "proposed" });
    assert.deepEqual(
      pending.map((e) => e.path),
      [p!.path],
    );
    const done = terminal("orphan");
    await client.call("set", { run: "orphan", path: p!.path, state: "resolved", body: "yes" });
    assert.equal((await done).status, 200);
  });

  test("fork: a new run starts from a copy of the parent's entries; the parent is untouched", async () => {
    r.llm.enqueue({
      content: `<known path="known://shared">from the parent</known>\n<update status="200">parent done</update>`,
    });
    const parentDone = terminal("parent");
    await client.call("set", {
      path: "run://parent",
      body: "learn",
      attributes: { model: "fake", mode: "ask" },
    });
    await parentDone;
    r.llm.enqueue({
      content: `<known path="known://child-only">from the child</known>\n<update status="200">child done</update>`,
    });
    const forked = await client.call<{ alias: string }>("set", {
      path: "run://parent",
      body: "continue separately",
      attributes: { mode: "ask", fork: true, as: "child" },
    });
    assert.equal(forked.alias, "child");
    assert.equal((await terminal("child")).reason, "child done");
    const childFacts = (
      await client.call<any[]>("getEntries", { run: "child", pattern: "known://*", withBody: true })
    ).map((e) => [e.path, e.body]);
    assert.deepEqual(childFacts, [
      ["known://shared", "from the parent"],
      ["known://child-only", "from the child"],
    ]);
    const parentFacts = (
      await client.call<any[]>("getEntries", { run: "parent", pattern: "known://*" })
    ).map((e) => e.path);
    assert.deepEqual(parentFacts, ["known://shared"]);
    assert.equal(
      r.core.runs.byAlias(r.projectId, "child")!.parentRunId,
      r.core.runs.byAlias(r.projectId, "parent")!.id,
    );
  });

  test("cancel through set run:// {state: cancelled}", async () => {
    r.llm.enqueue({ fail: "hang" });
    const done = terminal("stopme");
    const toast = client.waitFor<{ run: string; level: string; text: string }>(
      "ui/notify",
      (n) => n.run === "stopme",
    );
    await client.call("set", {
      path: "run://stopme",
      body: "q",
      attributes: { model: "fake", mode: "ask" },
    });
    await new Promise((res) => setTimeout(res, 50));
    await client.call("set", { path: "run://stopme", state: "cancelled" });
    assert.equal((await done).status, 499);
    const notice = await toast;
    assert.equal(notice.level, "warn");
    assert.match(notice.text, /^stopme ended 499/);
  });

  test("notifications reach only connections of the run's project", async () => {
    const stranger = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
    const another = join(r.home, "another");
    mkdirSync(another, { recursive: true });
    await stranger.hello("another-project", another);
    const seen: unknown[] = [];
    stranger.on("notification", (n) => seen.push(n));
    r.llm.enqueue({ content: `<update status="200">private</update>` });
    const done = terminal("private");
    await client.call("set", {
      path: "run://private",
      body: "q",
      attributes: { model: "fake", mode: "ask" },
    });
    await done;
    assert.deepEqual(seen, []);
    await stranger.close();
  });
});

describe("params at the boundary", () => {
  const invalidParams = (why: RegExp) => (error: unknown) => {
    assert.ok(error instanceof RpcCallError, String(error));
    assert.equal(error.code, -32602, error.message);
    assert.match(error.message, why);
    return true;
  };

  test("null is not absent: a null member that is not nullable is -32602, required or not", async () => {
    const fresh = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
    await assert.rejects(
      fresh.hello("it", r.root, { clientVersion: null }),
      invalidParams(/clientVersion must not be null/),
    );
    await fresh.close();

    r.llm.enqueue(
      { content: `<ask_user>Go?</ask_user>\n<update status="102">asking</update>` },
      { content: `<update status="200">went</update>` },
    );
    const proposed = client.waitFor<{ run: string; proposed: { path: string }[] }>(
      "run/proposal",
      (p) => p.run === "nulls",
    );
    const done = terminal("nulls");
    await client.call("set", {
      path: "run://nulls",
      body: "ask",
      attributes: { model: "fake", mode: "act" },
    });
    const {
      proposed: [p],
    } = await proposed;
    await assert.rejects(
      client.call("set", { run: "nulls", path: p!.path, state: null }),
      invalidParams(/state must not be null/),
    );
    const [pending] = await client.call<any[]>("getEntries", { run: "nulls", pattern: p!.path });
    assert.equal(pending.state, "proposed", "a null state decides nothing");
    await client.call("set", { run: "nulls", path: p!.path, state: "resolved", body: "yes" });
    assert.equal((await done).status, 200);
  });

  test("params nested too deep are -32602, not an internal error; the server stays up", async () => {
    const socket = new WebSocket(server.url, {
      headers: { authorization: `Bearer ${serverToken(r.core)!}` },
    });
    await new Promise((res, rej) => socket.once("open", res).once("error", rej));
    const replies = new Map<number, { error?: { code: number; message: string } }>();
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      if (typeof frame.id === "number") replies.set(frame.id, frame);
    });
    const reply = async (id: number) => {
      while (!replies.has(id)) await new Promise((res) => setTimeout(res, 10));
      return replies.get(id)!;
    };
    socket.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "rummy/hello",
        params: { name: "it", projectRoot: r.root, token: serverToken(r.core) },
      }),
    );
    assert.equal((await reply(1)).error, undefined);
    // Written by hand: the frames are deeper than JSON.stringify is happy with.
    for (const depth of [1000, 5000, 100_000]) {
      const deep = `${"[".repeat(depth)}${"]".repeat(depth)}`;
      socket.send(
        `{"jsonrpc":"2.0","id":${depth},"method":"set","params":{"path":"known://deep","body":"b","attributes":{"a":${deep}}}}`,
      );
      const { error } = await reply(depth);
      assert.equal(error?.code, -32602, `depth ${depth}: ${JSON.stringify(error)}`);
      assert.match(error!.message, /attributes nests deeper than 64 levels/);
    }
    socket.close();
    assert.deepEqual(await client.call("ping"), {}, "still answering");
  });

  test("a body filter past 4,096 characters is -32602 on every method that takes one, not SQLite's internal error", async () => {
    r.llm.enqueue({ content: `<update status="200">ok</update>` });
    await client.call("set", {
      path: "run://filters",
      body: "hi",
      attributes: { model: "fake", mode: "ask" },
    });
    await r.core.engine.settled(r.core.runs.byAlias(r.projectId, "filters")!.id);
    const long = "x".repeat(60_000);
    for (const [method, params] of [
      ["getEntries", { run: "filters", pattern: "*", bodyFilter: long }],
      ["get", { run: "filters", path: "*", bodyFilter: long }],
      ["rm", { run: "filters", path: "*", bodyFilter: long }],
      [
        "set",
        { run: "filters", path: "*", pattern: true, visibility: "archived", bodyFilter: long },
      ],
    ] as const) {
      await assert.rejects(client.call(method, params), invalidParams(/bodyFilter/), method);
    }
    const fits = "x".repeat(4_096);
    assert.deepEqual(
      await client.call("getEntries", { run: "filters", pattern: "*", bodyFilter: fits }),
      [],
    );
  });
});

describe("tool fallback", () => {
  test("any registered tool is callable by name; its command is logged like the model's; proposals are announced", async () => {
    r.llm.enqueue({ content: `<update status="200">ready</update>` });
    const done = terminal("tools");
    await client.call("set", {
      path: "run://tools",
      body: "q",
      attributes: { model: "fake", mode: "act" },
    });
    await done;
    const res = await client.call<{ ok: boolean; path: string; state: string }>("known", {
      run: "tools",
      path: "known://from-client",
      body: "a client fact",
    });
    assert.equal(res.ok, true);
    assert.match(res.path, /^log:\/\/turn_1\/known\/from_client$/);
    const [fact] = await client.call<any[]>("getEntries", {
      run: "tools",
      pattern: "known://from-client",
      withBody: true,
    });
    assert.equal(fact.body, "a client fact");
    const announced = client.waitFor<{ run: string; proposed: { action: string }[] }>(
      "run/proposal",
      (p) => p.run === "tools",
    );
    const asked = await client.call<{ state: string }>("ask_user", {
      run: "tools",
      body: "Ready?",
    });
    assert.equal(asked.state, "proposed");
    assert.equal((await announced).proposed[0]!.action, "ask_user");
    await assert.rejects(client.call("known", { run: "tools", body: "" }), /failed \(400\)/);
    await assert.rejects(
      client.call("no_such_tool", { run: "tools" }),
      /Method 'no_such_tool' not found\./,
    );
  });
});

describe("load", () => {
  test("50 concurrent clients each run a scripted run to completion; nothing is lost", async () => {
    r.llm.setHandler((req) => {
      const prompt =
        /<prompt[^>]*>\n([\s\S]*?)\n<\/prompt>/.exec(req.body.messages[1].content)?.[1] ?? "?";
      return {
        content: `<known path="known://echo">${prompt}</known>\n<update status="200">done ${prompt}</update>`,
        chunkSize: 20,
      };
    });
    const clients = await Promise.all(
      Array.from({ length: 50 }, () =>
        RummyClient.connect(server.url, { token: serverToken(r.core)! }),
      ),
    );
    try {
      await Promise.all(clients.map((c) => c.hello("it", r.root)));
      const results = await Promise.all(
        clients.map(async (c, i) => {
          const alias = `load_${i}`;
          const done = terminal(alias, c);
          await c.call("set", {
            path: `run://${alias}`,
            body: `job ${i}`,
            attributes: { model: "fake", mode: "ask" },
          });
          return { alias, state: await done };
        }),
      );
      for (const { alias, state } of results) {
        assert.equal(state.status, 200, `${alias}: ${state.reason}`);
        const i = alias.split("_")[1];
        assert.equal(state.reason, `done job ${i}`);
        const [fact] = await client.call<any[]>("getEntries", {
          run: alias,
          pattern: "known://echo",
          withBody: true,
        });
        assert.equal(fact.body, `job ${i}`, "each run kept its own entries");
      }
    } finally {
      r.llm.setHandler(undefined);
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
