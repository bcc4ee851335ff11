import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { RummyClient, RpcCallError } from "@rummy/client";
import { rummy, startServe, tempHome } from "./helpers.js";

const TOKEN = "web-project-token-9c2e";

/** The `project` and `root` the printed page address carries in its fragment. */
function fragmentOf(url: string): URLSearchParams {
  return new URLSearchParams(new URL(url).hash.slice(1));
}

test("rummy web in a second folder of a taken name gives the page that folder's own project", async () => {
  const { home, cleanup } = tempHome();
  const parent = realpathSync(mkdtempSync(join(tmpdir(), "rummy-web-names-")));
  const first = join(parent, "one", "app");
  const second = join(parent, "two", "app");
  mkdirSync(first, { recursive: true });
  mkdirSync(second, { recursive: true });
  const server = await startServe(home, ["--port", "0"], { RUMMY_TOKEN: TOKEN });
  const port = new URL(server.url).port;
  try {
    const env = { RUMMY_TOKEN: TOKEN };
    const a = await rummy(["web", "--port", port], { home, env, cwd: first });
    assert.equal(a.code, 0, a.stderr);
    const b = await rummy(["web", "--port", port], { home, env, cwd: second });
    assert.equal(b.code, 0, b.stderr);
    const pageA = fragmentOf(a.stdout.trim());
    const pageB = fragmentOf(b.stdout.trim());
    assert.equal(pageA.get("project"), "app");
    assert.equal(pageA.get("root"), first);
    assert.match(pageB.get("project") ?? "", /^app-[0-9a-f]{8}$/);
    assert.equal(pageB.get("root"), second);

    // What the page will do with each address: a hello that the server takes.
    const client = await RummyClient.connect(server.url, { token: TOKEN });
    try {
      await client.hello(pageB.get("project")!, second);
      await client.hello("app", first);
      // And the plain name is still the first folder's: the second folder could not have used it.
      await assert.rejects(
        client.hello("app", second),
        (error: unknown) =>
          error instanceof RpcCallError && (error.data as { status?: number }).status === 409,
      );
    } finally {
      await client.close();
    }

    // Running it again in the second folder finds the same project, not a third.
    const again = await rummy(["web", "--port", port], { home, env, cwd: second });
    assert.equal(fragmentOf(again.stdout.trim()).get("project"), pageB.get("project"));
  } finally {
    await server.stop();
    rmSync(parent, { recursive: true, force: true });
    cleanup();
  }
});

test("rummy web with a wrong token says so and prints no URL", async () => {
  const { home, cleanup } = tempHome();
  const folder = realpathSync(mkdtempSync(join(tmpdir(), "rummy-web-stranger-")));
  const server = await startServe(home, ["--port", "0"], { RUMMY_TOKEN: TOKEN });
  try {
    const res = await rummy(["web", "--port", new URL(server.url).port], {
      home,
      env: { RUMMY_TOKEN: "not-the-token" },
      cwd: folder,
    });
    assert.equal(res.code, 1);
    assert.equal(res.stdout, "");
    assert.match(res.stderr, /did not take this folder's project/);
  } finally {
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
    cleanup();
  }
});

test("rummy web finds the server by PORT as serve does, and --project <dir> gives the page that folder's project", async () => {
  const { home, cleanup } = tempHome();
  const parent = realpathSync(mkdtempSync(join(tmpdir(), "rummy-web-dir-")));
  const here = join(parent, "here");
  const there = join(parent, "there");
  mkdirSync(here);
  mkdirSync(there);
  const server = await startServe(home, ["--port", "0"], { RUMMY_TOKEN: TOKEN });
  try {
    const env = { RUMMY_TOKEN: TOKEN, PORT: new URL(server.url).port };
    const res = await rummy(["web", "--project", "../there"], { home, env, cwd: here });
    assert.equal(res.code, 0, res.stderr);
    const page = fragmentOf(res.stdout.trim());
    assert.equal(new URL(res.stdout.trim()).port, env.PORT);
    assert.equal(page.get("root"), there);
    assert.equal(page.get("project"), "there");
    // The same project `rummy ask --project ../there` binds: the server already holds it by that root.
    const client = await RummyClient.connect(server.url, { token: TOKEN });
    try {
      await client.hello("there", there);
    } finally {
      await client.close();
    }
    const missing = await rummy(["web", "--project", "../nowhere"], { home, env, cwd: here });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--project \.\.\/nowhere: no such directory/);
  } finally {
    await server.stop();
    rmSync(parent, { recursive: true, force: true });
    cleanup();
  }
});

test("rummy web --open without a working opener says so in one line and still prints the URL", {
  skip: process.platform === "linux" ? false : "the opener tried is xdg-open on Linux",
}, async () => {
  const { home, cleanup } = tempHome();
  const bin = realpathSync(mkdtempSync(join(tmpdir(), "rummy-web-bin-")));
  const server = await startServe(home, ["--port", "0"], { RUMMY_TOKEN: TOKEN });
  try {
    const port = new URL(server.url).port;
    const open = (PATH: string) =>
      rummy(["web", "--open", "--port", port], { home, env: { RUMMY_TOKEN: TOKEN, PATH } });
    // No xdg-open on the PATH at all.
    const absent = await open(bin);
    assert.equal(absent.code, 0, absent.stderr);
    assert.match(absent.stdout, /^http:\/\/127\.0\.0\.1:\d+\/#/);
    assert.equal(
      absent.stderr,
      "rummy: could not open a browser (xdg-open not found); open the URL above\n",
    );
    // An xdg-open that finds no browser (it exits 3).
    writeFileSync(join(bin, "xdg-open"), "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    const refused = await open(bin);
    assert.equal(refused.code, 0, refused.stderr);
    assert.match(refused.stderr, /could not open a browser \(xdg-open exited with 3\)/);
    // One that works is given the printed URL and nothing is said.
    writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\necho "$1" > "${bin}/opened"\n`, {
      mode: 0o755,
    });
    const opened = await open(bin);
    assert.equal(opened.code, 0, opened.stderr);
    assert.equal(opened.stderr, "");
    assert.equal(readFileSync(join(bin, "opened"), "utf8"), opened.stdout);
  } finally {
    await server.stop();
    rmSync(bin, { recursive: true, force: true });
    cleanup();
  }
});
