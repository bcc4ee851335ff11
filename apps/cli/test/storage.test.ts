// A full disk and a read-only database, on a real filesystem: a small tmpfs
// holds RUMMY_HOME. Needs permission to mount (root with CAP_SYS_ADMIN, as on
// the project's machines); elsewhere the test says why it skipped.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { RpcCallError, RummyClient } from "@rummy/client";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { rummy, startServe } from "./helpers.js";

let mountPoint: string;
let mounted = false;
let llm: FakeLlm;

function mount(...args: string[]): boolean {
  try {
    execFileSync("mount", args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  mountPoint = mkdtempSync(join(tmpdir(), "rummy-small-disk-"));
  mounted = mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint);
  llm = await startFakeLlm();
});
after(async () => {
  await llm.close();
  if (mounted) execFileSync("umount", ["-l", mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

/** Fills the filesystem with a ballast file until it refuses another byte. */
function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
    for (;;) {
      try {
        writeSync(fd, Buffer.alloc(512, 1));
      } catch {
        break;
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function refusal(promise: Promise<unknown>): Promise<{ status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RpcCallError, `an RPC error, not ${String(error)}`);
    return { status: (error.data as { status?: number })?.status, message: error.message };
  }
  assert.fail("the write was accepted");
}

test("a full disk and a read-only database: clear errors, nothing committed damaged, recovery when space returns", async (t) => {
  if (!mounted) {
    t.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)");
    return;
  }
  const home = join(mountPoint, "home");
  const env = {
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-test",
    RUMMY_MODEL_fake: "openai/fake-model",
    RUMMY_RETRY_ATTEMPTS: "1",
  };
  const server = await startServe(home, ["--port", "0"], env);
  const ballast = join(mountPoint, "ballast");
  const acked: string[] = [];
  try {
    const client = await RummyClient.connect(server.url, { token: server.token });
    await client.hello("small-disk", home);
    llm.enqueue({ content: `<update status="200">ready</update>` });
    const ready = client.waitFor("run/state", (s) => s.run === "disk" && s.status === 200);
    await client.call("set", {
      path: "run://disk",
      body: "start",
      attributes: { model: "fake", mode: "ask" },
    });
    await ready;
    for (let i = 0; i < 50; i++) {
      await client.call("set", { run: "disk", path: `known://before/${i}`, body: `kept ${i}` });
      acked.push(`known://before/${i}`);
    }

    // Full: every write is refused with 507 and a sentence a person can act on.
    fillDisk(ballast);
    const big = "x".repeat(256 * 1024);
    const full = await refusal(
      client.call("set", { run: "disk", path: "known://too-much", body: big }),
    );
    assert.equal(full.status, 507);
    assert.match(full.message, /database is full .*free space/);
    // A run started on a full disk does not take the server down.
    llm.enqueue({
      content: `<known path="known://during">${big}</known>\n<update status="200">x</update>`,
    });
    const whileFull = await client
      .call("set", { path: "run://disk", body: "while full", attributes: { mode: "ask" } })
      .then(
        () => "queued",
        (error: RpcCallError) => (error.data as { status?: number }).status,
      );
    assert.ok(whileFull === "queued" || whileFull === 507, `got ${whileFull}`);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await client.call("ping"), {}, "the server still answers");
    const during = await client.call<{ path: string; body: string }[]>("getEntries", {
      run: "disk",
      pattern: "known://before/*",
      withBody: true,
    });
    assert.equal(during.length, 50, "reads still work; nothing committed is lost");

    // Space returns: writes go through again, and a new prompt runs to the end.
    rmSync(ballast);
    await client.call("set", { run: "disk", path: "known://after-space", body: "written" });
    acked.push("known://after-space");
    llm.clear();
    llm.setHandler(() => ({ content: `<update status="200">recovered</update>` }));
    const recovered = client.waitFor(
      "run/state",
      (s) => s.run === "disk" && s.status === 200 && s.reason === "recovered",
      20_000,
    );
    await client.call("set", { path: "run://disk", body: "again", attributes: { mode: "ask" } });
    await recovered;

    await client.close();
  } finally {
    rmSync(ballast, { force: true });
    await server.stop();
  }

  // Read-only: the folder's filesystem is remounted read-only; the server refuses to start and says why.
  assert.ok(mount("-o", "remount,ro", mountPoint), "remount read-only");
  let refused: Awaited<ReturnType<typeof rummy>>;
  try {
    refused = await rummy(["serve", "--port", "0"], { home, env, timeoutMs: 20_000 });
  } finally {
    assert.ok(mount("-o", "remount,rw", mountPoint), "remount read-write");
  }
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /cannot open the database .*rummy\.db for writing .*writable/);

  // Writable again: everything acknowledged is there and the server takes writes.
  const again = await startServe(home, ["--port", "0"], env);
  try {
    const client = await RummyClient.connect(again.url, { token: again.token });
    await client.hello("small-disk", home);
    await client.call("set", { run: "disk", path: "known://rw-again", body: "yes" });
    acked.push("known://rw-again");
    const present = new Set(
      (
        await client.call<{ path: string }[]>("getEntries", { run: "disk", pattern: "known://*" })
      ).map((e) => e.path),
    );
    assert.deepEqual(
      acked.filter((p) => !present.has(p)),
      [],
      "every acknowledged write is there",
    );
    assert.ok(!present.has("known://too-much"), "the refused write left nothing");
    await client.close();
  } finally {
    await again.stop();
  }
  const doctor = await rummy(["doctor"], { home, env });
  assert.match(doctor.stdout, /integrity ok/, doctor.stdout + doctor.stderr);
});
