import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RpcCallError, RummyClient } from "@rummy/client";
import { createLogger, definePlugin, loadPlugins, RummyCore } from "@rummy/core";
import engine from "@rummy/engine";
import { type RummyServer, serverToken, startServer } from "@rummy/server";
import rpcPlugin, { RUMMY_PROTOCOL_VERSION } from "../src/index.js";

let home: string;
let core: RummyCore;
let server: RummyServer;
let client: RummyClient;
let projectId: number;
let demoRoot: string;

// The schemes a real distribution gets from other plugins; enough to exercise the primitives.
const schemes = definePlugin({
  name: "test-schemes",
  setup(ctx) {
    ctx.registerScheme({ name: "known", writableBy: ["model"] });
    ctx.registerScheme({ name: "audit", category: "audit", writableBy: ["system"] });
    ctx.registerScheme({ name: "file", defaultScope: "project", writableBy: ["client"] });
  },
});

before(async () => {
  home = mkdtempSync(join(tmpdir(), "rummy-rpc-"));
  demoRoot = join(home, "demo-project");
  mkdirSync(demoRoot);
  core = RummyCore.open({
    home,
    env: { RUMMY_MODEL_fast: "openai/gpt-4o-mini" },
    logger: createLogger("silent"),
  });
  const report = await loadPlugins(core, {
    bundled: [engine, rpcPlugin, schemes],
    pluginDir: join(home, "none"),
  });
  assert.equal(report.failed.length, 0);
  server = await startServer({ core, port: 0 });
  client = await RummyClient.connect(server.url, { token: serverToken(core)! });
  const hello = await client.hello("demo", demoRoot);
  projectId = hello.projectId;
});

after(async () => {
  await client.close();
  await server.close();
  await core.close();
  rmSync(home, { recursive: true, force: true });
});

function newRun(alias: string) {
  return core.runs.create({ projectId, alias, model: "fast" });
}

