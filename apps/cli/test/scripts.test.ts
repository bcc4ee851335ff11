import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, test } from "node:test";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { BIN, cleanEnv, rummy, tempHome } from "./helpers.js";

// rummy as scripts and a new user's shell meet it: config checked at boot, --json, pipes, typos.
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

test("bad configuration is refused by every command, one line per bad key naming key, value and form", async () => {
  const bad = {
    ...env,
    RUMMY_MODEL_x: "gpt4",
    RUMMY_PORT: "abc",
    RUMMY_LOG_LEVEL: "loud",
    RUMMY_MAX_TURNS: "many",
  };
  for (const args of [
    ["serve"],
    ["ask", "hello"],
    ["runs", "list"],
    ["models", "list"],
    ["plugins", "list"],
    ["doctor"],
  ]) {
    const res = await rummy(args, { home, env: bad, timeoutMs: 30_000 });
    assert.equal(res.code, 1, `${args.join(" ")}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, /RUMMY_MODEL_x="gpt4": expected provider\/model/, args.join(" "));
    assert.match(res.stderr, /RUMMY_PORT="abc": expected a whole number/, args.join(" "));
    assert.match(res.stderr, /RUMMY_LOG_LEVEL="loud": expected one of debug, info, warn, error/);
    // The engine's limits are checked at boot too, though the engine is a plugin.
    assert.match(res.stderr, /RUMMY_MAX_TURNS="many": expected a whole number/, args.join(" "));
    assert.doesNotMatch(
      res.stderr,
      /Method not found|at .*\.ts:\d+/,
      "no obscure failure, no stack",
    );
    assert.equal(res.stderr.match(/RUMMY_PORT/g)?.length, 1, "one message per key");
  }
});

test("a plugin that fails to load stops serve (exit 1) unless --allow-broken-plugins", async () => {
  const h = tempHome();
  try {
    mkdirSync(join(h.home, "plugins"), { recursive: true });
    writeFileSync(
      join(h.home, "plugins", "broken.mjs"),
      `export default { name: "broken", setup() { throw new Error("cannot find my config"); } };\n`,
    );
    const refused = await rummy(["serve", "--port", "0"], { home: h.home, env, timeoutMs: 30_000 });
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /plugin broken failed to load: .*cannot find my config/);
    assert.match(refused.stderr, /--allow-broken-plugins/);
    const asked = await rummy(["ask", "q"], { home: h.home, env, timeoutMs: 30_000 });
    assert.equal(asked.code, 1);
    assert.match(asked.stderr, /plugin broken failed to load/);

    const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--allow-broken-plugins"], {
      env: { ...cleanEnv(), ...env, RUMMY_HOME: h.home, RUMMY_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 30_000);
      child.stdout.on("data", () => {
        if (/\nmodels: /.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("close", () => reject(new Error(`serve exited: ${out}`)));
    });
    assert.match(out, /rummy listening on ws:\/\//);
    assert.match(out, /plugin FAILED: broken/);
    const closed = new Promise((r) => child.once("close", r));
    child.kill("SIGTERM");
    await closed;
  } finally {
    h.cleanup();
  }
});

test("every listing honours --json", async () => {
  llm.enqueue({ content: `<update status="200">hi</update>` });
  assert.equal((await rummy(["ask", "--run", "listed", "hi"], { home, env })).code, 0);
  const runs = await rummy(["runs", "list", "--json"], { home, env });
  assert.equal(runs.code, 0, runs.stderr);
  const list = JSON.parse(runs.stdout);
  assert.ok(
    list.some((r: { run: string; status: number }) => r.run === "listed" && r.status === 200),
  );
  const models = JSON.parse((await rummy(["models", "list", "--json"], { home, env })).stdout);
  assert.deepEqual(
    models.find((m: { alias: string }) => m.alias === "fake"),
    {
      alias: "fake",
      target: "openai/fake-model",
      context_length: null,
      source: "env",
      default: true,
    },
  );
  const plugins = JSON.parse((await rummy(["plugins", "list", "--json"], { home, env })).stdout);
  assert.ok(
    plugins.some(
      (p: { name: string; status: string }) => p.name === "rpc" && p.status === "loaded",
    ),
  );
});

test("a closed stdout ends the process quietly with 0 (`runs show --json | head`)", async () => {
  // Far more than a pipe holds (64 KiB), so writes go on after the reader is gone.
  const project = realpathSync(mkdtempSync(join(tmpdir(), "rummy-big-")));
  for (let i = 0; i < 200; i++) writeFileSync(join(project, `f${i}.txt`), `${"x".repeat(2000)}\n`);
  llm.enqueue({ content: `<update status="200">listed</update>` });
  const asked = await rummy(["ask", "--run", "big", "talk"], { home, env, cwd: project });
  rmSync(project, { recursive: true, force: true });
  assert.equal(asked.code, 0, asked.stderr);
  const result = await new Promise<{ code: number | null; stderr: string; stdout: string }>(
    (resolve) => {
      const child = spawn(process.execPath, [BIN, "runs", "show", "big", "--json", "--entries"], {
        env: { ...cleanEnv(), RUMMY_HOME: home, RUMMY_LOG_LEVEL: "warn" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      // Read one chunk, then close the pipe like `head` does.
      child.stdout.once("data", (d: Buffer) => {
        stdout = d.toString();
        child.stdout.destroy();
      });
      child.on("close", (code) => resolve({ code, stderr, stdout }));
    },
  );
  assert.ok(result.stdout.length > 0);
  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /EPIPE|Error/);
});

test("unknown flags get our message and --help; a mistyped command a 'did you mean'", async () => {
  const typo = await rummy(["runz", "list"], { home });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown command 'runz' — did you mean 'runs'\?/);
  const flag = await rummy(["ask", "--modle", "fake", "q"], { home });
  assert.equal(flag.code, 2);
  assert.match(
    flag.stderr,
    /^rummy: unknown option '--modle' — did you mean '--model'\?\n {2}run `rummy --help`/,
  );
  assert.doesNotMatch(flag.stderr, /positional argument/, "not node's parser wording");
  const value = await rummy(["ask", "--model"], { home });
  assert.equal(value.code, 2);
  assert.match(value.stderr, /option '--model' needs a value/);
});

test("runs show lists the run's own activity and a count of files; --entries shows them all", async () => {
  const project = realpathSync(mkdtempSync(join(tmpdir(), "rummy-noise-")));
  try {
    for (let i = 0; i < 30; i++) writeFileSync(join(project, `file${i}.txt`), `content ${i}\n`);
    llm.enqueue({
      content: `<known path="known://files">thirty</known>\n<update status="200">thirty files</update>`,
    });
    assert.equal(
      (await rummy(["ask", "--run", "noisy", "count"], { home, env, cwd: project })).code,
      0,
    );
    const shown = await rummy(["runs", "show", "noisy"], { home, cwd: project });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /activity:\n {2}turn 1 {2}known/);
    assert.match(shown.stdout, /known:\/\/files/);
    assert.match(shown.stdout, /files: 30 project files \(--entries lists them\)/);
    assert.doesNotMatch(shown.stdout, /file12\.txt/);
    assert.ok(shown.stdout.split("\n").length < 40, shown.stdout);
    const all = await rummy(["runs", "show", "noisy", "--entries"], { home, cwd: project });
    assert.match(all.stdout, /file12\.txt/);
    // The project is the folder; --project takes the folder too.
    const byDir = await rummy(["runs", "show", "noisy", "--project", project], { home });
    assert.equal(byDir.code, 0, byDir.stderr);
    assert.equal(basename(project).length > 0, true);
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});
