import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import {
  type ClientConnection,
  client,
  ndJsonStream,
  PROTOCOL_VERSION,
  type RequestPermissionRequest,
  type SessionUpdate,
} from "@agentclientprotocol/sdk";
import { createLogger, RummyCore } from "@rummy/core";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";

const require = createRequire(import.meta.url);
const FS_SERVER = join(
  dirname(require.resolve("@modelcontextprotocol/server-filesystem/package.json")),
  "dist/index.js",
);

/** The distribution's binary: `rummy acp` is what an editor starts. */
const RUMMY = fileURLToPath(new URL("../../../apps/cli/bin/rummy.mjs", import.meta.url));

let llm: FakeLlm;
let home: string;
let project: string;

before(async () => {
  llm = await startFakeLlm();
  home = mkdtempSync(join(tmpdir(), "rummy-acp-home-"));
  project = mkdtempSync(join(tmpdir(), "rummy-acp-project-"));
});
after(async () => {
  await llm.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(project, { recursive: true, force: true });
});

interface Editor {
  readonly child: ChildProcess;
  readonly connection: ClientConnection;
  readonly updates: SessionUpdate[];
  readonly permissions: RequestPermissionRequest[];
  readonly reads: string[];
  readonly writes: { path: string; content: string }[];
  readonly exited: Promise<number | null>;
}

/** Starts `rummy acp` as a child and connects the ACP SDK's client side to its stdio, as an editor does. */
function startEditor(options: {
  decide: (request: RequestPermissionRequest) => string | "hang";
  env?: Record<string, string>;
}): Editor {
  const child = spawn(process.execPath, [RUMMY, "acp"], {
    cwd: project,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RUMMY_HOME: home,
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: "sk-acp-test",
      RUMMY_MODEL_fake: "openai/fake-model",
      RUMMY_MODEL: "fake",
      RUMMY_RETRY_ATTEMPTS: "1",
      RUMMY_LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      if (code && code !== 0) process.stderr.write(`rummy acp stderr:\n${stderr}\n`);
      resolve(code);
    }),
  );
  const updates: SessionUpdate[] = [];
  const permissions: RequestPermissionRequest[] = [];
  const reads: string[] = [];
  const writes: { path: string; content: string }[] = [];
  const app = client({ name: "test-editor" })
    .onNotification("session/update", ({ params }) => {
      updates.push(params.update);
    })
    .onRequest("session/request_permission", async ({ params }) => {
      permissions.push(params);
      const choice = options.decide(params);
      if (choice === "hang") return new Promise(() => {});
      return { outcome: { outcome: "selected", optionId: choice } };
    })
    .onRequest("fs/read_text_file", ({ params }) => {
      reads.push(params.path);
      return { content: readFileSync(params.path, "utf8") };
    })
    .onRequest("fs/write_text_file", ({ params }) => {
      writes.push({ path: params.path, content: params.content });
      writeFileSync(params.path, params.content);
      return {};
    });
  const connection = app.connect(
    ndJsonStream(
      Writable.toWeb(child.stdin!) as WritableStream<Uint8Array>,
      Readable.toWeb(child.stdout!) as ReadableStream<Uint8Array>,
    ),
  );
  return { child, connection, updates, permissions, reads, writes, exited };
}

async function initialize(editor: Editor): Promise<string> {
  await handshake(editor);
  const session = await editor.connection.agent.request("session/new", {
    cwd: project,
    mcpServers: [],
  });
  return session.sessionId;
}

async function handshake(editor: Editor): Promise<void> {
  const init = await editor.connection.agent.request("initialize", {
    protocolVersion: PROTOCOL_VERSION,
    clientCapabilities: { fs: { readTextFile: true, writeTextFile: true } },
    clientInfo: { name: "test-editor", version: "1" },
  });
  assert.equal(init.protocolVersion, PROTOCOL_VERSION);
  assert.equal(init.agentInfo?.name, "rummy");
}

