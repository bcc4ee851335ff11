import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RummyClient } from "@rummy/client";
import type { RunRecord } from "@rummy/core";
import { type Rig, rig, runOnWire } from "@rummy/integration";
import get from "@rummy/plugin-get";
import { type RummyServer, serverToken, startServer } from "@rummy/server";
import mcp from "../src/index.js";

const require = createRequire(import.meta.url);
/** The servers' entry scripts, run with this node (no npx, no network). */
const FS_SERVER = join(
  dirname(require.resolve("@modelcontextprotocol/server-filesystem/package.json")),
  "dist/index.js",
);
const EVERYTHING_SERVER = join(
  dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")),
  "dist/index.js",
);

const work = realpathSync(mkdtempSync(join(tmpdir(), "rummy-mcp-fs-")));
const configFile = join(work, "mcp.json");
const sandbox = join(work, "sandbox");
mkdirSync(sandbox);
writeFileSync(
  configFile,
  JSON.stringify({
    mcpServers: {
      fs: { command: process.execPath, args: [FS_SERVER, sandbox] },
      everything: { command: process.execPath, args: [EVERYTHING_SERVER, "stdio"] },
      // Crashes at once, every time.
      crashy: { command: process.execPath, args: ["-e", "process.exit(3)"] },
      // Starts and never answers the handshake.
      hangs: { command: process.execPath, args: ["-e", "setInterval(() => {}, 1000)"] },
      missing: { command: "/nonexistent/mcp-server-that-is-not-there" },
    },
  }),
);

let r: Rig;
let server: RummyServer;
let client: RummyClient;
const { start, proposal, terminal } = runOnWire(() => client, 60_000);

before(async () => {
  r = await rig(
    {
      RUMMY_MCP_CONFIG: configFile,
      RUMMY_MCP_START_TIMEOUT: "10000",
      RUMMY_MCP_CALL_TIMEOUT: "4000",
      RUMMY_CONTEXT_DEFAULT: "100000",
      RUMMY_MAX_STRIKES: "10",
      RUMMY_ALLOW_YOLO: "1",
    },
    [get, mcp],
  );
  server = await startServer({ core: r.core, port: 0 });
  client = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
  await client.hello("it", r.root);
});
after(async () => {
  await client.close();
  await server.close();
  await r.close();
  rmSync(work, { recursive: true, force: true });
});

const entries = (alias: string, pattern: string) =>
  client.call<{ path: string; state: string; status: number; body: string }[]>("getEntries", {
    run: alias,
    pattern,
    withBody: true,
  });
const prompts = () =>
  r.llm.chatRequests().map((q) => ({
    system: q.body.messages[0].content as string,
    user: q.body.messages[1].content as string,
  }));

/** A run on the engine directly, the model scripted; resolves when it ends or waits on a proposal. */
async function run(
  alias: string,
  replies: string[],
  mode: "ask" | "act" = "act",
): Promise<RunRecord> {
  r.llm.enqueue(...replies.map((content) => ({ content })));
  const { run } = r.core.engine.submit({
    projectId: r.projectId,
    alias,
    mode,
    model: "fake",
    prompt: "go",
  });
  const settled = await r.core.engine.settled(run.id);
  r.llm.clear(); // a run that ended early must not leave its replies to the next
  return settled;
}
const entry = (run: RunRecord, path: string) => r.core.store.getOne({ runId: run.id }, path);
const errors = (run: RunRecord) =>
  r.core.store
    .get({ runId: run.id, pattern: "log://*/error/*" })
    .map((e) => e.body)
    .join("\n");

