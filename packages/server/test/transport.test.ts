import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createLogger, RummyCore, RummyError, serializedResult } from "@rummy/core";
import fc from "fast-check";
import WebSocket from "ws";
import { type RummyServer, RPC_ERRORS, startServer } from "../src/index.js";

let home: string;
let core: RummyCore;
let server: RummyServer;

before(async () => {
  home = mkdtempSync(join(tmpdir(), "rummy-server-"));
  core = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
  core.rpc.register("hello", {
    description: "marks the session initialized",
    requiresInit: false,
    handler: (_p, call) => {
      call.session.initialized = true;
      call.session.projectId = 1;
      return { ok: true };
    },
  });
  core.rpc.register("rummy/hello", {
    description: "handshake",
    requiresInit: false,
    handler: (_p, call) => {
      call.session.initialized = true;
      return { ok: true };
    },
  });
  core.rpc.register("ping", { description: "liveness", requiresInit: false, handler: () => ({}) });
  core.rpc.register("echo", {
    description: "echoes",
    requiresInit: false,
    params: { text: { type: "string", required: true } },
    handler: (p: { text: string }) => ({ text: p.text }),
  });
  core.rpc.register("needsInit", { description: "needs hello", handler: () => "yes" });
  core.rpc.register("refuse", {
    description: "refuses",
    requiresInit: false,
    handler: () => {
      throw new RummyError(404, "no such thing");
    },
  });
  core.rpc.register("crash", {
    description: "bug",
    requiresInit: false,
    handler: () => {
      throw new TypeError("undefined is not a function");
    },
  });
  const kept = serializedResult([{ run: "a", summary: "once" }]);
  core.rpc.register("kept", {
    description: "a result serialized once",
    requiresInit: false,
    handler: () => kept,
  });
  core.rpc.register("unserializable", {
    description: "a result JSON cannot hold",
    requiresInit: false,
    handler: () => ({ n: 1n }),
  });
  core.rpc.register("slow", {
    description: "too slow",
    requiresInit: false,
    handler: (_p, call) =>
      new Promise((r) => call.signal.addEventListener("abort", () => r("aborted"))),
  });
  core.rpc.register("long", {
    description: "long-running",
    requiresInit: false,
    longRunning: true,
    handler: () => new Promise((r) => setTimeout(() => r("done"), 300)),
  });
  // Deliberately open: these tests are about envelopes; auth has its own tests below.
  server = await startServer({
    core,
    port: 0,
    token: null,
    callTimeoutMs: 200,
    maxPayload: 64 * 1024,
  });
});

after(async () => {
  await server.close();
  await core.close();
  rmSync(home, { recursive: true, force: true });
});

