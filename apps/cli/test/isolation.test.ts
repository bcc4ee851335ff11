import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RummyClient } from "@rummy/client";
import { findBwrap } from "@rummy/plugin-yolo";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { startServe, tempHome } from "./helpers.js";

/**
 * Issue 19, points 2–4, tried as an attacker would: the real `rummy serve`,
 * a scripted model, real files, real sandboxed processes. The provider key
 * lives in RUMMY_HOME/.env; a second key is in the server's own process
 * environment. Neither may reach a command, an entry, the database or a log.
 */

const FILE_KEY = `sk-file-${randomBytes(12).toString("hex")}`;
const SHELL_KEY = `sk-shell-${randomBytes(12).toString("hex")}`;
// CI installs bubblewrap (.ci/run); only a machine without it skips, and says so.
const skip = findBwrap() ? false : "bwrap is not installed (apt-get install bubblewrap)";

let home: string;
let cleanup: () => void;
let llm: FakeLlm;
let base: string;
let project: string;
let outside: string;
let server: Awaited<ReturnType<typeof startServe>>;
let client: RummyClient;

type State = { run: string; status: number };
const TERMINAL = [200, 204, 413, 422, 499, 500];

function terminal(alias: string) {
  return client.waitFor<State>(
    "run/state",
    (p) => p.run === alias && TERMINAL.includes(p.status),
    60_000,
  );
}

/** Starts a run whose model says `script` and then finishes; resolves with its terminal state. */
async function scripted(
  alias: string,
  mode: "ask" | "act",
  script: string,
  attributes: Record<string, unknown> = { yolo: true },
): Promise<State> {
  llm.enqueue(
    { content: `${script}\n<update status="102">working</update>` },
    { content: `<update status="200">done</update>` },
  );
  const done = terminal(alias);
  await client.call("set", {
    path: `run://${alias}`,
    body: "go",
    attributes: { model: "fake", mode, ...attributes },
  });
  return done;
}

const entries = (run: string, pattern: string) =>
  client.call<{ path: string; body: string; state: string; status: number; outcome: string }[]>(
    "getEntries",
    { run, pattern, withBody: true },
  );

