import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { RummyClient } from "@rummy/client";
import { createLogger, loadPlugins, RummyCore } from "@rummy/core";
import rpcPlugin from "@rummy/plugin-rpc";
import { type RummyServer, startServer } from "@rummy/server";
import { buildPage } from "../src/build.js";
import web, { ASSETS_DIR, CONTENT_SECURITY_POLICY } from "../src/index.js";

const TOKEN = "page-test-token";
let home: string;
let core: RummyCore;
let server: RummyServer;

function fetchPage(
  path: string,
  options: { method?: string; host?: string } = {},
): Promise<{
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: server.port,
        path,
        method: options.method ?? "GET",
        headers: { host: options.host ?? `127.0.0.1:${server.port}` },
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), "rummy-web-"));
  core = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
  const report = await loadPlugins(core, {
    bundled: [rpcPlugin, web],
    pluginDir: join(home, "none"),
  });
  assert.deepEqual(report.failed, []);
  server = await startServer({ core, port: 0, token: TOKEN, heartbeatMs: 60_000 });
});

after(async () => {
  await server.close();
  await core.close();
  rmSync(home, { recursive: true, force: true });
});

test("the shipped assets are what page/ builds to (rebuild with `pnpm --filter @rummy/web build:page`)", async () => {
  const out = mkdtempSync(join(tmpdir(), "rummy-web-build-"));
  try {
    const files = await buildPage(out);
    const shipped = fileURLToPath(ASSETS_DIR);
    assert.deepEqual(readdirSync(shipped).sort(), [...files].sort());
    for (const file of files) {
      assert.ok(
        readFileSync(join(out, file)).equals(readFileSync(join(shipped, file))),
        `assets/${file} is stale: run \`pnpm --filter @rummy/web build:page\``,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("the page is served on the WebSocket's port with a strict CSP, no inline script and no token", async () => {
  const page = await fetchPage("/");
  assert.equal(page.status, 200);
  assert.match(String(page.headers["content-type"]), /^text\/html/);
  assert.equal(page.headers["content-security-policy"], CONTENT_SECURITY_POLICY);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers["x-frame-options"], "DENY");
  assert.equal(page.headers["x-content-type-options"], "nosniff");
  // Every script has a src; no inline handlers or styles.
  for (const tag of page.body.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? [])
    assert.match(tag, /^<script\b[^>]*\bsrc="\/app\.js"[^>]*><\/script>$/);
  assert.doesNotMatch(page.body, /\son[a-z]+=|<style|style=/i);
  assert.ok(!page.body.includes(TOKEN), "the token is never in the page");
  const script = await fetchPage("/app.js");
  assert.equal(script.status, 200);
  assert.match(String(script.headers["content-type"]), /^text\/javascript/);
  assert.ok(!script.body.includes(TOKEN));
  assert.equal((await fetchPage("/app.css")).status, 200);
  const head = await fetchPage("/", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.body, "");
});

test("only the page's files are served, only to GET/HEAD, only under a loopback Host", async () => {
  assert.equal((await fetchPage("/../../etc/passwd")).status, 404);
  assert.equal((await fetchPage("/src/index.ts")).status, 404);
  assert.equal((await fetchPage("/app.js/")).status, 404);
  assert.equal((await fetchPage("/", { method: "POST" })).status, 405);
  const rebound = await fetchPage("/", { host: `attacker.example:${server.port}` });
  assert.equal(rebound.status, 403);
  assert.doesNotMatch(rebound.body, /<html/);
});

test("the page's WebSocket needs the token like any client; getProjects lists projects", async () => {
  const stranger = await RummyClient.connect(server.url);
  await assert.rejects(stranger.call("getProjects"), /token/);
  await assert.rejects(stranger.hello("p", home), /token/);
  await stranger.close();
  // The page passes ?token= on the WebSocket URL.
  const page = await RummyClient.connect(`${server.url}/?token=${TOKEN}`);
  await page.hello("web-project", home);
  const projects = await page.call<{ name: string; root: string }[]>("getProjects");
  assert.deepEqual(
    projects.map((p) => [p.name, p.root]),
    [["web-project", home]],
  );
  await page.close();
});
