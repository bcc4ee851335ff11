import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  findBwrap,
  runCommand,
  type SandboxPolicy,
  sandboxArgs,
  scrubbedEnv,
} from "../src/index.js";

const bwrap = findBwrap();
// CI installs bubblewrap (.ci/run); only a machine without it skips, and says so.
const skip = bwrap ? false : "bwrap is not installed (apt-get install bubblewrap)";

let base: string;
let root: string;
let home: string;
before(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), "rummy-sandbox-")));
  root = join(base, "project");
  home = join(base, "home");
  mkdirSync(root);
  mkdirSync(home);
  writeFileSync(join(home, ".env"), "OPENAI_API_KEY=sk-home-secret\n");
  writeFileSync(join(root, "README.md"), "hello\n");
});
after(() => rmSync(base, { recursive: true, force: true }));

async function sandboxed(
  command: string,
  policy: Partial<SandboxPolicy> = {},
  extra: {
    signal?: AbortSignal;
    timeoutMs?: number;
    onOutput?: (c: Map<number, string>) => void;
  } = {},
) {
  const out = new Map<number, string>([
    [1, ""],
    [2, ""],
  ]);
  const result = await runCommand({
    command,
    cwd: root,
    env: { ...scrubbedEnv(process.env), HOME: "/tmp", TMPDIR: "/tmp" },
    timeoutMs: extra.timeoutMs ?? 20_000,
    maxOutput: 1_000_000,
    ...(extra.signal ? { signal: extra.signal } : {}),
    onOutput: (chunks) => {
      for (const [ch, text] of chunks) out.set(ch, out.get(ch)! + text);
      extra.onOutput?.(chunks);
    },
    sandbox: {
      bwrap: bwrap!,
      args: sandboxArgs({ root, writable: true, network: false, hidden: [home], ...policy }),
    },
  });
  return { ...result, stdout: out.get(1)!, stderr: out.get(2)! };
}

describe("the bubblewrap sandbox", { skip }, () => {
  test("the server's processes and environment are invisible: /proc shows only the sandbox", async () => {
    process.env.RUMMY_SANDBOX_TEST_KEY = "sk-server-env-secret";
    try {
      const r = await sandboxed(
        `cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo; cat /proc/$PPID/environ; echo; echo "count=$(ls /proc | grep -c '^[0-9]')"; ps -e 2>&1 | tail -n +2; ps e 2>&1; true`,
      );
      assert.equal(r.exitCode, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /sk-server-env-secret/);
      const pids = execSync("ls /proc")
        .toString()
        .split("\n")
        .filter((n) => /^\d+$/.test(n));
      const seen = Number(/^count=(\d+)$/m.exec(r.stdout)?.[1]);
      assert.ok(
        seen < 10 && seen < pids.length,
        `the sandbox sees ${seen} processes, the host ${pids.length}`,
      );
    } finally {
      delete process.env.RUMMY_SANDBOX_TEST_KEY;
    }
  });

  test("writes: the project in act mode; nothing outside it; nothing at all read-only", async () => {
    const outside = join(base, "outside.txt");
    const rw = await sandboxed(
      `echo made > made.txt; echo x > ${outside}; echo y > /usr/rummy-probe; echo done`,
    );
    assert.equal(readFileSync(join(root, "made.txt"), "utf8"), "made\n");
    assert.equal(existsSync(outside), false);
    assert.equal(existsSync("/usr/rummy-probe"), false);
    assert.match(rw.stderr, /Read-only file system|No such file or directory/);
    const ro = await sandboxed(
      `touch ro.txt; rm README.md; echo z > /tmp/scratch && cat /tmp/scratch`,
      {
        writable: false,
      },
    );
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal(existsSync(join(root, "ro.txt")), false);
    assert.equal(readFileSync(join(root, "README.md"), "utf8"), "hello\n");
    assert.equal(ro.stdout, "z\n", "a private /tmp is still writable");
    assert.equal(existsSync("/tmp/scratch"), false, "and it is not the host's /tmp");
  });

  test("RUMMY_HOME and the user's home are not there, even when the project contains them", async () => {
    const r = await sandboxed(`ls -a ${home}; cat ${home}/.env; ls ${process.env.HOME ?? "/root"}`);
    assert.doesNotMatch(r.stdout, /\.env|sk-home-secret/);
    const inner = join(root, ".rummy");
    mkdirSync(inner);
    writeFileSync(join(inner, ".env"), "OPENAI_API_KEY=sk-inner-secret\n");
    const covered = await sandboxed(`cat .rummy/.env; ls -a .rummy; cat README.md`, {
      hidden: [inner],
    });
    assert.doesNotMatch(covered.stdout + covered.stderr, /sk-inner-secret/);
    assert.match(covered.stdout, /hello/, "the rest of the project is there");
    rmSync(inner, { recursive: true });
  });

  test("network is off unless allowed: the server's loopback port cannot be reached", async () => {
    const server = createServer((socket) => socket.end("reached\n"));
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    const port = (server.address() as { port: number }).port;
    const probe = `exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3`;
    try {
      const off = await sandboxed(`bash -c '${probe}'`);
      assert.doesNotMatch(off.stdout, /reached/);
      const on = await sandboxed(`bash -c '${probe}'`, { network: true });
      assert.match(on.stdout, /reached/);
    } finally {
      server.close();
    }
  });

  test("output streams while the command runs; cancelling kills every process in the sandbox", async () => {
    const marker = `sleep 41.${process.pid}`;
    const controller = new AbortController();
    let firstOutput = "";
    const running = sandboxed(
      `echo started; (setsid ${marker} &) ; ${marker} & ${marker}; echo never`,
      {},
      {
        signal: controller.signal,
        onOutput: (chunks) => {
          firstOutput ||= chunks.get(1) ?? "";
        },
      },
    );
    for (let i = 0; i < 100 && !firstOutput; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(firstOutput, "started\n", "output arrived before the command ended");
    const count = () =>
      execSync("ps -eo args")
        .toString()
        .split("\n")
        .filter((l) => l.startsWith(marker)).length;
    for (let i = 0; i < 50 && count() < 3; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(count(), 3, "three sleeps, one in its own session");
    controller.abort();
    const result = await running;
    assert.equal(result.cancelled, true);
    for (let i = 0; i < 60 && count() > 0; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(count(), 0, "all killed, the setsid one too");
    assert.doesNotMatch(result.stdout, /never/);
  });

  test("a timeout still ends the command", async () => {
    const r = await sandboxed("sleep 30", {}, { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
  });
});
