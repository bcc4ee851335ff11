import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { rummy, tempHome } from "./helpers.js";

let home: string;
let cleanup: () => void;
before(() => ({ home, cleanup } = tempHome()));
after(() => cleanup());

test("first run creates the home with a commented .env.example", async () => {
  const res = await rummy(["models", "list"], { home: join(home, "fresh") });
  assert.equal(res.code, 0, res.stderr);
  const example = readFileSync(join(home, "fresh", ".env.example"), "utf8");
  assert.match(example, /^# rummy configuration/);
  assert.match(example, /RUMMY_MODEL_/);
  for (const dir of ["plugins", "skills", "personas"])
    assert.ok(existsSync(join(home, "fresh", dir)));
  // The home holds the token and the database: only its owner may enter it.
  assert.equal(statSync(join(home, "fresh")).mode & 0o777, 0o700);
  assert.equal(statSync(join(home, "fresh", "rummy.db")).mode & 0o777, 0o600);
});

test("models add, list (with env models) and remove", async () => {
  assert.equal(
    (await rummy(["models", "add", "fast", "openai/gpt-4o-mini", "--context", "128000"], { home }))
      .code,
    0,
  );
  const listed = await rummy(["models", "list"], {
    home,
    env: { RUMMY_MODEL_local: "ollama/qwen2.5" },
  });
  assert.match(listed.stdout, /fast\s+openai\/gpt-4o-mini\s+128000\s+client/);
  assert.match(listed.stdout, /local\s+ollama\/qwen2.5\s+env/);
  const bad = await rummy(["models", "add", "x", "no-provider"], { home });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /provider\/model/);
  assert.equal((await rummy(["models", "remove", "fast"], { home })).code, 0);
  const gone = await rummy(["models", "remove", "fast"], { home });
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no model 'fast'/);
});

test("a bad config value in .env is an error naming the variable", async () => {
  const { writeFileSync } = await import("node:fs");
  const h = join(home, "badconfig");
  await rummy(["models", "list"], { home: h });
  writeFileSync(join(h, ".env"), "RUMMY_TOKEN_DIVISOR=zero\n");
  const res = await rummy(["models", "list"], { home: h });
  assert.equal(res.code, 1);
  assert.match(res.stderr, /RUMMY_TOKEN_DIVISOR="zero": expected a number/);
  writeFileSync(join(h, ".env"), "this is not a setting\n");
  const broken = await rummy(["models", "list"], { home: h });
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /\.env:1: expected KEY=value/);
});

test("unknown commands and flags are usage errors", async () => {
  const res = await rummy(["frobnicate"], { home });
  assert.equal(res.code, 2);
  assert.match(res.stderr, /unknown command 'frobnicate'/);
  const flag = await rummy(["models", "list", "--nope"], { home });
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--nope/);
});

test("runs list on an empty home, and show of a missing run", async () => {
  assert.match((await rummy(["runs", "list"], { home })).stdout, /no runs yet/);
  const missing = await rummy(["runs", "show", "nope"], { home });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no run 'nope'/);
});

test("plugins add installs a local package, enables it, and it loads on the next start", async () => {
  const fixture = join(import.meta.dirname, "fixtures", "rummy-plugin-hello");
  const added = await rummy(["plugins", "add", fixture], { home, timeoutMs: 120_000 });
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /added rummy-plugin-hello \(plugin hello 0\.3\.0\)/);
  assert.match(
    readFileSync(join(home, ".env"), "utf8"),
    /^RUMMY_PLUGIN_HELLO=rummy-plugin-hello$/m,
  );
  const listed = await rummy(["plugins", "list"], { home });
  assert.match(listed.stdout, /hello\s+0\.3\.0\s+npm rummy-plugin-hello\s+loaded/);
  const removed = await rummy(["plugins", "remove", "rummy-plugin-hello"], { home });
  assert.equal(removed.code, 0, removed.stderr);
  assert.doesNotMatch(readFileSync(join(home, ".env"), "utf8"), /RUMMY_PLUGIN_HELLO/);
});

