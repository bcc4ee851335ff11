/**
 * Issue 19.1, two clients on real sockets against `rummy serve`: whoever
 * says a project's name cannot re-point its root; a proposal's write lands
 * in the root it was proposed under.
 */
import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { RpcCallError, RummyClient } from "@rummy/client";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { rummy, startServe, tempHome } from "./helpers.js";

let llm: FakeLlm;
let home: string;
let cleanup: () => void;
let victimRoot: string;
let attackerRoot: string;
let server: Awaited<ReturnType<typeof startServe>>;
let llmEnv: Record<string, string>;

before(async () => {
  llm = await startFakeLlm();
  ({ home, cleanup } = tempHome());
  victimRoot = realpathSync(mkdtempSync(join(tmpdir(), "rummy-victim-")));
  attackerRoot = realpathSync(mkdtempSync(join(tmpdir(), "rummy-attacker-")));
  // The same text in both: an edit sent to the wrong root would apply cleanly there.
  writeFileSync(join(victimRoot, "README.md"), "hello\n");
  writeFileSync(join(attackerRoot, "README.md"), "hello\n");
  llmEnv = {
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-test",
    RUMMY_MODEL_fake: "openai/fake-model",
    RUMMY_RETRY_ATTEMPTS: "1",
  };
  server = await startServe(home, ["--port", "0"], llmEnv);
});
after(async () => {
  await server.stop();
  await llm.close();
  cleanup();
  rmSync(victimRoot, { recursive: true, force: true });
  rmSync(attackerRoot, { recursive: true, force: true });
});

function refusedWith(status: number, message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof RpcCallError, String(e));
    assert.equal((e.data as { status: number }).status, status, e.message);
    assert.match(e.message, message);
    return true;
  };
}

test("another client cannot re-point a project; the pending edit lands in the root it was proposed under", async () => {
  const a = await RummyClient.connect(server.url, { token: server.token });
  const b = await RummyClient.connect(server.url, { token: server.token });
  try {
    await a.hello("victim", victimRoot);
    llm.enqueue(
      {
        content: `<set path="README.md">\n<<<<<<< SEARCH\nhello\n=======\nhello from A\n>>>>>>> REPLACE\n</set>\n<update status="102">editing</update>`,
      },
      { content: `<update status="200">edited</update>` },
    );
    const proposed = a.waitFor<{ run: string; proposed: { path: string }[] }>(
      "run/proposal",
      (p) => p.run === "edit",
      20_000,
    );
    await a.call("set", {
      path: "run://edit",
      body: "say hello from A",
      attributes: { model: "fake", mode: "act" },
    });
    const {
      proposed: [proposal],
    } = await proposed;

    const escaped = (p: string) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    await assert.rejects(
      b.call("rummy/hello", { name: "victim", projectRoot: attackerRoot }),
      refusedWith(
        409,
        new RegExp(`rooted at ${escaped(victimRoot)}, not ${escaped(attackerRoot)}`),
      ),
    );
    await assert.rejects(
      b.call("rummy/hello", { name: "victim", projectRoot: attackerRoot, move: true }),
      refusedWith(409, /cannot move project 'victim'.*run\(s\) edit are active or waiting/),
    );
    // The refused hello left B without a project: it cannot touch the victim's runs.
    await assert.rejects(b.call("getRuns"), (e: unknown) => (e as RpcCallError).code === -32001);

    const finished = a.waitFor<{ run: string; status: number }>(
      "run/state",
      (s) => s.run === "edit" && s.status === 200,
      20_000,
    );
    await a.call("set", { run: "edit", path: proposal!.path, state: "resolved" });
    await finished;
    assert.equal(readFileSync(join(victimRoot, "README.md"), "utf8"), "hello from A\n");
    assert.equal(
      readFileSync(join(attackerRoot, "README.md"), "utf8"),
      "hello\n",
      "nothing written to B's root",
    );

    // A symlink to the same directory is the same root, not a re-pointing.
    const link = join(tmpdir(), `rummy-victim-link-${process.pid}`);
    rmSync(link, { force: true });
    symlinkSync(victimRoot, link);
    try {
      assert.equal((await b.hello("victim", link)).projectRoot, victimRoot);
    } finally {
      rmSync(link, { force: true });
    }

    // Asked for explicitly, with nothing of the project working or waiting, a move is allowed.
    const moved = await b.call<{ projectRoot: string }>("rummy/hello", {
      name: "victim",
      projectRoot: attackerRoot,
      move: true,
    });
    assert.equal(moved.projectRoot, attackerRoot);
    await assert.rejects(
      a.call("rummy/hello", { name: "victim", projectRoot: victimRoot }),
      refusedWith(409, /rooted at/),
      "and from then on the old root is the mismatch",
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test("two folders with the same name each get a project of their own; neither re-points the other", async () => {
  const base = realpathSync(mkdtempSync(join(tmpdir(), "rummy-same-name-")));
  const first = join(base, "one", "app");
  const second = join(base, "two", "app");
  mkdirSync(first, { recursive: true });
  mkdirSync(second, { recursive: true });
  writeFileSync(join(first, "only-in-first.txt"), "first folder\n");
  writeFileSync(join(second, "only-in-second.txt"), "second folder\n");
  try {
    const ask = (cwd: string) =>
      rummy(["ask", "--connect", server.url, "--model", "fake", "hi"], {
        home,
        env: llmEnv,
        cwd,
      });
    llm.enqueue({ content: `<update status="200">first</update>` });
    const one = await ask(first);
    assert.equal(one.code, 0, one.stderr);
    llm.enqueue({ content: `<update status="200">second</update>` });
    const two = await ask(second);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stdout, /second/);
    // Each run saw its own folder's file: the second folder did not take over the first's project.
    const prompts = llm
      .chatRequests()
      .slice(-2)
      .map((r) => JSON.stringify(r.body));
    assert.match(prompts[0]!, /only-in-first\.txt/);
    assert.doesNotMatch(prompts[0]!, /only-in-second\.txt/);
    assert.match(prompts[1]!, /only-in-second\.txt/);
    assert.doesNotMatch(prompts[1]!, /only-in-first\.txt/);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