/** Every file below `dir` with its content (links as their target). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const full = join(dir, name);
    try {
      out[name] = readFileSync(full, "utf8");
    } catch {
      out[name] = "(not a file)";
    }
  }
  return out;
}

describe("isolation through the real binary (issue 19)", { skip }, () => {
  before(async () => {
    ({ home, cleanup } = tempHome());
    base = realpathSync(mkdtempSync(join(tmpdir(), "rummy-iso-")));
    project = join(base, "project");
    outside = join(base, "outside");
    mkdirSync(project);
    mkdirSync(outside);
    llm = await startFakeLlm();
    writeFileSync(
      join(home, ".env"),
      [
        `OPENAI_BASE_URL=${llm.url}`,
        `OPENAI_API_KEY=${FILE_KEY}`,
        "RUMMY_MODEL_fake=openai/fake-model",
        "RUMMY_RETRY_ATTEMPTS=1",
        "RUMMY_SHELL_TIMEOUT=30000",
      ].join("\n"),
    );
    server = await startServe(home, ["--port", "0"], {
      XAI_API_KEY: SHELL_KEY,
      RUMMY_LOG_LEVEL: "debug",
      RUMMY_ALLOW_YOLO: "1",
    });
    client = await RummyClient.connect(server.url, { token: server.token });
    await client.hello("iso", project);
  });
  after(async () => {
    await client?.close();
    await server?.stop();
    await llm?.close();
    rmSync(base, { recursive: true, force: true });
    cleanup();
  });

  test("the key from RUMMY_HOME/.env is used, yet is not in the server's process environment", async () => {
    assert.equal((await scripted("warmup", "ask", "", {})).status, 200);
    assert.equal(llm.chatRequests().at(-1)!.headers.authorization, `Bearer ${FILE_KEY}`);
    const environ = readFileSync(`/proc/${server.pid}/environ`, "utf8");
    assert.ok(!environ.includes(FILE_KEY), "the .env key stays out of process.env");
    assert.ok(environ.includes(SHELL_KEY), "(the shell's key is there: the sandbox must hide it)");
  });

  test("<cp>/<set>/<mv> onto a dangling symlink aimed outside are refused; nothing appears outside", async () => {
    writeFileSync(join(project, "payload.txt"), "payload");
    symlinkSync("../outside/new.txt", join(project, "dangling"));
    symlinkSync("../outside/new-dir", join(project, "dangling-dir"));
    const before = tree(outside);
    for (const [alias, script] of [
      ["cp-dangling", `<cp path="payload.txt" to="dangling"/>`],
      ["set-dangling", `<set path="dangling">written</set>`],
      ["mv-dangling", `<mv path="payload.txt" to="dangling"/>`],
      ["set-dangling-dir", `<set path="dangling-dir/deep/x.txt">written</set>`],
    ] as const) {
      await scripted(alias, "act", script);
      const [log] = await entries(alias, `log://turn_1/${script.slice(1, 4).trim()}/*`);
      assert.equal(log!.status, 403, `${alias}: ${JSON.stringify(log)}`);
    }
    assert.deepEqual(tree(outside), before);
    assert.equal(existsSync(join(outside, "new.txt")), false);
    assert.equal(readFileSync(join(project, "payload.txt"), "utf8"), "payload");
  });

  test("a parent folder swapped for a symlink between proposal and acceptance is refused (TOCTOU)", async () => {
    for (const [alias, script] of [
      ["toctou-set", `<set path="sub/file.txt">new</set>`],
      ["toctou-cp", `<cp path="payload.txt" to="sub/copy.txt"/>`],
    ] as const) {
      mkdirSync(join(project, "sub"));
      writeFileSync(join(project, "sub", "file.txt"), "old");
      llm.enqueue(
        { content: `${script}\n<update status="102">x</update>` },
        { content: `<update status="200">done</update>` },
      );
      const proposal = client.waitFor<{ run: string; proposed: { path: string }[] }>(
        "run/proposal",
        (p) => p.run === alias,
        30_000,
      );
      const done = terminal(alias);
      await client.call("set", {
        path: `run://${alias}`,
        body: "go",
        attributes: { model: "fake", mode: "act" },
      });
      const {
        proposed: [p],
      } = await proposal;
      // The attacker's move after the user looked: sub now leads outside.
      rmSync(join(project, "sub"), { recursive: true });
      symlinkSync(outside, join(project, "sub"));
      const before = tree(outside);
      await client.call("set", { run: alias, path: p!.path, state: "resolved" });
      await done;
      const [accepted] = await client.call<{ state: string; attributes: { error?: string } }[]>(
        "getEntries",
        { run: alias, pattern: p!.path },
      );
      assert.equal(accepted!.state, "failed", alias);
      assert.match(
        String(accepted!.attributes.error),
        /leads outside the project through a symlink/,
      );
      assert.deepEqual(tree(outside), before);
      assert.equal(existsSync(join(outside, "file.txt")), false);
      assert.equal(existsSync(join(outside, "copy.txt")), false);
      rmSync(join(project, "sub"));
    }
  });

  test("writes replace a hard link to an outside file instead of writing through it", async () => {
    writeFileSync(join(outside, "hard.txt"), "outside original");
    linkSync(join(outside, "hard.txt"), join(project, "hard.txt"));
    linkSync(join(outside, "hard.txt"), join(project, "hard-cp.txt"));
    await scripted("hard", "act", `<set path="hard.txt">rewritten</set>`);
    await scripted("hard-cp", "act", `<cp path="payload.txt" to="hard-cp.txt"/>`);
    assert.equal(readFileSync(join(outside, "hard.txt"), "utf8"), "outside original");
    assert.match(readFileSync(join(project, "hard.txt"), "utf8"), /^rewritten\n?$/);
    assert.equal(readFileSync(join(project, "hard-cp.txt"), "utf8"), "payload");
  });

  test("a yolo command cannot read the server's keys through /proc, ps or its environment", async () => {
    const probe = [
      "cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'",
      "cat /proc/$PPID/environ | tr '\\0' '\\n'",
      `cat /proc/${server.pid}/environ`,
      "ps eww -e 2>&1",
      "env",
      "ls /proc",
    ].join("; ");
    await scripted("proc", "act", `<sh>${probe}; true</sh>`);
    const channels = await entries("proc", "sh://*");
    const output = channels.map((c) => c.body).join("\n");
    assert.match(output, /PATH=/, "the probe ran");
    assert.ok(!output.includes(FILE_KEY) && !output.includes(SHELL_KEY), output.slice(0, 2000));
  });

  test("a yolo <sh> writes inside the project only; it cannot see RUMMY_HOME or the user's home", async () => {
    await scripted(
      "writes",
      "act",
      `<sh>echo in > made-by-sh.txt; echo out > ${join(outside, "escape.txt")}; echo out > ../outside/escape2.txt; ls -a ${home}; cat ${join(home, ".env")}; ls -a ${process.env.HOME ?? "/root"}; true</sh>`,
    );
    assert.equal(readFileSync(join(project, "made-by-sh.txt"), "utf8"), "in\n");
    assert.equal(existsSync(join(outside, "escape.txt")), false);
    assert.equal(existsSync(join(outside, "escape2.txt")), false);
    const output = (await entries("writes", "sh://*")).map((c) => c.body).join("\n");
    // ls -a of a visible home would list rummy.db and .env.example; cat of its .env the base URL.
    assert.doesNotMatch(output, /rummy\.db|\.env\.example|OPENAI_BASE_URL/);
    assert.ok(output.includes(`cannot access '${home}'`), output);
    assert.ok(!output.includes(FILE_KEY));
  });

  test("<env> and ask mode cannot write at all, even with yolo", async () => {
    const before = tree(project);
    await scripted(
      "env-act",
      "act",
      `<env>touch env-act.txt; echo x > README.md; rm -f payload.txt</env>`,
    );
    await scripted(
      "env-ask",
      "ask",
      `<env>touch env-ask.txt; mkdir ask-dir; mv payload.txt moved.txt</env>`,
    );
    assert.deepEqual(tree(project), before);
    const output = [
      ...(await entries("env-act", "env://*")),
      ...(await entries("env-ask", "env://*")),
    ]
      .map((c) => c.body)
      .join("\n");
    assert.match(output, /Read-only file system/);
  });

  test("output streams into sh:// while the command runs; cancelling kills the whole sandbox", async () => {
    const marker = `sleep 47.${process.pid}`;
    llm.enqueue({
      content: `<sh>echo started; (setsid ${marker} &); ${marker} & ${marker}; echo never</sh>\n<update status="102">waiting</update>`,
    });
    const done = terminal("cancel");
    await client.call("set", {
      path: "run://cancel",
      body: "go",
      attributes: { model: "fake", mode: "act", yolo: true },
    });
    const count = () =>
      execSync("ps -eo args")
        .toString()
        .split("\n")
        .filter((l) => l.startsWith(marker)).length;
    let streamed: { body: string; state: string } | undefined;
    for (let i = 0; i < 200; i++) {
      [streamed] = await entries("cancel", "sh://*_1");
      if (streamed?.body === "started\n" && count() === 3) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(streamed?.body, "started\n");
    assert.equal(streamed?.state, "streaming", "output arrived while it ran");
    assert.equal(count(), 3);
    await client.call("set", { path: "run://cancel", state: "cancelled" });
    assert.equal((await done).status, 499);
    for (let i = 0; i < 60 && count() > 0; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(count(), 0, "every process of the sandbox was killed, the setsid one too");
    assert.ok((await entries("cancel", "sh://*")).every((c) => c.state === "cancelled"));
  });

  test("a project rooted at RUMMY_HOME itself: no commands run, its keys are not scanned nor writable", async () => {
    const own = client;
    client = await RummyClient.connect(server.url, { token: server.token });
    try {
      await client.hello("in-home", home);
      await scripted("in-home", "act", `<sh>cat .env; ls</sh>`);
      const channels = await entries("in-home", "sh://*");
      const stderr = channels.find((c) => c.path.endsWith("_2"))!;
      assert.equal(stderr.outcome, "sandbox:503");
      assert.match(stderr.body, /the project's root is RUMMY_HOME itself/);
      assert.ok(!channels.some((c) => c.body.includes(FILE_KEY)));
      const dotenv = readFileSync(join(home, ".env"), "utf8");
      await scripted("in-home-set", "act", `<set path=".env">OPENAI_BASE_URL=http://evil</set>`);
      const [log] = await entries("in-home-set", "log://turn_1/set/*");
      assert.equal(log!.status, 403);
      assert.equal(readFileSync(join(home, ".env"), "utf8"), dotenv);
      const files = await client.call<{ path: string }[]>("getEntries", {
        run: "in-home",
        pattern: "*",
      });
      assert.ok(!files.some((f) => f.path === ".env" || f.path.startsWith("rummy.db")));
    } finally {
      await client.close();
      client = own;
    }
  });

  test("after all of it, the database, its WAL and the server's logs hold neither key", async () => {
    const files = readdirSync(home).filter((f) => f.startsWith("rummy.db"));
    assert.ok(files.includes("rummy.db"));
    const hits = (text: string) => text.includes(FILE_KEY) || text.includes(SHELL_KEY);
    for (const f of files)
      assert.ok(!hits(readFileSync(join(home, f)).toString("latin1")), `${f} holds a key`);
    assert.ok(files.includes("rummy.db-wal"), "the WAL was checked while the server ran");
    await client.close();
    assert.equal(await server.stop(), 0);
    for (const f of readdirSync(home).filter((f) => f.startsWith("rummy.db")))
      assert.ok(!hits(readFileSync(join(home, f)).toString("latin1")), `${f} holds a key`);
    assert.ok(server.output().length > 1000, "debug logs were captured");
    assert.ok(!hits(server.output()), "the logs hold a key");
  });
});

describe("without bubblewrap the server refuses to run commands, unless RUMMY_SANDBOX=off", () => {
  let dir: string;
  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "rummy-nobwrap-")));
    mkdirSync(join(dir, "project"));
    llm = await startFakeLlm();
  });
  after(async () => {
    await llm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [label, extra, runs] of [
    // No bwrap on PATH (the server itself needs no PATH: node is started by its path).
    ["bwrap missing", () => ({ PATH: join(dir, "no-bin") }), false],
    ["RUMMY_SANDBOX=off", () => ({ RUMMY_SANDBOX: "off" }), true],
  ] as const) {
    test(label, async () => {
      const home = join(dir, `home-${runs}`);
      const served = await startServe(home, ["--port", "0"], {
        OPENAI_BASE_URL: llm.url,
        OPENAI_API_KEY: "sk-test",
        RUMMY_MODEL_fake: "openai/fake-model",
        RUMMY_ALLOW_YOLO: "1",
        ...extra(),
      });
      try {
        client = await RummyClient.connect(served.url, { token: served.token });
        await client.hello(`p-${runs}`, join(dir, "project"));
        await scripted(`r-${runs}`, "act", `<sh>touch made-${runs}.txt</sh>`);
        const channels = await entries(`r-${runs}`, "sh://*");
        assert.equal(existsSync(join(dir, "project", `made-${runs}.txt`)), runs);
        if (runs) {
          assert.match(served.output(), /RUMMY_SANDBOX=off: yolo commands run unconfined/);
          assert.ok(channels.every((c) => c.state === "resolved"));
        } else {
          assert.match(served.output(), /yolo commands will be refused: .*bwrap was not found/);
          const stderr = channels.find((c) => c.path.endsWith("_2"))!;
          assert.equal(stderr.outcome, "sandbox:503");
          assert.match(stderr.body, /apt-get install bubblewrap/);
        }
        await client.close();
      } finally {
        await served.stop();
      }
    });
  }
});
