/**
 * Conformance with the rummy 2.0.1 wire: one scripted session over a real
 * socket, as a 2.0.1 client would drive it, with every reply, error and
 * notification the server sends checked against the typed schema in
 * `@rummy/client` (src/wire-2.0.1.ts). A change that drifts from 2.0.1's
 * shapes fails here.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { wire } from "@rummy/client";
import askUser from "@rummy/plugin-ask-user";
import file from "@rummy/plugin-file";
import get from "@rummy/plugin-get";
import set from "@rummy/plugin-set";
import { type RummyServer, serverToken, startServer } from "@rummy/server";
import WebSocket from "ws";
import type { z } from "zod";
import { type Rig, rig, SHELL_PLUGINS } from "../src/index.js";

type Schema = z.ZodTypeAny;
interface Frame {
  readonly jsonrpc: "2.0";
  readonly id?: number | string | null;
  readonly method?: string;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly error?: { code: number; message: string; data?: unknown };
}

/**
 * A bare JSON-RPC socket (no client library in between): every frame that
 * arrives is validated — replies against the schema of the call that asked,
 * notifications against their method's schema. Anything unvalidated fails.
 */
class WireSession {
  readonly socket: WebSocket;
  readonly notifications: { method: string; params: any }[] = [];
  readonly problems: string[] = [];
  validated = 0;
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { method: string; schema: Schema | "error"; settle: (f: Frame) => void }
  >();
  readonly #waiters: { method: string; test: (p: any) => boolean; resolve: (p: any) => void }[] =
    [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data) => this.#receive(JSON.parse(data.toString()) as Frame));
  }

  static async open(url: string, token: string): Promise<WireSession> {
    // A 2.0.1 client adds the server's token to its connection; the wire itself is unchanged.
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((res, rej) => socket.once("open", res).once("error", rej));
    return new WireSession(socket);
  }

  /** Sends a request; the reply must be a result matching `schema` (default: the method's). */
  call<M extends wire.MethodName>(method: M, params: unknown): Promise<wire.MethodResult<M>>;
  call<S extends Schema>(method: string, params: unknown, schema: S): Promise<z.infer<S>>;
  /** A tool called by name. */
  call(method: string, params: unknown): Promise<z.infer<typeof wire.ToolCallResult>>;
  async call(method: string, params: unknown, schema?: Schema): Promise<unknown> {
    const resolved =
      schema ?? (wire.Results as Record<string, Schema>)[method] ?? wire.ToolCallResult;
    const frame = await this.#send(method, params, resolved);
    if (frame.error)
      throw new Error(`${method} failed: ${frame.error.code} ${frame.error.message}`);
    return frame.result;
  }

  /** Sends a request that must fail; the error object is checked against the schema. */
  async fails(method: string, params: unknown): Promise<{ code: number; message: string }> {
    const frame = await this.#send(method, params, "error");
    assert.ok(frame.error, `${method} was expected to fail`);
    return frame.error;
  }

  waitFor(method: string, test: (p: any) => boolean = () => true): Promise<any> {
    const seen = this.notifications.find((n) => n.method === method && test(n.params));
    if (seen) return Promise.resolve(seen.params);
    return new Promise((resolve) => this.#waiters.push({ method, test, resolve }));
  }

  /** The next matching notification, ignoring any seen before this call. */
  next(method: string, test: (p: any) => boolean = () => true): Promise<any> {
    return new Promise((resolve) => this.#waiters.push({ method, test, resolve }));
  }

  close(): Promise<void> {
    return new Promise((res) => {
      this.socket.once("close", () => res());
      this.socket.close();
    });
  }

  #send(method: string, params: unknown, schema: Schema | "error"): Promise<Frame> {
    const id = this.#nextId++;
    return new Promise((settle) => {
      this.#pending.set(id, { method, schema, settle });
      this.socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  #check(what: string, schema: Schema, value: unknown): void {
    const parsed = schema.safeParse(value);
    if (parsed.success) this.validated++;
    else
      this.problems.push(
        `${what}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")} — ${JSON.stringify(value).slice(0, 400)}`,
      );
  }

  #receive(frame: Frame): void {
    if (frame.jsonrpc !== "2.0") this.problems.push(`frame without jsonrpc 2.0: ${frame}`);
    if (frame.method !== undefined && frame.id === undefined) {
      const schema = (wire.Notifications as Record<string, Schema>)[frame.method];
      if (!schema) this.problems.push(`notification ${frame.method} has no schema`);
      else this.#check(`notification ${frame.method}`, schema, frame.params);
      this.notifications.push({ method: frame.method, params: frame.params });
      for (const w of [...this.#waiters]) {
        if (w.method === frame.method && w.test(frame.params)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(frame.params);
        }
      }
      return;
    }
    const pending = this.#pending.get(Number(frame.id));
    if (!pending) return void this.problems.push(`reply to no request: ${JSON.stringify(frame)}`);
    this.#pending.delete(Number(frame.id));
    if (frame.error) this.#check(`${pending.method} error`, wire.RpcError, frame.error);
    else if (pending.schema === "error")
      this.problems.push(`${pending.method} succeeded where it should fail`);
    else this.#check(`${pending.method} result`, pending.schema, frame.result);
    pending.settle(frame);
  }
}

let r: Rig;
let server: RummyServer;
let session: WireSession;
let root: string;

const terminal = (alias: string) =>
  session.waitFor("run/state", (s) => s.run === alias && s.status >= 200 && s.status !== 202);

before(async () => {
  r = await rig({ RUMMY_SHELL_TIMEOUT: "20000" }, [file, get, set, askUser, ...SHELL_PLUGINS]);
  root = realpathSync(mkdtempSync(join(tmpdir(), "rummy-conformance-")));
  writeFileSync(join(root, "README.md"), "# demo\n");
  mkdirSync(join(r.home, "personas"), { recursive: true });
  writeFileSync(join(r.home, "personas", "pirate.md"), "You talk like a pirate.");
  mkdirSync(join(r.home, "skills"), { recursive: true });
  writeFileSync(join(r.home, "skills", "testing.md"), "# Testing\nRun the tests.");
  server = await startServer({ core: r.core, port: 0 });
  session = await WireSession.open(server.url, serverToken(r.core)!);
});

after(async () => {
  await session.close();
  await server.close();
  await r.close();
  rmSync(root, { recursive: true, force: true });
});

test("a 2.0.1 session: every reply and notification has 2.0.1's shape", async () => {
  // --- Before the handshake: 2.0.1's error texts (our codes).
  assert.equal(
    (await session.fails("getRuns", {})).message,
    wire.ERROR_TEXTS.notInitialized,
    "2.0.1's not-initialized text",
  );
  const missing = await session.fails("no/such/method", {});
  assert.equal(missing.code, -32601);
  assert.equal(missing.message, wire.ERROR_TEXTS.methodNotFound("no/such/method"));

  // --- Handshake and catalog.
  const hello = await session.call("rummy/hello", {
    name: "conformance",
    projectRoot: root,
    clientVersion: "2.0.1",
  });
  assert.equal(hello.projectRoot, root);
  assert.deepEqual(await session.call("ping", {}), {});
  const catalog = await session.call("discover", {});
  for (const tool of ["ask_user", "env", "known", "sh", "think", "unknown"])
    assert.ok(catalog.methods[tool], `discover lists the callable tool ${tool}`);
  for (const name of ["persona/set", "listPersonas", "skill/add", "stream", "getRun"])
    assert.ok(catalog.methods[name], `discover lists ${name}`);
  for (const n of ["run/state", "run/progress", "run/proposal", "ui/render", "ui/notify"])
    assert.ok(catalog.notifications[n], `discover lists ${n}`);
  assert.deepEqual(await session.call("rpc/discover", {}), catalog, "rpc/discover is an alias");
  assert.equal(
    (await session.fails("getRun", { run: "nope" })).message,
    wire.ERROR_TEXTS.runNotFound("nope"),
  );
  assert.ok((await session.call("getModels", {})).some((m) => m.alias === "fake"));

  // --- An ask run: knowns, an unknown, a final answer; streamed so ui/render shows up.
  r.llm.enqueue({
    content: `<known path="known://stack">node 20</known>\n<unknown path="unknown://db">which database?</unknown>\n<update status="200">node 20, database unknown</update>`,
    reasoning: "Look at the stack first.",
    chunkSize: 16,
  });
  const askDone = terminal("asked");
  const started = await session.call(
    "set",
    {
      path: "run://asked",
      body: "What is the stack?",
      attributes: { model: "fake", mode: "ask", temperature: 0.2, persona: "Answer briefly." },
    },
    wire.RunSetResult,
  );
  assert.equal(started.alias, "asked");
  const askState = await askDone;
  assert.equal(askState.status, 200);
  assert.equal(askState.summary, "node 20, database unknown");
  assert.deepEqual(askState.unknowns, [{ path: "unknown://db", body: "which database?" }]);
  const tools = askState.history.map((h: { tool: string }) => h.tool);
  assert.deepEqual(tools, ["prompt", "known", "unknown", "update"], "history includes the prompt");
  assert.ok(askState.telemetry.context_size > 0);
  const asked = await session.call("getRun", { run: "asked" });
  assert.equal(asked.temperature, 0.2);
  assert.equal(asked.persona, "Answer briefly.");
  assert.equal(asked.context_limit, null);
  assert.deepEqual(
    asked.context.reasoning.map((x) => x.body),
    ["Look at the stack first."],
  );
  assert.match(asked.context.content[0]!.body, /^<known path="known:\/\/stack">/);
  assert.equal(asked.last_user_prompt, "What is the stack?");

  // --- An act run: a file edit and an <sh> proposal, accepted, streamed; then a second <sh> rejected.
  r.llm.enqueue(
    {
      content: `<set path="notes.txt">hello</set>\n<sh>echo hi</sh>\n<update status="102">writing</update>`,
    },
    { content: `<sh>rm -rf build</sh>\n<update status="102">cleaning</update>` },
    { content: `<update status="200">done</update>` },
  );
  const editProposal = session.waitFor("run/proposal", (p) => p.run === "acted");
  const actDone = terminal("acted");
  await session.call(
    "set",
    { path: "run://acted", body: "write notes", attributes: { model: "fake", mode: "act" } },
    wire.RunSetResult,
  );
  const edit = (await editProposal).proposed[0];
  const editAttributes = JSON.parse(edit.attributes);
  assert.equal(edit.body, "", "a file edit's change travels in patch/merge");
  assert.equal(editAttributes.file, "notes.txt");
  assert.match(editAttributes.patch, /\+hello/);
  assert.equal(editAttributes.merge, "<<<<<<< SEARCH\n=======\nhello\n>>>>>>> REPLACE");
  const waiting = await session.call("getRun", { run: "acted" });
  assert.equal(waiting.status, 102, "a run waiting on a proposal is running to 2.0.1");
  assert.equal(waiting.pending, 1);
  const shProposal = session.next("run/proposal", (p) => p.run === "acted");
  // 2.0.1's path for a file edit resolves the same proposal as ours.
  const accepted = await session.call(
    "set",
    { run: "acted", path: `set://turn_${edit.turn}/notes.txt`, state: "resolved" },
    wire.ResolveResult,
  );
  assert.equal(accepted.run, "acted");
  assert.equal(readFileSync(join(root, "notes.txt"), "utf8"), "hello", "no newline added");
  assert.ok(
    (await session.call("getConstraints", {})).some(
      (c) => c.pattern === "notes.txt" && c.visibility === "active",
    ),
    "a written file gets an active constraint",
  );
  const sh = (await shProposal).proposed[0];
  assert.equal(JSON.parse(sh.attributes).command, "echo hi");
  const rejectNext = session.next("run/proposal", (p) => p.run === "acted");
  await session.call("set", { run: "acted", path: sh.path, state: "resolved" }, wire.ResolveResult);
  assert.deepEqual(
    await session.call("stream", { run: "acted", path: sh.path, channel: 1, chunk: "hi\n" }),
    { status: "ok" },
  );
  const completed = await session.call("stream/completed", {
    run: "acted",
    path: sh.path,
    exit_code: 0,
  });
  assert.ok(completed.channels >= 1, "stdout and stderr channels are completed");
  const second = (await rejectNext).proposed[0];
  const rejected = await session.call(
    "set",
    { run: "acted", path: second.path, state: "cancelled", body: "not now" },
    wire.ResolveResult,
  );
  assert.equal(rejected.run, "acted");
  assert.equal((await actDone).status, 200);

  // --- Queries.
  const acted = await session.call("getRun", { run: "acted" });
  const actTools = acted.context.history.map((h) => h.tool);
  for (const tool of ["prompt", "set", "sh", "update"]) assert.ok(actTools.includes(tool), tool);
  const files = await session.call("getEntries", { run: "acted" });
  assert.ok(files.length > 0, "the project's files");
  assert.ok(
    files.every((e) => e.scheme === "file"),
    "getEntries with the default pattern lists the project's files",
  );
  assert.ok(files.some((e) => e.path === "notes.txt"));
  const all = await session.call("getEntries", { run: "acted", pattern: "*", withBody: true });
  assert.ok(all.some((e) => e.scheme === "log"));
  const runs = await session.call("getRuns", {});
  assert.deepEqual(
    runs.map((x) => x.run),
    ["acted", "asked"],
    "getRuns is newest first",
  );

  // --- Personas and skills.
  assert.deepEqual(await session.call("persona/set", { run: "asked", name: "pirate" }), {
    status: "ok",
  });
  assert.equal((await session.call("getRun", { run: "asked" })).persona, "You talk like a pirate.");
  await session.call("persona/set", { run: "asked", text: "Be brief." });
  assert.equal((await session.call("getRun", { run: "asked" })).persona, "Be brief.");
  await session.call("persona/set", { run: "asked" });
  assert.equal((await session.call("getRun", { run: "asked" })).persona, null, "cleared");
  assert.deepEqual(
    (await session.call("listPersonas", {})).map((p) => p.name),
    ["pirate"],
  );
  assert.deepEqual(
    (await session.call("listSkills", {})).map((s) => s.name),
    ["testing"],
  );
  assert.equal(
    (await session.call("skill/add", { run: "asked", name: "testing" })).skill,
    "testing",
  );
  assert.deepEqual(
    (await session.call("getSkills", { run: "asked" })).map((s) => [s.name, s.status]),
    [["testing", 200]],
  );
  await session.call("skill/remove", { run: "asked", name: "testing" });

  // --- A tool by name, and the remaining primitives.
  const known = await session.call("known", {
    run: "asked",
    path: "known://client",
    body: "from the client",
  });
  assert.equal(known.status, "ok");
  await session.call("get", { run: "asked", path: "known://client" });
  await session.call("cp", { run: "asked", from: "known://client", to: "known://copy" });
  await session.call("mv", { run: "asked", from: "known://copy", to: "known://moved" });
  await session.call("rm", { run: "asked", path: "known://moved" });
  await session.call("update", { run: "asked", body: "still here" });

  // --- Cancel.
  r.llm.enqueue({ fail: "hang" });
  const cancelled = terminal("hung");
  await session.call(
    "set",
    { path: "run://hung", body: "wait forever", attributes: { model: "fake", mode: "ask" } },
    wire.RunSetResult,
  );
  await session.waitFor("run/progress", (p) => p.run === "hung");
  assert.deepEqual(
    await session.call("set", { path: "run://hung", state: "cancelled" }, wire.RunSetResult),
    { ok: true, alias: "hung" },
  );
  assert.equal((await cancelled).status, 499);

  // --- What the session saw.
  const seen = new Set(session.notifications.map((n) => n.method));
  for (const n of ["run/state", "run/progress", "run/proposal", "ui/render", "ui/notify"])
    assert.ok(seen.has(n), `the session saw ${n}`);
  const progress = new Set(
    session.notifications.filter((n) => n.method === "run/progress").map((n) => n.params.status),
  );
  assert.deepEqual([...progress].sort(), ["processing", "thinking"]);
  const dispatchStates = session.notifications.filter(
    (n) => n.method === "run/state" && n.params.run === "asked" && n.params.status === 102,
  );
  assert.ok(dispatchStates.length >= 3, "a 102 snapshot per dispatched command");
  assert.deepEqual(session.problems, [], "every frame matches the 2.0.1 schema");
  assert.ok(session.validated > 60, `${session.validated} frames validated`);
});

test("PORT is read as in 2.0.1; RUMMY_PORT wins when both are set", async () => {
  const probe = await startServer({ core: r.core, port: 0 });
  const free = probe.port;
  await probe.close();
  const viaPort = await startServer({ core: withEnv({ PORT: String(free) }) });
  assert.equal(viaPort.port, free);
  await viaPort.close();
  const both = await startServer({
    core: withEnv({ PORT: "1", RUMMY_PORT: String(free) }),
  });
  assert.equal(both.port, free, "RUMMY_PORT wins over PORT");
  await both.close();
});

/** The rig's core seen through a different environment (the server reads only `env` from it here). */
function withEnv(env: Record<string, string>): typeof r.core {
  return new Proxy(r.core, {
    get: (target, key) =>
      key === "env" ? { ...target.env, ...env } : Reflect.get(target, key, target),
  });
}
