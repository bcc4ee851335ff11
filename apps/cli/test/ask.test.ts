import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { rummy, startServe, tempHome } from "./helpers.js";

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
    RUMMY_MODEL: "fake",
    RUMMY_RETRY_ATTEMPTS: "1",
  };
});
after(async () => {
  await llm.close();
  cleanup();
});

test("ask runs end to end against the provider, streams progress, prints the answer and figures", async () => {
  llm.enqueue(
    {
      content: `<known path="known://lang">TypeScript</known>\n<update status="102">noted</update>`,
      completionTokens: 12,
    },
    {
      content: `<update status="200">It is written in TypeScript.</update>`,
      completionTokens: 8,
      cost: 0.0021,
    },
  );
  const res = await rummy(["ask", "What", "language?"], { home, env });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /It is written in TypeScript\./);
  assert.match(
    res.stdout,
    /\[run run_\d+: status 200, 2 turn\(s\), \d+ tokens in, 20 out, \$0\.0021\]/,
  );
  assert.match(res.stderr, /✎ known:\/\/lang\n· noted\n/, "one line per action, not raw XML");
  assert.doesNotMatch(
    res.stderr,
    /<known|<update|It is written/,
    "no raw tags; the answer only once",
  );
  assert.equal(res.stdout.match(/It is written in TypeScript\./g)?.length, 1);
  assert.doesNotMatch(res.stderr + res.stdout, /\x1b\[/, "no escape codes when not on a terminal");
  assert.equal(llm.chatRequests().at(-1)!.body.model, "fake-model");
});

test("--json prints one machine-readable result; 422 exits 3", async () => {
  llm.enqueue({ content: `<update status="422">I cannot know that.</update>` });
  const res = await rummy(["ask", "--json", "--run", "unknowable", "What will I dream?"], {
    home,
    env,
  });
  assert.equal(res.code, 3);
  const result = JSON.parse(res.stdout);
  assert.equal(result.run, "unknowable");
  assert.equal(result.status, 422);
  assert.equal(result.answer, "I cannot know that.");
});

test("demo completes with no API key, against the labelled scripted model", async () => {
  const res = await rummy(["demo"], { home });
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /scripted model \(not an LLM\)/);
  assert.match(res.stderr, /\$ ls -1 \| head -5\n[\s\S]*accepted\n/);
  assert.match(res.stdout, /Demo complete/);
  // The closing hint works as printed.
  assert.match(res.stdout, /Try the `rummy runs show` printed below next/);
  const printed = /^ {2}rummy (runs show --project \S+)$/m.exec(res.stdout);
  assert.ok(printed, res.stdout);
  // From the folder it ran in, which holds other runs (this file's ask tests): the demo's run, not theirs.
  const hinted = await rummy(printed[1]!.split(" "), { home });
  assert.equal(hinted.code, 0, hinted.stderr);
  assert.match(hinted.stdout, /^run run_1 /);
  const shown = await rummy(["runs", "show", "run_1", "--project", "rummy-demo"], { home });
  assert.match(shown.stdout, /known:\/\/demo\/rummy/);
  assert.match(shown.stdout, /unknown:\/\/demo\/files/);
  assert.match(shown.stdout, /env:\/\/turn_1\/ls_1_head_5_1 +resolved/);
});