test("doctor checks home, config, database, plugins and each model's provider", async () => {
  const { startFakeLlm } = await import("@rummy/testing");
  const llm = await startFakeLlm();
  try {
    const healthy = await rummy(["doctor"], {
      home,
      env: {
        OPENAI_BASE_URL: llm.url,
        OPENAI_API_KEY: "sk-x",
        RUMMY_MODEL_fake: "openai/fake-model",
      },
    });
    assert.equal(healthy.code, 0, healthy.stdout);
    assert.match(healthy.stdout, /ok {4}database: .*integrity ok/);
    assert.match(
      healthy.stdout,
      /ok {4}model fake: openai\/fake-model reachable, context 32768 tokens/,
    );
    const broken = await rummy(["doctor"], {
      home,
      env: { OPENAI_BASE_URL: "http://127.0.0.1:9/v1", RUMMY_MODEL_fake: "openai/fake-model" },
    });
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /FAIL {2}model fake: cannot reach the provider/);
  } finally {
    await llm.close();
  }
});

test("a bad HTTP provider setting is refused at boot, before any plugin loads", async () => {
  const res = await rummy(["models", "list"], {
    home: join(home, "badprovider"),
    env: { RUMMY_FETCH_TIMEOUT: "soon", RUMMY_RETRY_ATTEMPTS: "0" },
  });
  assert.equal(res.code, 1, res.stdout);
  assert.match(res.stderr, /rummy: invalid configuration:/);
  assert.match(res.stderr, /RUMMY_FETCH_TIMEOUT="soon": expected a whole number/);
  assert.match(res.stderr, /RUMMY_RETRY_ATTEMPTS=0: must be between 1 and 20/);
  assert.doesNotMatch(res.stderr, /failed to load/, "refused by the boot check, not a plugin");
});

test("the transport's settings are checked up front, and by doctor, as serve reads them", async () => {
  const h = join(home, "badtransport");
  const timeout = { RUMMY_RPC_TIMEOUT: "abc" };
  const served = await rummy(["serve", "--port", "0"], { home: h, env: timeout });
  assert.equal(served.code, 1, served.stdout);
  assert.match(served.stderr, /RUMMY_RPC_TIMEOUT="abc": expected a whole number/);
  // doctor refuses it the same way, rather than reporting "all settings parse".
  const doctor = await rummy(["doctor"], { home: h, env: timeout });
  assert.equal(doctor.code, 1, doctor.stdout);
  assert.match(doctor.stderr, /RUMMY_RPC_TIMEOUT="abc": expected a whole number/);
  assert.doesNotMatch(doctor.stdout, /all settings parse/);
  // Any command, not only serve: PORT is what serve listens on when RUMMY_PORT is unset.
  const runs = await rummy(["runs"], { home: h, env: { PORT: "abc" } });
  assert.equal(runs.code, 1, runs.stdout);
  assert.match(runs.stderr, /PORT="abc": expected a whole number/);
  const origins = await rummy(["runs"], { home: h, env: { RUMMY_ALLOWED_ORIGINS: "example" } });
  assert.equal(origins.code, 1, origins.stdout);
  assert.match(origins.stderr, /RUMMY_ALLOWED_ORIGINS: "example" is not an origin/);
  const healthy = await rummy(["doctor"], { home: h, env: { PORT: "8080" } });
  assert.match(healthy.stdout, /ok {4}config: all settings parse/);
});

test("each command's --help gives its own usage, with every flag the README's table gives it", async () => {
  const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
  const rows = readme.split("\n").filter((line) => /^\| `rummy/.test(line));
  assert.ok(rows.length >= 10, "the README's command table");
  for (const row of rows) {
    const names = [...row.matchAll(/`rummy (\w+)/g)].map((m) => m[1]!);
    const flags = new Set([...row.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));
    for (const name of names.length ? names : ["serve"]) {
      const help = await rummy([name, "--help"], { home });
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, new RegExp(`^usage: rummy (\\[)?${name}`), name);
      for (const flag of flags)
        assert.match(help.stdout, new RegExp(`${flag}\\b`), `rummy ${name} --help lists ${flag}`);
    }
  }
  const same = await rummy(["help", "runs"], { home });
  assert.equal(same.stdout, (await rummy(["runs", "--help"], { home })).stdout);
  const all = await rummy(["--help"], { home });
  assert.match(all.stdout, /^rummy — an LLM agent service/);
  assert.match(all.stdout, /rummy <command> --help/);
  const unknown = await rummy(["help", "frobnicate"], { home });
  assert.equal(unknown.code, 2);
});