/** A raw socket that collects every frame, for envelope-level assertions. */
async function raw(url = server.url, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(url, options);
  const frames: unknown[] = [];
  const waiters: (() => void)[] = [];
  socket.on("message", (d) => {
    frames.push(JSON.parse(d.toString()));
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  return {
    socket,
    frames,
    async next(): Promise<any> {
      while (frames.length === 0) await new Promise<void>((r) => waiters.push(r));
      return frames.shift();
    },
    send(data: string | Buffer, binary = false) {
      socket.send(data, { binary });
    },
    close: () => socket.close(),
  };
}

describe("envelopes and error codes", () => {
  test("a request gets its result with the same id", async () => {
    const c = await raw();
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "echo", params: { text: "hi" } }));
    assert.deepEqual(await c.next(), { jsonrpc: "2.0", id: 7, result: { text: "hi" } });
    c.close();
  });

  test("-32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params", async () => {
    const c = await raw();
    c.send("{not json");
    let r = await c.next();
    assert.equal(r.error.code, -32700);
    assert.equal(r.id, null);
    c.send(JSON.stringify({ jsonrpc: "1.0", id: 1, method: "echo" }));
    r = await c.next();
    assert.equal(r.error.code, -32600);
    assert.equal(r.id, 1);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "" }));
    assert.equal((await c.next()).error.code, -32600);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "nope" }));
    r = await c.next();
    assert.equal(r.error.code, -32601);
    assert.match(r.error.message, /nope/);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "echo", params: { text: 5 } }));
    r = await c.next();
    assert.equal(r.error.code, -32602);
    assert.deepEqual(r.error.data.problems, ["text must be a string"]);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 5, method: "echo", params: "scalar" }));
    assert.equal((await c.next()).error.code, -32600);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: { bad: 1 }, method: "echo" }));
    r = await c.next();
    assert.equal(r.error.code, -32600);
    assert.equal(r.id, null);
    c.close();
  });

  test("-32603 internal errors carry no stack; application errors carry their status", async () => {
    const c = await raw();
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "crash" }));
    const r = await c.next();
    assert.equal(r.error.code, -32603);
    assert.doesNotMatch(JSON.stringify(r), /at .*\.ts:\d+/);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "refuse" }));
    const refused = await c.next();
    assert.equal(refused.error.code, RPC_ERRORS.application);
    assert.equal(refused.error.data.status, 404);
    assert.equal(refused.error.message, "no such thing");
    c.close();
  });

  test("methods that need a project refuse before rummy/hello", async () => {
    const c = await raw();
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "needsInit" }));
    assert.equal((await c.next()).error.code, RPC_ERRORS.notInitialized);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "hello" }));
    await c.next();
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "needsInit" }));
    assert.equal((await c.next()).result, "yes");
    c.close();
  });

  test("notifications get no reply; batches answer per spec", async () => {
    const c = await raw();
    c.send(JSON.stringify({ jsonrpc: "2.0", method: "echo", params: { text: "quiet" } }));
    c.send(JSON.stringify([]));
    let r = await c.next();
    assert.equal(r.error.code, -32600, "an empty batch is one invalid-request error");
    c.send(
      JSON.stringify([
        { jsonrpc: "2.0", method: "echo", params: { text: "a" } },
        { jsonrpc: "2.0", method: "ping" },
      ]),
    );
    c.send(
      JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "echo", params: { text: "a" } },
        { jsonrpc: "2.0", method: "echo", params: { text: "n" } },
        1,
        { jsonrpc: "2.0", id: 2, method: "missing" },
      ]),
    );
    r = await c.next();
    assert.ok(
      Array.isArray(r),
      "the all-notification batch sent nothing, so this is the mixed batch's reply",
    );
    assert.equal(r.length, 3);
    assert.deepEqual(r[0], { jsonrpc: "2.0", id: 1, result: { text: "a" } });
    assert.equal(r[1].error.code, -32600);
    assert.equal(r[2].error.code, -32601);
    c.close();
  });

  test("a slow call times out with -32002 and is aborted; long-running calls are exempt", async () => {
    const c = await raw();
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "slow" }));
    const r = await c.next();
    assert.equal(r.error.code, RPC_ERRORS.timeout);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "long" }));
    assert.equal((await c.next()).result, "done");
    c.close();
  });

  test("binary frames are refused and the connection stays usable", async () => {
    const c = await raw();
    c.send(Buffer.from([1, 2, 3]), true);
    assert.equal((await c.next()).error.code, -32600);
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }));
    assert.deepEqual((await c.next()).result, {});
    c.close();
  });

  test("an oversized frame closes that connection only; the server keeps serving", async () => {
    const c = await raw();
    const closed = new Promise<number>((r) => c.socket.once("close", (code) => r(code)));
    c.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "echo",
        params: { text: "x".repeat(200_000) },
      }),
    );
    assert.equal(await closed, 1009);
    const d = await raw();
    d.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
    assert.deepEqual((await d.next()).result, {});
    d.close();
  });

  test("every call is logged to the rpc log", async () => {
    const c = await raw();
    c.send(
      JSON.stringify({ jsonrpc: "2.0", id: "log-me", method: "echo", params: { text: "logged" } }),
    );
    const reply = await c.next();
    const row = core.rpcLog.recent(20).find((r) => r.request_id === "log-me");
    assert.ok(row);
    assert.equal(row.method, "echo");
    assert.equal(row.error_code, null);
    assert.deepEqual(JSON.parse(row.result as string), reply.result);
    assert.deepEqual(JSON.parse(row.params as string), { text: "logged" });
    c.close();
  });

  test("a result serialized once goes as its text, alone and in a batch, and is logged as it", async () => {
    const c = await raw();
    c.send(JSON.stringify({ jsonrpc: "2.0", id: "kept-1", method: "kept" }));
    assert.deepEqual(await c.next(), {
      jsonrpc: "2.0",
      id: "kept-1",
      result: [{ run: "a", summary: "once" }],
    });
    c.send(
      JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "kept" },
        { jsonrpc: "2.0", id: 2, method: "ping" },
      ]),
    );
    assert.deepEqual(await c.next(), [
      { jsonrpc: "2.0", id: 1, result: [{ run: "a", summary: "once" }] },
      { jsonrpc: "2.0", id: 2, result: {} },
    ]);
    const row = core.rpcLog.recent(20).find((r) => r.request_id === "kept-1");
    assert.equal(row?.result, '[{"run":"a","summary":"once"}]');
    c.close();
  });

  test("a result JSON cannot hold is answered with an internal error, and logged as one", async () => {
    const c = await raw();
    c.send(JSON.stringify({ jsonrpc: "2.0", id: "big-int", method: "unserializable" }));
    const reply = await c.next();
    assert.equal(reply.id, "big-int");
    assert.equal(reply.error?.code, -32603);
    const row = core.rpcLog.recent(20).find((r) => r.request_id === "big-int");
    assert.equal(row?.error_code, -32603);
    assert.equal(row?.result, null);
    // The connection still answers.
    c.send(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }));
    assert.deepEqual((await c.next()).result, {});
    c.close();
  });
});

