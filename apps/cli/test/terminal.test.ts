import assert from "node:assert/strict";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { HAS_SCRIPT, rummy, rummyPty, startServe, tempHome } from "./helpers.js";

// The terminal client as a person meets it, in a pseudo-terminal: colour, Ctrl-C, waiting commands.
let home: string;
let cleanup: () => void;
let llm: FakeLlm;
let env: Record<string, string>;
let project: string;

before(async () => {
  ({ home, cleanup } = tempHome());
  llm = await startFakeLlm();
  project = realpathSync(mkdtempSync(join(tmpdir(), "rummy-tty-project-")));
  writeFileSync(
    join(project, "package.json"),
    '{"name":"tiny","scripts":{"test":"echo TESTS OK"}}\n',
  );
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
  rmSync(project, { recursive: true, force: true });
});

/** An SGR (colour) escape; cursor control for the spinner is not colour. */
const ESC = /\x1b\[[0-9;]*m/;
const status = async (alias: string) =>
  JSON.parse((await rummy(["runs", "show", alias, "--json"], { home })).stdout);

describe("in a terminal", {
  skip: HAS_SCRIPT ? false : "util-linux `script` is not installed",
}, () => {
  test("colour on a TTY, none with NO_COLOR; prose streamed, actions as lines, the answer once", async () => {
    const reply = `Let me look.\n<get path="package.json"/>\n<think>the script is trivial</think>\n<update status="200">It prints TESTS OK.</update>`;
    llm.enqueue({ content: reply }, { content: reply });
    const coloured = rummyPty(["ask", "what does npm test print?"], { home, env, cwd: project });
    assert.equal(await coloured.exit, 0, coloured.output());
    assert.match(coloured.output(), ESC, "ANSI colour on a terminal");
    const plain = rummyPty(["ask", "what does npm test print?"], {
      home,
      env: { ...env, NO_COLOR: "1" },
      cwd: project,
    });
    assert.equal(await plain.exit, 0, plain.output());
    const shown = plain.output();
    assert.doesNotMatch(shown, ESC, "NO_COLOR: no colour codes");
    assert.match(shown, /Let me look\.\r?\n→ read package\.json\r?\n/);
    assert.doesNotMatch(shown, /<get|<think|<update|trivial/, "no raw XML; thinking hidden");
    assert.equal(shown.match(/It prints TESTS OK\./g)?.length, 1, "the answer once");
    assert.match(shown, /\[run run_\d+: status 200/);
  });

  test("a retry after a rate limit shows a spinner line, then the run goes on", async () => {
    llm.enqueue(
      { fail: "rate_limit", retryAfterSeconds: 1 },
      { content: `<update status="200">after the wait</update>` },
    );
    const run = rummyPty(["ask", "q"], {
      home,
      env: { ...env, RUMMY_RETRY_ATTEMPTS: "2", NO_COLOR: "1" },
      cwd: project,
    });
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] retrying the model after a provider error…/);
    assert.match(run.output(), /after the wait/);
  });

  test("--show-thinking shows the model's thinking, dimmed", async () => {
    llm.enqueue({
      content: `<think>the script is trivial</think>\n<update status="200">TESTS OK.</update>`,
    });
    const run = rummyPty(["ask", "--show-thinking", "what?"], { home, env, cwd: project });
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /\x1b\[2mthinking: the script is trivial/);
  });

  test("an accepted command that sleeps then prints: the model's next turn sees its output", async () => {
    llm.enqueue({
      content: `<sh>sleep 1; npm test --silent</sh>\n<update status="102">running the tests</update>`,
    });
    llm.setHandler((req) => {
      const user = req.body.messages[1].content as string;
      return {
        content: `<update status="200">${/TESTS OK/.test(user) ? "the tests pass" : "I saw no output"}</update>`,
      };
    });
    const run = rummyPty(["act", "--run", "tests", "run the tests"], {
      home,
      env: { ...env, NO_COLOR: "1" },
      cwd: project,
    });
    await run.waitFor(/allow\? \[y\]es/);
    run.write("y\r");
    assert.equal(await run.exit, 0, run.output());
    llm.setHandler(undefined);
    const shown = run.output();
    assert.match(shown, /\$ sleep 1; npm test --silent/);
    assert.match(
      shown,
      / {2}│ TESTS OK\r?\n {2}└ exit 0/,
      "output in its own block under the command",
    );
    assert.match(shown, /the tests pass/);
  });

  test("Ctrl-C cancels the run (499, proposal withdrawn) and says how to continue; --continue picks it up", async () => {
    llm.enqueue({ content: `<sh>rm -rf dist</sh>\n<update status="102">cleaning</update>` });
    const run = rummyPty(["act", "--run", "interrupted", "clean"], {
      home,
      env: { ...env, NO_COLOR: "1" },
      cwd: project,
    });
    await run.waitFor(/allow\? \[y\]es/);
    run.write("\x03");
    assert.equal(await run.exit, 130, run.output());
    assert.match(run.output(), /cancelled; continue with: rummy act --run interrupted "…"/);
    const shown = await status("interrupted");
    assert.equal(shown.run.status, 499);
    const log = shown.entries.find((e: { path: string }) => e.path.startsWith("log://turn_1/sh/"));
    assert.notEqual(log.state, "proposed", "the pending proposal was withdrawn");

    llm.enqueue({ content: `<update status="200">picked up where we left off</update>` });
    const resumed = await rummy(["ask", "--continue", "go on"], { home, env, cwd: project });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /\[run interrupted: status 200/);
  });

  test("Ctrl-C while the model is thinking cancels the provider call", async () => {
    llm.enqueue({ fail: "hang" });
    const before = llm.chatRequests().length;
    const run = rummyPty(["ask", "--run", "thinking", "q"], {
      home,
      env: { ...env, NO_COLOR: "1" },
      cwd: project,
    });
    const deadline = Date.now() + 30_000;
    while (llm.chatRequests().length === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    run.write("\x03");
    assert.equal(await run.exit, 130, run.output());
    assert.match(run.output(), /cancelled; continue with: rummy ask --run thinking "…"/);
    assert.equal((await status("thinking")).run.status, 499);
  });

  test("a second Ctrl-C exits at once, even when the server does not answer", async () => {
    const server = await startServe(home, ["--port", "0"], env);
    try {
      llm.enqueue({ fail: "hang" });
      const before = llm.chatRequests().length;
      const run = rummyPty(["ask", "--connect", server.url, "--run", "stuck", "q"], {
        home,
        env,
        cwd: project,
      });
      const deadline = Date.now() + 30_000;
      while (llm.chatRequests().length === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      process.kill(server.pid, "SIGSTOP"); // the cancel request will hang
      try {
        run.write("\x03");
        await run.waitFor(/cancelling…/);
        run.write("\x03");
        assert.equal(await run.exit, 130, run.output());
      } finally {
        process.kill(server.pid, "SIGCONT");
      }
    } finally {
      await server.stop();
    }
  });
});