async function rejects(promise: Promise<unknown>, code: number, message?: RegExp) {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof RpcCallError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe("handshake and discovery", () => {
  test("rummy/hello returns the protocol version and project; a MAJOR mismatch is refused", async () => {
    const other = await RummyClient.connect(server.url, { token: serverToken(core)! });
    try {
      const res = await other.call<{
        rummyVersion: string;
        projectId: number;
        projectRoot: string;
      }>("rummy/hello", {
        name: "demo",
        projectRoot: demoRoot,
        clientVersion: "2.3.1",
      });
      assert.equal(res.rummyVersion, RUMMY_PROTOCOL_VERSION);
      assert.equal(res.projectId, projectId, "same name, same project");
      await rejects(
        other.call("rummy/hello", { name: "demo", projectRoot: "/tmp/x", clientVersion: "1.9.0" }),
        -32000,
        /protocol mismatch/,
      );
      await rejects(
        other.call("rummy/hello", { name: "demo", projectRoot: "relative/path" }),
        -32000,
        /absolute/,
      );
      await rejects(
        other.call("rummy/hello", { projectRoot: "/tmp/x" }),
        -32602,
        /name is required/,
      );
    } finally {
      await other.close();
    }
  });

  test("ping, and discover lists methods and notifications with params, plugin ones included", async () => {
    assert.deepEqual(await client.call("ping"), {});
    const catalog = await client.call<{
      methods: Record<string, any>;
      notifications: Record<string, any>;
    }>("discover");
    for (const m of [
      "rummy/hello",
      "set",
      "get",
      "rm",
      "cp",
      "mv",
      "update",
      "getModels",
      "addModel",
      "removeModel",
      "file/constraint",
      "file/drop",
      "getConstraints",
      "getEntries",
      "getRuns",
      "getRun",
    ]) {
      assert.ok(catalog.methods[m], `discover lists ${m}`);
      assert.equal(typeof catalog.methods[m].description, "string");
    }
    // 2.0.1 describes params as strings; the schema form rides in paramsSchema.
    assert.match(catalog.methods.set.params.path, /^string — /);
    assert.match(catalog.methods.set.params.body, /^string\? — /);
    assert.equal(catalog.methods.set.paramsSchema.path.required, true);
    assert.deepEqual(await client.call("rpc/discover"), catalog, "rpc/discover is an alias");
    for (const n of [
      "run/state",
      "run/progress",
      "run/proposal",
      "run/changed",
      "ui/render",
      "ui/notify",
    ]) {
      assert.ok(catalog.notifications[n], `discover lists ${n}`);
    }
  });

  test("methods that need a project refuse a connection that has not said hello", async () => {
    const fresh = await RummyClient.connect(server.url, { token: serverToken(core)! });
    try {
      await rejects(fresh.call("getRuns"), -32001, /^Project not initialized\.$/);
      assert.ok(Array.isArray(await fresh.call("getModels")), "models need no project");
    } finally {
      await fresh.close();
    }
  });
});

describe("primitives", () => {
  test("set, get (promote), cp, mv, rm on a run's entries, as the client writer", async () => {
    newRun("prims");
    await client.call("set", {
      run: "prims",
      path: "known://db",
      body: "postgres 16",
      attributes: { source: "user" },
    });
    await client.call("set", { run: "prims", path: "known://db", visibility: "archived" });
    let [row] = await client.call<any[]>("getEntries", {
      run: "prims",
      pattern: "known://*",
      withBody: true,
    });
    assert.equal(row.body, "postgres 16");
    assert.equal(row.visibility, "archived");
    assert.equal(row.state, "resolved");
    assert.deepEqual(row.attributes, { source: "user" });
    await client.call("get", { run: "prims", path: "known://db" });
    [row] = await client.call<any[]>("getEntries", { run: "prims", pattern: "known://db" });
    assert.equal(row.visibility, "visible");
    assert.equal(row.body, undefined, "bodies only with withBody");
    await client.call("cp", { run: "prims", from: "known://db", to: "known://db-copy" });
    await client.call("mv", { run: "prims", from: "known://db-copy", to: "known://database" });
    const paths = (await client.call<any[]>("getEntries", { run: "prims", pattern: "*" })).map(
      (e) => e.path,
    );
    assert.deepEqual(paths.sort(), ["known://database", "known://db"]);
    const removed = await client.call<{ count: number }>("rm", { run: "prims", path: "known://*" });
    assert.equal(removed.count, 2);
    assert.deepEqual(await client.call("getEntries", { run: "prims", pattern: "*" }), []);
  });

  test("append streams into a body; pattern sets change views in bulk", async () => {
    newRun("bulk");
    await client.call("set", { run: "bulk", path: "known://stream", body: "", state: "streaming" });
    for (const chunk of ["a", "b", "c"])
      await client.call("set", { run: "bulk", path: "known://stream", body: chunk, append: true });
    await client.call("set", { run: "bulk", path: "known://other", body: "keep me" });
    const res = await client.call<{ count: number }>("set", {
      run: "bulk",
      path: "known://*",
      pattern: true,
      visibility: "summarized",
      bodyFilter: "abc",
    });
    assert.equal(res.count, 1);
    const rows = await client.call<any[]>("getEntries", {
      run: "bulk",
      pattern: "*",
      withBody: true,
    });
    const stream = rows.find((r) => r.path === "known://stream");
    assert.equal(stream.body, "abc");
    assert.equal(stream.state, "streaming");
    assert.equal(stream.visibility, "summarized");
    assert.equal(rows.find((r) => r.path === "known://other").visibility, "visible");
  });

  test("writes the client tier may not make fail with status 403 and change nothing", async () => {
    newRun("perm");
    await rejects(
      client.call("set", { run: "perm", path: "audit://x", body: "forged" }),
      -32000,
      /may not write/,
    );
    assert.deepEqual(await client.call("getEntries", { run: "perm", pattern: "*" }), []);
  });

  test("unknown runs, bad params and unknown schemes get clear errors", async () => {
    await rejects(
      client.call("set", { run: "ghost", path: "known://x", body: "b" }),
      -32000,
      /^Run 'ghost' not found\.$/,
    );
    await rejects(client.call("set", { run: "ghost" }), -32602, /path is required/);
    await rejects(
      client.call("set", { path: "known://x", state: "done" }),
      -32602,
      /state must be one of/,
    );
    newRun("schemes");
    await rejects(
      client.call("set", { run: "schemes", path: "bogus://x", body: "b" }),
      -32000,
      /unknown scheme/,
    );
  });

  test("update records a status entry in the run's log", async () => {
    newRun("upd");
    const res = await client.call<{ path: string }>("update", {
      run: "upd",
      body: "Working on it",
      status: 102,
    });
    assert.match(res.path, /^log:\/\/turn_1\/update\/working_on_it$/);
    const [row] = await client.call<any[]>("getEntries", {
      run: "upd",
      pattern: "log://*",
      withBody: true,
    });
    assert.equal(row.attributes.status, 102);
  });
});

describe("models, constraints, queries", () => {
  test("models are seeded from RUMMY_MODEL_<alias> and editable", async () => {
    let models = await client.call<any[]>("getModels");
    assert.deepEqual(
      models.find((m) => m.alias === "fast"),
      { alias: "fast", actual: "openai/gpt-4o-mini", context_length: null },
    );
    await client.call("addModel", {
      alias: "local",
      actual: "ollama/qwen2.5",
      contextLength: 32768,
    });
    models = await client.call<any[]>("getModels");
    assert.equal(models.find((m) => m.alias === "local").context_length, 32768);
    await client.call("removeModel", { alias: "local" });
    await rejects(client.call("removeModel", { alias: "local" }), -32000, /no model/);
    await rejects(
      client.call("addModel", { alias: "bad", actual: "noslash" }),
      -32000,
      /provider\/model/,
    );
  });

  test("file constraints set, list and drop", async () => {
    await client.call("file/constraint", { pattern: "./dist/", visibility: "ignore" });
    await client.call("file/constraint", { pattern: "package.json", visibility: "readonly" });
    assert.deepEqual(await client.call("getConstraints"), [
      { pattern: "dist", visibility: "ignore" },
      { pattern: "package.json", visibility: "readonly" },
    ]);
    await client.call("file/drop", { pattern: "dist" });
    assert.deepEqual(await client.call("getConstraints"), [
      { pattern: "package.json", visibility: "readonly" },
    ]);
    await rejects(client.call("file/constraint", { pattern: "x", visibility: "hidden" }), -32602);
  });

  test("getEntries filters and paginates by id; getRuns and getRun describe runs", async () => {
    const run = newRun("query");
    for (const n of [1, 2, 3])
      await client.call("set", { run: "query", path: `known://q${n}`, body: `body ${n}` });
    const all = await client.call<any[]>("getEntries", { run: "query", pattern: "*" });
    const after1 = await client.call<any[]>("getEntries", {
      run: "query",
      pattern: "*",
      since: all[0].id,
      limit: 1,
    });
    assert.deepEqual(
      after1.map((e) => e.path),
      ["known://q2"],
    );
    assert.deepEqual(
      (
        await client.call<any[]>("getEntries", { run: "query", pattern: "*", bodyFilter: "body 3" })
      ).map((e) => e.path),
      ["known://q3"],
    );
    const loop = core.loops.enqueue({ runId: run.id, mode: "ask", prompt: "what is here?" });
    const turn = core.turns.create(run.id, loop.id, core.runs.takeTurnNumber(run.id));
    core.turns.record(turn.id, { promptTokens: 120, completionTokens: 30, cost: 0.002 });
    const runs = await client.call<any[]>("getRuns");
    assert.ok(runs.some((r) => r.run === "query" && r.turn === 1));
    const detail = await client.call<any>("getRun", { run: "query" });
    assert.equal(detail.run, "query");
    assert.equal(detail.last_user_prompt, "what is here?");
    assert.deepEqual(detail.context.telemetry, {
      prompt_tokens: 120,
      completion_tokens: 30,
      total_tokens: 150,
      cost: 0.002,
    });
    await rejects(client.call("getRun", { run: "nope" }), -32000, /^Run 'nope' not found\.$/);
  });

  test("getRuns asked again answers the same list until a write, which the next answer shows", async () => {
    const waiting = newRun("listed-waiting");
    const first = await client.call<any[]>("getRuns");
    assert.deepEqual(await client.call<any[]>("getRuns"), first);
    assert.deepEqual(await client.call<any[]>("getRuns", { limit: 2 }), first.slice(0, 2));
    assert.deepEqual(await client.call<any[]>("getRuns", { offset: 1, limit: 1 }), [first[1]]);
    assert.equal(first[0].run, "listed-waiting");
    assert.equal(first[0].status, 100);
    // Waiting on a proposal (202) is still running (102) to a 2.0.1 client, kept or not.
    core.runs.setStatus(waiting.id, 102);
    core.runs.setStatus(waiting.id, 202);
    for (let i = 0; i < 2; i++) {
      const [top] = await client.call<any[]>("getRuns");
      assert.deepEqual([top.run, top.status], ["listed-waiting", 102]);
    }
    core.store.set({
      runId: waiting.id,
      path: "log://turn_1/update/1",
      body: "halfway",
      writer: "plugin",
    });
    assert.equal((await client.call<any[]>("getRuns"))[0].summary, "halfway");
  });
});

describe("run lifecycle basics", () => {
  test("set run:// validates its attributes; a model whose provider is not loaded ends the run at 500 with the reason", async () => {
    await rejects(
      client.call("set", { path: "run://new", body: "hi", attributes: { model: "fast" } }),
      -32000,
      /mode is required/,
    );
    const ended = client.waitFor<{ run: string; status: number; reason: string }>(
      "run/state",
      (p) => p.run === "new" && p.status === 500,
      10_000,
    );
    const res = await client.call<{ ok: boolean; alias: string }>("set", {
      path: "run://new",
      body: "hi",
      attributes: { model: "fast", mode: "ask" },
    });
    assert.deepEqual(res, { ok: true, alias: "new" });
    const state = await ended;
    assert.match(state.reason, /provider 'openai', which is not loaded/);
    const detail = await client.call<any>("getRun", { run: "new" });
    assert.equal(detail.status, 500);
    assert.equal(detail.last_user_prompt, "hi");
  });
});

describe("notifications", () => {
  test("run/changed pulses follow entry writes, coalesced per run", async () => {
    newRun("pulse");
    const pulse = client.waitFor<{ run: string }>("run/changed", (p) => p.run === "pulse", 5000);
    await client.call("set", { run: "pulse", path: "known://p", body: "x" });
    assert.deepEqual(await pulse, { run: "pulse" });
  });

  test("engine events become run/state, run/progress, ui/render and run/proposal for the run's project", async () => {
    const run = newRun("r1");
    const state = client.waitFor("run/state", (p) => p.run === "r1");
    const progress = client.waitFor("run/progress");
    const render = client.waitFor("ui/render");
    const proposal = client.waitFor("run/proposal");
    await core.hooks.emit("run.state", {
      projectId,
      runId: run.id,
      alias: "r1",
      status: 102,
      loopId: 1,
      turn: 1,
      reason: null,
    });
    await core.hooks.emit("run.progress", {
      projectId,
      runId: run.id,
      alias: "r1",
      loopId: 1,
      turn: 1,
      phase: "streaming",
      content: "Hel",
    });
    await core.hooks.emit("run.proposal", {
      projectId,
      runId: run.id,
      alias: "r1",
      loopId: 1,
      turn: 1,
      path: "log://turn_1/sh/ls",
      action: "sh",
      attributes: { command: "ls" },
      body: "",
    });
    const snapshot = await state;
    assert.equal(snapshot.run, "r1");
    assert.equal(snapshot.status, 102);
    assert.equal(snapshot.turn, 1);
    assert.equal(snapshot.reason, null);
    assert.deepEqual(snapshot.history, []);
    assert.deepEqual(snapshot.unknowns, []);
    assert.equal(snapshot.telemetry?.prompt_tokens, 0);
    assert.deepEqual(await progress, {
      run: "r1",
      turn: 1,
      status: "thinking",
      phase: "streaming",
      content: "Hel",
    });
    assert.deepEqual(await render, { text: "Hel", append: true, run: "r1", turn: 1 });
    assert.deepEqual(await proposal, {
      run: "r1",
      proposed: [
        {
          path: "log://turn_1/sh/ls",
          body: "",
          attributes: JSON.stringify({ command: "ls" }),
          turn: 1,
          action: "sh",
        },
      ],
    });
  });
});