test("the demo runs in a folder of its own, and says how to find its runs", async () => {
  const { mkdtempSync, realpathSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { home: own, cleanup: done } = tempHome();
  const folder = realpathSync(mkdtempSync(join(tmpdir(), "rummy-demo-here-")));
  try {
    const res = await rummy(["demo"], { home: own, cwd: folder });
    assert.equal(res.code, 0, res.stderr);
    const printed = /^ {2}rummy (runs list --project (\S+))$/m.exec(res.stdout);
    assert.ok(printed, res.stdout);
    assert.equal(printed[2], join(own, "demo"));
    // The printed command works as printed, from the folder the demo was started in.
    const listed = await rummy(printed[1]!.split(" "), { home: own, cwd: folder });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /rummy-demo\s+run_1\s+200/);
    // That folder's project is not the demo's: nothing ran there.
    const here = await rummy(["runs", "list", "--project", "."], { home: own, cwd: folder });
    assert.match(here.stdout, /no runs in project '\.'/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
    done();
  }
});

test("a proposal accepted at the prompt runs here and streams back; one rejected ends as refused", async () => {
  llm.enqueue(
    { content: `<sh>echo from-the-client</sh>\n<update status="102">running</update>` },
    { content: `<update status="200">ran it</update>` },
  );
  const yes = await rummy(["act", "--run", "accepting", "say hello"], { home, env, input: "y\n" });
  assert.equal(yes.code, 0, yes.stderr);
  assert.match(
    yes.stderr,
    /\$ echo from-the-client\n· running\n\$ echo from-the-client\n {2}allow\? \[y\]es[^\n]*\n {2}│ from-the-client\n {2}└ exit 0/,
  );
  assert.doesNotMatch(yes.stdout, /from-the-client/, "command output is activity, not the answer");
  const shown = await rummy(["runs", "show", "accepting", "--json"], { home });
  const channel = JSON.parse(shown.stdout).entries.find(
    (e: { path: string }) => e.path.startsWith("sh://") && e.path.endsWith("_1"),
  );
  assert.equal(channel.body, "from-the-client\n");
  assert.equal(channel.state, "resolved");
});

test("rejecting: 'n' stops the run (499, exit 3); 'r <why>' tells the model, and the run goes on", async () => {
  llm.enqueue({ content: `<sh>rm -rf build</sh>\n<update status="102">cleaning</update>` });
  const before = llm.chatRequests().length;
  const no = await rummy(["act", "--run", "refusing", "clean up"], { home, env, input: "n\n" });
  assert.equal(no.code, 3, no.stderr);
  assert.match(
    no.stderr,
    /stopped: you rejected <sh>; continue with: rummy act --run refusing "…"/,
  );
  assert.match(no.stdout, /status 499/);
  assert.equal(llm.chatRequests().length, before + 1, "no turn after the rejection");

  llm.enqueue(
    { content: `<sh>rm -rf build</sh>\n<update status="102">cleaning</update>` },
    { content: `<update status="200">left build alone</update>` },
  );
  const why = await rummy(["act", "--run", "explained", "clean up"], {
    home,
    env,
    input: "r the build is needed for the release\n",
  });
  assert.equal(why.code, 0, why.stderr);
  assert.match(why.stdout, /left build alone/);
  const fedBack = llm.chatRequests().at(-1)!.body.messages[1].content as string;
  assert.match(fedBack, /status="403"[\s\S]*the build is needed for the release/);
});

test("a file edit is shown as a diff at the prompt and written when accepted", async () => {
  const { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } = await import(
    "node:fs"
  );
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const project = realpathSync(mkdtempSync(join(tmpdir(), "rummy-cli-project-")));
  try {
    writeFileSync(join(project, "greeting.txt"), "hello\n");
    llm.enqueue(
      {
        content: `<set path="greeting.txt">\n<<<<<<< SEARCH\nhello\n=======\nhello, world\n>>>>>>> REPLACE\n</set>\n<update status="102">editing</update>`,
      },
      { content: `<update status="200">greeted</update>` },
    );
    const res = await rummy(["act", "--run", "edit", "greet the world"], {
      home,
      env,
      input: "y\n",
      cwd: project,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /✎ edit greeting\.txt\n[\s\S]*-hello\n\+hello, world/);
    assert.equal(readFileSync(join(project, "greeting.txt"), "utf8"), "hello, world\n");
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});

test("--yes accepts everything and the server runs the command (yolo)", async () => {
  llm.enqueue(
    { content: `<sh>echo on-the-server</sh>\n<update status="102">x</update>` },
    { content: `<update status="200">done</update>` },
  );
  const res = await rummy(["act", "--yes", "--run", "yolo", "go"], { home, env });
  assert.equal(res.code, 0, res.stderr);
  assert.doesNotMatch(res.stdout, /accept\?/, "nothing is asked");
  const shown = JSON.parse((await rummy(["runs", "show", "yolo", "--json"], { home })).stdout);
  assert.equal(
    shown.entries.find((e: { path: string }) => e.path.startsWith("sh://") && e.path.endsWith("_1"))
      .body,
    "on-the-server\n",
  );
});

test("--connect drives a running server", async () => {
  const server = await startServe(home, ["--port", "0"], env);
  try {
    llm.enqueue({ content: `<update status="200">remote answer</update>` });
    const res = await rummy(["ask", "--connect", server.url, "hello?"], { home, env });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /remote answer/);
  } finally {
    await server.stop();
  }
});

test("errors a person can act on: no model, unknown model, unreachable provider, missing key, no server", async () => {
  const noModel = await rummy(["ask", "q"], { home });
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /no model to use[\s\S]*RUMMY_MODEL/);
  const unknown = await rummy(["ask", "--model", "nope", "q"], { home, env });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown model 'nope'[\s\S]*configured: fake/);
  const dead = await rummy(["ask", "q"], {
    home,
    env: { ...env, OPENAI_BASE_URL: "http://127.0.0.1:9/v1" },
  });
  assert.equal(dead.code, 1);
  assert.match(
    dead.stderr,
    /^error: .*cannot reach the provider/m,
    "provider errors on stderr, labelled",
  );
  assert.doesNotMatch(dead.stdout, /cannot reach/);
  // The official endpoint without a key: the run fails at once, naming the variable to set.
  const noKey = await rummy(["ask", "--model", "gpt", "q"], {
    home,
    env: { RUMMY_MODEL_gpt: "openai/gpt-4o-mini", RUMMY_RETRY_ATTEMPTS: "1" },
  });
  assert.equal(noKey.code, 1);
  assert.match(noKey.stdout + noKey.stderr, /no API key; set OPENAI_API_KEY/);
  const noServer = await rummy(["ask", "--connect", "ws://127.0.0.1:9", "q"], { home, env });
  assert.equal(noServer.code, 1);
  assert.match(noServer.stderr, /cannot connect[\s\S]*rummy serve/);
});

test("an <ask_user> question is answered at the prompt and the answer reaches the model", async () => {
  llm.enqueue({
    content: `<ask_user>Which port should it use?</ask_user>\n<update status="102">asking</update>`,
  });
  let seen = "";
  llm.setHandler((req) => {
    seen = req.body.messages[1].content as string;
    return { content: `<update status="200">using the port you chose</update>` };
  });
  const res = await rummy(["act", "--run", "question", "set the port"], {
    home,
    env,
    input: "8080\n",
  });
  llm.setHandler(undefined);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stderr, /\? Which port should it use\?\n[\s\S]*your answer/);
  assert.match(seen, /8080/);
});