describe("fuzz", () => {
  test("arbitrary frames never take the server down, and it keeps answering", async () => {
    const c = await raw();
    const frame = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record({
          jsonrpc: fc.oneof(fc.constant("2.0"), fc.string()),
          id: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.object()),
          method: fc.oneof(
            fc.constantFrom("echo", "ping", "nope", "needsInit", "refuse"),
            fc.string(),
          ),
          params: fc.oneof(
            fc.object(),
            fc.array(fc.anything()),
            fc.string(),
            fc.constant(undefined),
          ),
        })
        .map((o) => JSON.stringify(o)),
    );
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        c.send(f);
        sent++;
      }),
      { numRuns: 300 },
    );
    // The connection still answers in order after the noise.
    c.send(
      JSON.stringify({
        jsonrpc: "2.0",
        id: "after-fuzz",
        method: "echo",
        params: { text: "alive" },
      }),
    );
    for (;;) {
      const r = await c.next();
      if (r?.id === "after-fuzz") {
        assert.deepEqual(r.result, { text: "alive" });
        break;
      }
    }
    assert.ok(sent >= 300);
    c.close();
  });
});

describe("tokens and binding", () => {
  test("refuses to listen beyond loopback without a token", async () => {
    await assert.rejects(
      startServer({ core, host: "0.0.0.0", port: 0, token: null }),
      /without a token/,
    );
  });

  test("with a token, calls are refused until it is presented", async () => {
    const guarded = await startServer({ core, port: 0, token: "s3cret" });
    try {
      const c = await raw(guarded.url);
      c.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "echo", params: { text: "x" } }));
      assert.equal((await c.next()).error.code, RPC_ERRORS.unauthorized);
      c.send(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 2,
          method: "rummy/hello",
          params: { token: "wrong" },
        }),
      );
      assert.equal((await c.next()).error.code, RPC_ERRORS.unauthorized);
      c.send(
        JSON.stringify({
          jsonrpc: "2.0",
          id: 3,
          method: "rummy/hello",
          params: { token: "s3cret" },
        }),
      );
      assert.ok((await c.next()).result);
      c.send(JSON.stringify({ jsonrpc: "2.0", id: 4, method: "echo", params: { text: "x" } }));
      assert.deepEqual((await c.next()).result, { text: "x" });
      c.close();
      const bearer = await raw(guarded.url, { headers: { authorization: "Bearer s3cret" } });
      bearer.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "echo", params: { text: "y" } }));
      assert.deepEqual((await bearer.next()).result, { text: "y" });
      bearer.close();
      const lower = await raw(guarded.url, { headers: { authorization: "bearer s3cret" } });
      lower.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "echo", params: { text: "z" } }));
      assert.deepEqual(
        (await lower.next()).result,
        { text: "z" },
        "the scheme is case-insensitive",
      );
      lower.close();
      const stranger = await raw(guarded.url, { headers: { authorization: "Bearer s3cre" } });
      stranger.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "no/such" }));
      assert.equal(
        (await stranger.next()).error.code,
        RPC_ERRORS.unauthorized,
        "an unknown method is not told apart before the token",
      );
      stranger.close();
    } finally {
      await guarded.close();
    }
  });

  test("a connection without the token is closed after 256 refused calls; the first 16 are logged, without their params", async () => {
    const guarded = await startServer({ core, port: 0, token: "s3cret" });
    try {
      core.rpcLog.flush();
      const before = (core.rpcLog.recent(1)[0]?.id as number | undefined) ?? 0;
      const stranger = await raw(guarded.url);
      const closed = new Promise<number>((r) => stranger.socket.once("close", (code) => r(code)));
      const big = "x".repeat(20_000);
      stranger.send(JSON.stringify({ jsonrpc: "2.0", id: "p", method: "ping" }));
      assert.ok((await stranger.next()).result, "ping answers before the token");
      // One batch of 300 calls with big params: all are answered, then the connection is closed.
      stranger.send(
        JSON.stringify(
          Array.from({ length: 300 }, (_, i) => ({
            jsonrpc: "2.0",
            id: i,
            method: "echo",
            params: { text: big },
          })),
        ),
      );
      const replies = (await stranger.next()) as { error: { code: number } }[];
      assert.equal(replies.length, 300);
      assert.ok(replies.every((r) => r.error.code === RPC_ERRORS.unauthorized));
      assert.equal(await closed, 1008, "closed as a policy violation");
      core.rpcLog.flush();
      const logged = core.rpcLog
        .recent(1_000)
        .filter((row) => (row.id as number) > before && row.error_code === RPC_ERRORS.unauthorized);
      assert.equal(logged.length, 16, "only the first refusals are logged");
      assert.ok(
        logged.every((row) => row.params === null),
        "a stranger's params are never written",
      );
      const afterPing = core.rpcLog
        .recent(1_000)
        .filter((row) => (row.id as number) > before && row.method === "ping");
      assert.equal(afterPing.length, 0, "nor its pings");

      // A client that shows the token is not counted or cut off.
      const friend = await raw(guarded.url, { headers: { authorization: "Bearer s3cret" } });
      for (let i = 0; i < 20; i++) {
        friend.send(
          JSON.stringify({ jsonrpc: "2.0", id: i, method: "echo", params: { text: "ok" } }),
        );
        assert.deepEqual((await friend.next()).result, { text: "ok" });
      }
      friend.close();
    } finally {
      await guarded.close();
    }
  });
});