const text = (updates: SessionUpdate[], kind: "agent_message_chunk" | "agent_thought_chunk") =>
  updates
    .filter((u) => u.sessionUpdate === kind)
    .map((u) => (u as { content: { text?: string } }).content.text ?? "")
    .join("");

describe("rummy acp driven by the ACP SDK's client", () => {
  test("a prompt reads a file, edits it (allowed), runs <sh> (rejected), and ends", async () => {
    const notes = join(project, "notes.txt");
    writeFileSync(notes, "draft on disk\n");
    mkdirSync(join(project, "build"), { recursive: true });
    llm.enqueue(
      {
        content: `<get path="notes.txt"/>\n<unknown>is the build folder still needed?</unknown>\n<update status="102">Reading your notes.</update>`,
      },
      {
        content: `<set path="notes.txt">\n<<<<<<< SEARCH\ndraft on disk\n=======\nnotes edited by rummy\n>>>>>>> REPLACE\n</set>\n<update status="102">Editing them.</update>`,
      },
      { content: `<sh>rm -rf build</sh>\n<update status="102">Cleaning up.</update>` },
      { content: `<update status="200">All done: notes edited, build kept.</update>` },
    );
    const editor = startEditor({
      decide: (p) => (p.toolCall.kind === "edit" ? "allow_once" : "reject_once"),
    });
    try {
      const sessionId = await initialize(editor);
      const result = await editor.connection.agent.request("session/prompt", {
        sessionId,
        prompt: [{ type: "text", text: "tidy up my notes" }],
      });
      assert.equal(result.stopReason, "end_turn");

      // The model read the file (from disk: the edit applies to what is on disk).
      const prompts = llm.chatRequests().map((q) => q.body.messages[1].content as string);
      assert.ok(prompts[1]!.includes("draft on disk"));

      // The edit: a permission request with the diff, allowed; written to disk and through the editor.
      assert.equal(editor.permissions.length, 2);
      const [edit, shell] = editor.permissions;
      assert.equal(edit!.toolCall.kind, "edit");
      assert.deepEqual(
        edit!.options.map((o) => o.kind),
        ["allow_once", "allow_always", "reject_once"],
      );
      const diff = edit!.toolCall.content?.find((c) => c.type === "diff") as
        | { path: string; oldText: string; newText: string }
        | undefined;
      assert.equal(diff?.path, notes);
      assert.equal(diff?.oldText, "draft on disk\n");
      assert.equal(diff?.newText, "notes edited by rummy\n");
      assert.equal(readFileSync(notes, "utf8"), "notes edited by rummy\n");
      assert.deepEqual(editor.writes, [{ path: notes, content: "notes edited by rummy\n" }]);

      // The command: rejected, so it never ran.
      assert.equal(shell!.toolCall.kind, "execute");
      assert.match(shell!.toolCall.title ?? "", /rm -rf build/);
      assert.deepEqual(readdirSync(project).sort(), ["build", "notes.txt"]);

      // Streamed text: the agent's messages, without the tool tags.
      const message = text(editor.updates, "agent_message_chunk");
      assert.match(
        message,
        /Reading your notes\.[\s\S]*Editing them\.[\s\S]*Cleaning up\.[\s\S]*All done: notes edited, build kept\./,
      );
      assert.doesNotMatch(message, /<get|<set|<sh/);

      // Tool calls with their status.
      const calls = editor.updates.filter((u) => u.sessionUpdate === "tool_call") as {
        toolCallId: string;
        kind?: string;
        title: string;
      }[];
      const finalStatus = (id: string) =>
        editor.updates
          .filter((u) => (u as { toolCallId?: string }).toolCallId === id)
          .map((u) => (u as { status?: string }).status)
          .filter(Boolean)
          .at(-1);
      const read = calls.find((c) => c.kind === "read")!;
      assert.match(read.title, /get notes\.txt/);
      assert.equal(finalStatus(read.toolCallId), "completed");
      assert.equal(finalStatus(calls.find((c) => c.kind === "edit")!.toolCallId), "completed");
      assert.equal(finalStatus(calls.find((c) => c.kind === "execute")!.toolCallId), "failed");

      // The open question became a plan entry.
      const plan = editor.updates.find((u) => u.sessionUpdate === "plan") as
        | { entries: { content: string; status: string }[] }
        | undefined;
      assert.deepEqual(plan?.entries, [
        { content: "is the build folder still needed?", priority: "medium", status: "pending" },
      ]);
    } finally {
      editor.child.stdin!.end();
      assert.equal(await editor.exited, 0, "closing stdin ends rummy acp cleanly");
    }
  });

  test("allow always: the first command asks, the same kind of command later does not; approved commands run and show their output", async () => {
    llm.clear();
    llm.enqueue(
      { content: `<env>echo first-output</env>\n<update status="102">one</update>` },
      { content: `<env>echo second-output</env>\n<update status="102">two</update>` },
      { content: `<update status="200">both ran</update>` },
    );
    const editor = startEditor({ decide: () => "allow_always" });
    try {
      const sessionId = await initialize(editor);
      const result = await editor.connection.agent.request("session/prompt", {
        sessionId,
        prompt: [{ type: "text", text: "run two commands" }],
      });
      assert.equal(result.stopReason, "end_turn");
      assert.equal(editor.permissions.length, 1, "asked once");
      assert.match(editor.permissions[0]!.options[1]!.name, /Always allow env/);
      const contents = JSON.stringify(
        editor.updates.filter((u) => u.sessionUpdate === "tool_call_update"),
      );
      assert.match(contents, /first-output/);
      assert.match(contents, /second-output/);
      const prompts = llm.chatRequests().map((q) => q.body.messages[1].content as string);
      assert.ok(prompts.at(-1)!.includes("second-output"), "the model read the output");
    } finally {
      editor.child.stdin!.end();
      await editor.exited;
    }
  });

  test("session/cancel ends the prompt with stopReason cancelled; a failing model is a JSON-RPC error, not a hang", async () => {
    llm.clear();
    llm.enqueue({ content: `<sh>sleep 30</sh>\n<update status="102">waiting</update>` });
    let asked!: () => void;
    const permissionAsked = new Promise<void>((r) => (asked = r));
    const editor = startEditor({
      decide: () => {
        asked();
        return "hang";
      },
    });
    try {
      const sessionId = await initialize(editor);
      const prompt = editor.connection.agent.request("session/prompt", {
        sessionId,
        prompt: [{ type: "text", text: "wait" }],
      });
      await permissionAsked;
      await editor.connection.agent.notify("session/cancel", { sessionId });
      assert.equal((await prompt).stopReason, "cancelled");

      llm.clear();
      llm.enqueue({ fail: "unauthorized" });
      await assert.rejects(
        editor.connection.agent.request("session/prompt", {
          sessionId,
          prompt: [{ type: "text", text: "again" }],
        }),
        /the run failed: .*401/,
      );
      await assert.rejects(
        editor.connection.agent.request("session/prompt", {
          sessionId: "no-such-session",
          prompt: [{ type: "text", text: "x" }],
        }),
        /not found/i,
      );
    } finally {
      llm.clear();
      editor.child.stdin!.end();
      await editor.exited;
    }
  });

  test("session/new holds cwd to the rule rummy/hello does: not / or the home folder, only RUMMY_PROJECT_ROOTS; a link is its real path", async () => {
    const base = realpathSync(mkdtempSync(join(tmpdir(), "rummy-acp-roots-")));
    const allowed = join(base, "allowed");
    const inside = join(allowed, "proj");
    const outside = join(base, "outside");
    const fakeHome = join(base, "home");
    for (const dir of [inside, outside, fakeHome]) mkdirSync(dir, { recursive: true });
    symlinkSync(inside, join(outside, "link-to-proj"));
    const refused = (error: unknown, why: RegExp) => {
      const e = error as { code?: number; message?: string; data?: unknown };
      assert.equal(e.code, -32602, JSON.stringify(e));
      assert.match(`${e.message} ${JSON.stringify(e.data)}`, why);
      return true;
    };
    const newSession = (editor: Editor, cwd: string) =>
      editor.connection.agent.request("session/new", { cwd, mcpServers: [] });
    const open = startEditor({ decide: () => "reject_once", env: { HOME: fakeHome } });
    try {
      await handshake(open);
      await assert.rejects(newSession(open, "/"), (e) =>
        refused(e, /filesystem root or your home/),
      );
      await assert.rejects(newSession(open, fakeHome), (e) =>
        refused(e, /filesystem root or your home/),
      );
    } finally {
      open.child.stdin!.end();
      await open.exited;
    }
    llm.clear();
    llm.enqueue(
      { content: `<set path="hello.txt">hi</set>\n<update status="102">writing</update>` },
      { content: `<update status="200">written</update>` },
    );
    const editor = startEditor({
      decide: () => "allow_once",
      env: { RUMMY_PROJECT_ROOTS: allowed },
    });
    try {
      await handshake(editor);
      for (const cwd of [outside, join(allowed, "..")])
        await assert.rejects(newSession(editor, cwd), (e) =>
          refused(e, /outside RUMMY_PROJECT_ROOTS/),
        );
      const { sessionId } = await newSession(editor, join(outside, "link-to-proj"));
      const result = await editor.connection.agent.request("session/prompt", {
        sessionId,
        prompt: [{ type: "text", text: "write hello" }],
      });
      assert.equal(result.stopReason, "end_turn");
      const diff = editor.permissions[0]?.toolCall.content?.find((c) => c.type === "diff") as
        | { path: string }
        | undefined;
      assert.equal(diff?.path, join(inside, "hello.txt"), "the session's root is the real path");
      assert.equal(readFileSync(join(inside, "hello.txt"), "utf8"), "hi");
    } finally {
      llm.clear();
      editor.child.stdin!.end();
      await editor.exited;
      rmSync(base, { recursive: true, force: true });
    }
  });

  test("MCP servers the editor passes in session/new are the model's tools (through @rummy/plugin-mcp)", async () => {
    llm.clear();
    llm.enqueue(
      {
        content: `<mcp server="editorfs" tool="list_allowed_directories">{}</mcp>\n<update status="102">asking the editor's server</update>`,
      },
      { content: `<update status="200">listed</update>` },
    );
    const editor = startEditor({ decide: () => "reject_once" });
    try {
      await editor.connection.agent.request("initialize", {
        protocolVersion: PROTOCOL_VERSION,
        clientCapabilities: {},
      });
      const { sessionId } = await editor.connection.agent.request("session/new", {
        cwd: project,
        mcpServers: [
          { name: "editorfs", command: process.execPath, args: [FS_SERVER, project], env: [] },
        ],
      });
      const result = await editor.connection.agent.request("session/prompt", {
        sessionId,
        prompt: [{ type: "text", text: "where may you look?" }],
      });
      assert.equal(result.stopReason, "end_turn");
      assert.equal(editor.permissions.length, 0, "a read-only MCP tool runs without asking");
      const [first, second] = llm.chatRequests().slice(-2);
      assert.match(first!.body.messages[0].content as string, /### editorfs\n/);
      assert.ok((second!.body.messages[1].content as string).includes(project));
      const call = editor.updates.find(
        (u) => u.sessionUpdate === "tool_call" && /mcp/.test((u as { title: string }).title),
      ) as { toolCallId: string } | undefined;
      assert.ok(call, "the MCP call is shown as a tool call");
    } finally {
      editor.child.stdin!.end();
      await editor.exited;
    }
  });

  test("a client that disconnects mid-run: rummy acp exits and the run's state stays in the store", async () => {
    llm.clear();
    llm.enqueue(
      {
        content: `<known path="known://fact">the sky is blue</known>\n<sh>sleep 30</sh>\n<update status="102">waiting</update>`,
      },
      { content: `<update status="200">never reached</update>` },
    );
    let asked!: () => void;
    const permissionAsked = new Promise<void>((r) => (asked = r));
    const editor = startEditor({
      decide: () => {
        asked();
        return "hang";
      },
    });
    const sessionId = await initialize(editor);
    const prompt = editor.connection.agent
      .request("session/prompt", {
        sessionId,
        prompt: [{ type: "text", text: "remember and wait" }],
      })
      .catch((e: unknown) => e);
    await permissionAsked;
    // The editor goes away: its end of the pipes closes.
    editor.connection.close();
    editor.child.stdin!.destroy();
    editor.child.stdout!.destroy();
    assert.equal(await editor.exited, 0);
    assert.ok((await prompt) instanceof Error, "the pending prompt fails on the client side");
    llm.clear();

    const core = RummyCore.open({ home, logger: createLogger("silent"), env: {} });
    try {
      const projectRecord = core.projects.list().find((p) => p.root === project)!;
      const runs = core.runs.list(projectRecord.id);
      const run = runs.find((r) => core.store.getOne({ runId: r.id }, "known://fact"))!;
      assert.ok(run, "the run and what the model wrote are in the store");
      assert.equal(core.store.getOne({ runId: run.id }, "known://fact")!.body, "the sky is blue");
      assert.equal(core.store.getOne({ runId: run.id }, "prompt://1")!.body, "remember and wait");
      const [sh] = core.store.get({ runId: run.id, pattern: "log://turn_1/sh/*" });
      assert.equal(sh!.attributes.command, "sleep 30");
      assert.equal(run.status, 499, "cancelled, not left 'running' with nobody to run it");
      assert.equal(core.loops.list(run.id).at(-1)!.reason, "the editor disconnected");
      assert.equal(
        sh!.state,
        "failed",
        "the unanswered proposal was declined with the cancellation",
      );
    } finally {
      await core.close();
    }
  });

  test("rummy acp opens no network listener: the pipes its parent holds are the only way in", {
    skip: process.platform !== "linux" && "reads /proc (Linux only)",
  }, async () => {
    const editor = startEditor({ decide: () => "reject_once" });
    try {
      await initialize(editor);
      const pid = editor.child.pid!;
      const sockets = new Set(
        readdirSync(`/proc/${pid}/fd`)
          .map((fd) => {
            try {
              return readlinkSync(`/proc/${pid}/fd/${fd}`);
            } catch {
              return "";
            }
          })
          .map((link) => /^socket:\[(\d+)\]$/.exec(link)?.[1])
          .filter((inode): inode is string => Boolean(inode)),
      );
      const listening: string[] = [];
      for (const table of ["tcp", "tcp6", "udp", "udp6"]) {
        let rows: string[] = [];
        try {
          rows = readFileSync(`/proc/net/${table}`, "utf8").trim().split("\n").slice(1);
        } catch {
          continue;
        }
        for (const row of rows) {
          // Columns: sl local_address rem_address st … inode (the 10th).
          const cols = row.trim().split(/\s+/);
          const [local, state, inode] = [cols[1], cols[3], cols[9]];
          // TCP LISTEN is 0A; any bound UDP socket would be a way in too.
          if (inode && sockets.has(inode) && (state === "0A" || table.startsWith("udp")))
            listening.push(`${table} ${local}`);
        }
      }
      assert.deepEqual(listening, []);
      // Its stdin and stdout are the pipes this process holds.
      assert.match(readlinkSync(`/proc/${pid}/fd/0`), /^pipe:|^socket:/);
      assert.match(readlinkSync(`/proc/${pid}/fd/1`), /^pipe:|^socket:/);
    } finally {
      editor.child.stdin!.end();
      await editor.exited;
    }
  });
});