describe("the filesystem server through a whole run over the wire", () => {
  test("a read-only call runs at once; a write is a proposal; accepted, it writes the file; the model sees both results", async () => {
    writeFileSync(join(sandbox, "hello.txt"), "hello from the sandbox\n");
    const target = join(sandbox, "out.txt");
    r.llm.enqueue({
      content: [
        `<mcp server="fs" tool="read_text_file">{"path": ${JSON.stringify(join(sandbox, "hello.txt"))}}</mcp>`,
        `<mcp server="fs" tool="write_file">{"path": ${JSON.stringify(target)}, "content": "written by rummy"}</mcp>`,
        `<update status="102">reading and writing</update>`,
      ].join("\n"),
    });
    r.llm.setHandler((req) => {
      const user = req.body.messages[1].content as string;
      const sawRead = user.includes("hello from the sandbox");
      const sawWrite = /Successfully wrote/.test(user);
      return { content: `<update status="200">read=${sawRead} write=${sawWrite}</update>` };
    });
    const proposed = proposal("fsrun");
    const done = terminal("fsrun");
    await start("fsrun", "act");
    const {
      proposed: [p],
    } = await proposed;
    assert.equal(p!.action, "mcp");
    // 2.0.1's wire sends a proposal's attributes as a JSON string.
    const attributes = JSON.parse(p!.attributes) as Record<string, unknown>;
    assert.equal(attributes.server, "fs");
    assert.equal(attributes.tool, "write_file");
    assert.equal(attributes.readOnly, false);
    assert.throws(() => readFileSync(target), /ENOENT/, "nothing is written before approval");
    // The read-only call already ran, before the proposal.
    const [read] = await entries("fsrun", "mcp://fs/read_text_file/*");
    assert.equal(read!.state, "resolved");
    assert.match(read!.body, /hello from the sandbox/);
    await client.call("set", { run: "fsrun", path: p!.path, state: "resolved" });
    const state = await done;
    r.llm.setHandler(undefined);
    assert.equal(state.status, 200);
    assert.equal(state.reason, "read=true write=true");
    assert.equal(readFileSync(target, "utf8"), "written by rummy");
    const [written] = await entries("fsrun", "mcp://fs/write_file/*");
    assert.match(written!.body, /Successfully wrote/);
    // The model was told about the tools, with the read-only mark and the argument signature.
    const first = prompts().at(-2)!.system;
    assert.match(first, /## <mcp server="name" tool="tool">/);
    assert.match(first, /- read_text_file \(read-only\) \{path: string/);
    assert.match(first, /- write_file \{path: string, content: string\}/);
    assert.match(first, /### everything/);
    assert.match(first, /### crashy: unavailable/);
  });

  test("a rejected write writes nothing and the log says 403", async () => {
    const target = join(sandbox, "never.txt");
    r.llm.enqueue(
      {
        content: `<mcp server="fs" tool="write_file">{"path": ${JSON.stringify(target)}, "content": "x"}</mcp>\n<update status="102">w</update>`,
      },
      { content: `<update status="422">the user declined</update>` },
    );
    const proposed = proposal("fsreject");
    const done = terminal("fsreject");
    await start("fsreject", "act");
    const {
      proposed: [p],
    } = await proposed;
    await client.call("set", { run: "fsreject", path: p!.path, state: "cancelled", body: "no" });
    assert.equal((await done).status, 422);
    assert.throws(() => readFileSync(target), /ENOENT/);
    const [log] = await entries("fsreject", p!.path);
    assert.equal(log!.status, 403);
    assert.deepEqual(await entries("fsreject", "mcp://fs/write_file/*"), []);
  });

  test("under yolo a write runs without a proposal", async () => {
    const target = join(sandbox, "yolo.txt");
    r.llm.enqueue(
      {
        content: `<mcp server="fs" tool="write_file">{"path": ${JSON.stringify(target)}, "content": "yolo"}</mcp>\n<update status="102">w</update>`,
      },
      { content: `<update status="200">ok</update>` },
    );
    const state = terminal("fsyolo");
    await start("fsyolo", "act", { yolo: true });
    assert.equal((await state).status, 200);
    assert.equal(readFileSync(target, "utf8"), "yolo");
  });

  test("mcp/servers reports each server's state without starting any", async () => {
    const { servers } = await client.call<{
      servers: {
        name: string;
        state: string;
        starts: number;
        pid: number | null;
        tools: number | null;
      }[];
    }>("mcp/servers");
    const fs = servers.find((s) => s.name === "fs")!;
    assert.equal(fs.state, "ready");
    assert.ok(fs.pid! > 0);
    assert.equal(fs.tools! > 5, true);
    assert.deepEqual(servers.map((s) => s.name).sort(), [
      "crashy",
      "everything",
      "fs",
      "hangs",
      "missing",
    ]);
  });
});

describe("the everything server: resources, ask mode, a call that hangs", () => {
  test("<get mcp://server/uri> reads a resource into an entry the next prompt shows", async () => {
    const uri = "demo://resource/static/document/architecture.md";
    const done = await run("resource", [
      `<get path="mcp://everything/${uri}"/>\n<update status="102">reading</update>`,
      `<update status="200">read</update>`,
    ]);
    assert.equal(done.status, 200);
    const e = entry(done, `mcp://everything/${uri}`)!;
    assert.equal(e.visibility, "visible");
    assert.ok(e.body.length > 100, "the document's text");
    assert.ok(prompts().at(-1)!.user.includes(e.body.slice(0, 200)));
  });

  test("a resource that does not exist refuses the <get> with the server's reason", async () => {
    const done = await run("noresource", [
      `<get path="mcp://everything/demo://resource/none/such"/>\n<update status="200">x</update>`,
      `<update status="200">gave up</update>`,
    ]);
    assert.equal(done.status, 200);
    assert.match(
      errors(done),
      /could not read mcp:\/\/everything\/demo:\/\/resource\/none\/such: MCP server 'everything' failed/,
    );
  });

  test("ask mode offers only read-only tools and refuses the others", async () => {
    const done = await run(
      "askmode",
      [
        `<mcp server="everything" tool="echo">{"message": "ping"}</mcp>\n<mcp server="everything" tool="toggle-simulated-logging">{}</mcp>\n<update status="102">x</update>`,
        `<update status="200">done</update>`,
      ],
      "ask",
    );
    assert.equal(done.status, 200);
    const [echo] = r.core.store.get({ runId: done.id, pattern: "mcp://everything/echo/*" });
    assert.match(echo!.body, /ping/);
    assert.match(
      errors(done),
      /toggle-simulated-logging is not marked read-only, and ask mode allows no side effects/,
    );
    const system = prompts().at(-1)!.system;
    assert.match(system, /- echo \(read-only\)/);
    assert.doesNotMatch(system, /toggle-simulated-logging/);
  });

  test("a call that outlives the timeout fails with a 504 the model sees; the run goes on", async () => {
    const done = await run("hangcall", [
      `<mcp server="everything" tool="trigger-long-running-operation">{"duration": 30, "steps": 3}</mcp>\n<update status="102">waiting</update>`,
      `<update status="200">moved on</update>`,
    ]);
    assert.equal(done.status, 200);
    const [log] = r.core.store.get({ runId: done.id, pattern: "log://turn_*/mcp/*" });
    assert.equal(log!.status, 504);
    assert.match(
      errors(done),
      /did not answer within 4000 ms while running trigger-long-running-operation/,
    );
    // The server itself is still usable afterwards.
    const again = await run("aftertimeout", [
      `<mcp server="everything" tool="get-sum">{"a": 2, "b": 3}</mcp>\n<update status="102">x</update>`,
      `<update status="200">ok</update>`,
    ]);
    const [sum] = r.core.store.get({ runId: again.id, pattern: "mcp://everything/get-sum/*" });
    assert.match(sum!.body, /5/);
  });
});

describe("servers that fail", () => {
  test("a server that crashes is restarted once, then given up on with a clear error", async () => {
    const pidOf = async () =>
      (
        await client.call<{ servers: { name: string; pid: number | null; starts: number }[] }>(
          "mcp/servers",
        )
      ).servers.find((s) => s.name === "fs")!;
    const before = await pidOf();
    assert.ok(before.pid);
    process.kill(before.pid!, "SIGKILL");
    await waitUntil(async () => (await pidOf()).pid === null);
    const list = `<mcp server="fs" tool="list_allowed_directories">{}</mcp>\n<update status="102">x</update>`;
    const restarted = await run("crash1", [list, `<update status="200">ok</update>`]);
    assert.equal(restarted.status, 200);
    const [ok] = r.core.store.get({
      runId: restarted.id,
      pattern: "mcp://fs/list_allowed_directories/*",
    });
    assert.ok(ok!.body.includes(sandbox));
    const second = await pidOf();
    assert.equal(second.starts, 2);
    assert.notEqual(second.pid, before.pid);
    process.kill(second.pid!, "SIGKILL");
    await waitUntil(async () => (await pidOf()).pid === null);
    const gaveUp = await run("crash2", [list, `<update status="200">noted</update>`]);
    assert.equal(gaveUp.status, 200, "the run ends; it is not stuck");
    assert.match(
      errors(gaveUp),
      /MCP server 'fs' is unavailable: it exited unexpectedly[\s\S]*already restarted once/,
    );
  });

  test("a server that exits at start, one that is missing, and one that never answers: each a clear error, no stuck run", async () => {
    const done = await run("broken", [
      `<mcp server="crashy" tool="x">{}</mcp>\n<update status="102">a</update>`,
      `<mcp server="missing" tool="x">{}</mcp>\n<update status="102">b</update>`,
      `<mcp server="hangs" tool="x">{}</mcp>\n<update status="102">c</update>`,
      `<mcp server="nosuch" tool="x">{}</mcp>\n<update status="102">d</update>`,
      `<update status="200">survived</update>`,
    ]);
    assert.equal(done.status, 200);
    const text = errors(done);
    assert.match(text, /MCP server 'crashy'[^\n]*it exited during the MCP handshake/);
    assert.match(
      text,
      /MCP server 'missing'[^\n]*it could not be started: spawn \/nonexistent\/\S+ ENOENT/,
    );
    assert.match(
      text,
      /MCP server 'hangs'[^\n]*it did not answer the MCP handshake within 10000 ms/,
    );
    assert.match(
      text,
      /no MCP server 'nosuch'; configured: fs, everything, crashy, hangs, missing/,
    );
  });

  test("bad arguments and unknown tools are 400/404 errors naming what exists", async () => {
    const done = await run("badargs", [
      `<mcp server="everything" tool="echo">not json</mcp>\n<update status="102">a</update>`,
      `<mcp server="everything" tool="nope">{}</mcp>\n<update status="102">b</update>`,
      `<mcp server="everything"/>\n<update status="102">c</update>`,
      `<update status="200">done</update>`,
    ]);
    assert.equal(done.status, 200);
    const text = errors(done);
    assert.match(text, /must be a JSON object of arguments/);
    assert.match(text, /has no tool 'nope'; it has: echo, /);
    const [listing] = r.core.store
      .get({ runId: done.id, pattern: "log://turn_3/mcp/*" })
      .map((e) => e.body);
    assert.match(listing!, /^echo \(read-only\): Echoes back the input string\narguments: \{/m);
  });
});

async function waitUntil(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
