import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RummyClient } from "@rummy/client";
import { type RummyServer, serverToken, startServer } from "@rummy/server";
import { type Rig, rig, runOnWire, SHELL_PLUGINS } from "../src/index.js";

let r: Rig;
let server: RummyServer;
let client: RummyClient;
const { start, proposal, terminal } = runOnWire(() => client, 30_000);

before(async () => {
  r = await rig({ RUMMY_SHELL_TIMEOUT: "20000", RUMMY_ALLOW_YOLO: "1" }, SHELL_PLUGINS);
  server = await startServer({ core: r.core, port: 0 });
  client = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
  await client.hello("it", r.root);
});
after(async () => {
  await client.close();
  await server.close();
  await r.close();
});

type State = { run: string; status: number; reason: string | null };

describe("client-executed commands", () => {
  test("<sh> proposal → accept → the client streams chunks and completes → the model reads the output next turn", async () => {
    let release!: () => void;
    const streamed = new Promise<void>((res) => (release = res));
    r.llm.enqueue({
      content: `<sh>printf 'hello\\nworld\\n'</sh>\n<update status="102">running</update>`,
    });
    r.llm.setHandler(async (req) => {
      await streamed;
      const user = req.body.messages[1].content as string;
      return {
        content: `<update status="200">${/sh:\/\/turn_1\/[^"]*_1"[\s\S]*world/.test(user) ? "saw world" : "saw nothing"}</update>`,
      };
    });
    const proposed = proposal("shell");
    const done = terminal("shell");
    await start("shell", "act");
    const {
      proposed: [p],
    } = await proposed;
    assert.equal(p!.action, "sh");
    // 2.0.1 sends attributes as a JSON string.
    assert.equal(JSON.parse(p!.attributes).command, "printf 'hello\\nworld\\n'");
    await client.call("set", { run: "shell", path: p!.path, state: "resolved" });
    await client.call("stream", { run: "shell", path: p!.path, channel: 1, chunk: "hello\n" });
    await client.call("stream", { run: "shell", path: p!.path, channel: 1, chunk: "world\n" });
    const completed = await client.call<{ channels: number }>("stream/completed", {
      run: "shell",
      path: p!.path,
      exit_code: 0,
      duration: "0.1s",
    });
    assert.equal(completed.channels, 2);
    release();
    const state = await done;
    r.llm.setHandler(undefined);
    assert.equal(state.reason, "saw world");
    const rows = await client.call<any[]>("getEntries", {
      run: "shell",
      pattern: "sh://*",
      withBody: true,
    });
    assert.deepEqual(
      rows.map((e) => [e.path.replace(/.*\//, ""), e.state, e.body]),
      [
        ["printf_hello_nworld_n_1", "resolved", "hello\nworld\n"],
        ["printf_hello_nworld_n_2", "resolved", ""],
      ],
    );
    const [log] = await client.call<any[]>("getEntries", {
      run: "shell",
      pattern: p!.path,
      withBody: true,
    });
    assert.match(
      log.body,
      /ran 'printf 'hello\\nworld\\n'', exit=0 \(0\.1s\)\. Output: sh:\/\/turn_1\/\S+_1 \(\d+ tokens\)/,
    );
  });

  test("rejecting a proposal runs nothing and creates no channels", async () => {
    r.llm.enqueue(
      { content: `<sh>rm -rf /tmp/nothing</sh>\n<update status="102">x</update>` },
      { content: `<update status="422">declined</update>` },
    );
    const proposed = proposal("declined");
    const done = terminal("declined");
    await start("declined", "act");
    const {
      proposed: [p],
    } = await proposed;
    await client.call("set", {
      run: "declined",
      path: p!.path,
      state: "cancelled",
      body: "no thanks",
    });
    assert.equal((await done).status, 422);
    assert.deepEqual(await client.call("getEntries", { run: "declined", pattern: "sh://*" }), []);
    const [log] = await client.call<any[]>("getEntries", { run: "declined", pattern: p!.path });
    assert.equal(log.status, 403);
  });

  test("stream/aborted keeps what streamed and marks channels 499; stream/cancel notifies the project's clients", async () => {
    r.llm.enqueue({
      content: `<sh>tail -f log.txt</sh>\n<sh>watch date</sh>\n<update status="102">x</update>`,
    });
    r.llm.setHandler(() => ({ content: `<update status="200">done</update>` }));
    const first = proposal("aborts");
    const done = terminal("aborts");
    await start("aborts", "act");
    const {
      proposed: [a],
    } = await first;
    const second = proposal("aborts");
    await client.call("set", { run: "aborts", path: a!.path, state: "resolved" });
    await client.call("stream", { run: "aborts", path: a!.path, channel: 1, chunk: "line 1\n" });
    await client.call("stream/aborted", {
      run: "aborts",
      path: a!.path,
      reason: "user pressed ctrl-c",
      duration: "3s",
    });
    const [ch] = await client.call<any[]>("getEntries", {
      run: "aborts",
      pattern: "sh://*tail*_1",
      withBody: true,
    });
    assert.equal(ch.status, 499);
    assert.equal(ch.body, "line 1\n");
    await assert.rejects(
      client.call("stream", { run: "aborts", path: a!.path, channel: 1, chunk: "late" }),
      /no longer streaming/,
    );

    const {
      proposed: [b],
    } = await second;
    const watcher = await RummyClient.connect(server.url, { token: serverToken(r.core)! });
    await watcher.hello("it", r.root);
    const cancelled = watcher.waitFor<{ run: string; path: string; reason: string }>(
      "stream/cancelled",
    );
    await client.call("set", { run: "aborts", path: b!.path, state: "resolved" });
    await client.call("stream/cancel", { run: "aborts", path: b!.path, reason: "stale cleanup" });
    assert.deepEqual(await cancelled, { run: "aborts", path: b!.path, reason: "stale cleanup" });
    await watcher.close();
    await done;
    r.llm.setHandler(undefined);
    await assert.rejects(
      client.call("stream", { run: "aborts", path: "known://x", channel: 1, chunk: "x" }),
      /must be a command's log entry/,
    );
  });
});

describe("yolo: commands run on the server", () => {
  test("a real command with large output streams in batches, not one write per chunk", async () => {
    r.llm.enqueue(
      { content: `<sh>seq 1 200000</sh>\n<update status="102">counting</update>` },
      { content: `<update status="200">counted</update>` },
    );
    const done = terminal("bigout");
    await start("bigout", "act", { yolo: true });
    assert.equal((await done).status, 200);
    const [out] = await client.call<any[]>("getEntries", {
      run: "bigout",
      pattern: "sh://*_1",
      withBody: true,
    });
    assert.equal(out.state, "resolved");
    const lines = out.body.trimEnd().split("\n");
    assert.equal(lines.length, 200000);
    assert.equal(lines.at(-1), "200000");
    const view = r.core.store.getOne(
      { runId: r.core.runs.byAlias(r.projectId, "bigout")!.id },
      out.path,
    )!;
    assert.ok(view.writeCount! < 200, `batched appends (${view.writeCount} writes for ~1.3 MB)`);
  });

  test("a non-zero exit fails the channels with exit:N; the environment carries no secrets", async () => {
    process.env.RUMMY_TEST_SECRET_TOKEN = "do-not-leak-42";
    try {
      r.llm.enqueue(
        { content: `<env>env; exit 3</env>\n<update status="102">x</update>` },
        { content: `<update status="200">ok</update>` },
      );
      const done = terminal("exits");
      await start("exits", "act", { yolo: true });
      await done;
      const [out] = await client.call<any[]>("getEntries", {
        run: "exits",
        pattern: "env://*_1",
        withBody: true,
      });
      assert.equal(out.state, "failed");
      assert.equal(out.outcome, "exit:3");
      assert.match(out.body, /PATH=/);
      assert.doesNotMatch(out.body, /do-not-leak-42|OPENAI_API_KEY|sk-fake-test-key/);
    } finally {
      delete process.env.RUMMY_TEST_SECRET_TOKEN;
    }
  });

  test("cancelling the run kills the command's whole process group", async () => {
    const marker = `sleep 37.${process.pid}`;
    r.llm.enqueue({
      content: `<sh>${marker} & ${marker}; echo never</sh>\n<update status="102">waiting</update>`,
    });
    const running = client.waitFor<{ run: string }>("run/changed", (p) => p.run === "killme");
    const done = terminal("killme");
    await start("killme", "act", { yolo: true });
    await running;
    for (let i = 0; i < 50 && !execSync("ps -eo args").toString().includes(marker); i++)
      await new Promise((res) => setTimeout(res, 50));
    assert.ok(execSync("ps -eo args").toString().includes(marker), "the command started");
    await client.call("set", { path: "run://killme", state: "cancelled" });
    assert.equal((await done).status, 499);
    for (let i = 0; i < 60 && execSync("ps -eo args").toString().includes(marker); i++)
      await new Promise((res) => setTimeout(res, 50));
    assert.ok(!execSync("ps -eo args").toString().includes(marker), "both sleeps were killed");
    const channels = await client.call<any[]>("getEntries", { run: "killme", pattern: "sh://*" });
    assert.ok(channels.every((c) => c.state === "cancelled"));
  });
});

describe("modes and skills", () => {
  test("ask mode refuses <sh> and allows <env>", async () => {
    r.llm.enqueue(
      { content: `<sh>touch x</sh>\n<update status="102">x</update>` },
      { content: `<env>ls</env>\n<update status="102">listing</update>` },
      { content: `<update status="200">ok</update>` },
    );
    const done = terminal("askshell");
    const envProposal = proposal("askshell");
    await start("askshell", "ask");
    const {
      proposed: [p],
    } = await envProposal;
    assert.equal(p!.action, "env");
    const [refused] = await client.call<any[]>("getEntries", {
      run: "askshell",
      pattern: "log://turn_1/sh/*",
    });
    assert.equal(refused.status, 403);
    await client.call("set", { run: "askshell", path: p!.path, state: "resolved" });
    await client.call("stream/completed", { run: "askshell", path: p!.path });
    assert.equal((await done).status, 200);
  });

  test("skills: list, attach, show in context, detach; names are validated", async () => {
    mkdirSync(join(r.home, "skills"), { recursive: true });
    writeFileSync(join(r.home, "skills", "testing.md"), "# Testing\nAlways run the tests.");
    r.llm.enqueue({ content: `<update status="200">ready</update>` });
    const done = terminal("skills");
    await start("skills", "ask");
    await done;
    assert.deepEqual(
      (await client.call<any[]>("listSkills")).map((s) => s.name),
      ["testing"],
    );
    await client.call("skill/add", { run: "skills", name: "testing" });
    assert.deepEqual(await client.call("getSkills", { run: "skills" }), [
      { name: "testing", status: 200, path: "skill://testing" },
    ]);
    r.llm.enqueue({ content: `<update status="200">seen</update>` });
    const again = client.waitFor<State>(
      "run/state",
      (p) => p.run === "skills" && p.reason === "seen",
      20_000,
    );
    await client.call("set", { path: "run://skills", body: "again", attributes: { mode: "ask" } });
    await again;
    assert.match(
      r.llm.chatRequests().at(-1)!.body.messages[1].content,
      /path="skill:\/\/testing"[\s\S]*Always run the tests\./,
    );
    await client.call("skill/remove", { run: "skills", name: "testing" });
    assert.deepEqual(await client.call("getSkills", { run: "skills" }), []);
    await assert.rejects(
      client.call("skill/add", { run: "skills", name: "../etc/passwd" }),
      /invalid skill name/,
    );
    await assert.rejects(
      client.call("skill/add", { run: "skills", name: "missing" }),
      /no skill 'missing'/,
    );
  });
});