describe("notifications", () => {
  test("go only to initialized connections of the target project", async () => {
    const a = await raw();
    const b = await raw();
    a.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hello" }));
    await a.next();
    core.rpc.notify("run/state", { run: "r", status: 200 }, { projectId: 1 });
    core.rpc.notify("run/state", { run: "other", status: 200 }, { projectId: 2 });
    const n = await a.next();
    assert.deepEqual(n, { jsonrpc: "2.0", method: "run/state", params: { run: "r", status: 200 } });
    b.send(JSON.stringify({ jsonrpc: "2.0", id: 5, method: "ping" }));
    assert.equal((await b.next()).id, 5, "b got no notification before its own reply");
    a.close();
    b.close();
  });

  test("a notification fanned out to many clients arrives whole and in order at each, at every frame size", async () => {
    const clients = await Promise.all(Array.from({ length: 3 }, () => raw()));
    for (const c of clients) {
      c.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hello" }));
      await c.next();
    }
    // Frame lengths on each side of the 7-bit, 16-bit and 64-bit length forms; multi-byte UTF-8.
    const texts = ["é", "x".repeat(100), "ü".repeat(70), "y".repeat(65_600), "z".repeat(200_000)];
    for (const text of texts) core.rpc.notify("ui/render", { text }, { projectId: 1 });
    for (const c of clients)
      for (const text of texts)
        assert.deepEqual(await c.next(), {
          jsonrpc: "2.0",
          method: "ui/render",
          params: { text },
        });
    // Replies and notifications keep sharing the connection in order afterwards.
    core.rpc.notify("run/state", { run: "r", status: 200 }, { projectId: 1 });
    clients[0]!.send(JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }));
    assert.equal((await clients[0]!.next()).method, "run/state");
    assert.equal((await clients[0]!.next()).id, 9);
    for (const c of clients) c.close();
  });
});

describe("status", () => {
  test("rummy/status reports connections, memory and the event loop's delay; reset opens a new window", async () => {
    const c = await raw();
    const ask = async (params: Record<string, unknown>) => {
      c.send(JSON.stringify({ jsonrpc: "2.0", id: "s", method: "rummy/status", params }));
      return (await c.next()).result;
    };
    // Block the loop for 120 ms: the delay window must see it.
    const until = Date.now() + 120;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 30));
    const before = await ask({ reset: true });
    assert.ok(before.connections >= 1);
    assert.ok(before.memoryMb.rss > 0);
    assert.ok(before.eventLoopDelayMs.max >= 100, `max ${before.eventLoopDelayMs.max}`);
    const fresh = await ask({});
    assert.ok(fresh.eventLoopDelayMs.max < 100, "the blocked stretch is in the old window");
    c.close();
  });
});
