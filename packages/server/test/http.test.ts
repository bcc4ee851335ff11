import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createLogger, RummyCore } from "@rummy/core";
import WebSocket from "ws";
import { type RummyServer, startServer } from "../src/index.js";

let home: string;
let core: RummyCore;
let server: RummyServer;

function get(
  port: number,
  path: string,
  options: { host?: string; via?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.via ?? "127.0.0.1",
        port,
        path,
        headers: { host: options.host ?? `127.0.0.1:${port}` },
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
  home = mkdtempSync(join(tmpdir(), "rummy-http-"));
  core = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
  core.rpc.register("ping", { description: "liveness", requiresInit: false, handler: () => ({}) });
  core.http.register("/", (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("root");
  });
  core.http.register("/deep/", (req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`deep ${req.url}`);
  });
  core.http.register("/broken", () => {
    throw new Error("route bug");
  });
  server = await startServer({ core, port: 0, heartbeatMs: 60_000 });
});

after(async () => {
  await server.close();
  await core.close();
  rmSync(home, { recursive: true, force: true });
});

test("plain HTTP on the WebSocket's port goes to the longest matching plugin route", async () => {
  assert.deepEqual((await get(server.port, "/")).body, "root");
  assert.deepEqual((await get(server.port, "/anything?x=1")).body, "root");
  assert.deepEqual((await get(server.port, "/deep/a/b")).body, "deep /deep/a/b");
  assert.deepEqual((await get(server.port, "/deep")).body, "deep /deep");
  assert.deepEqual((await get(server.port, "/deeper")).body, "root");
});

test("a route that throws answers 500 and the server carries on", async () => {
  const broken = await get(server.port, "/broken");
  assert.equal(broken.status, 500);
  assert.equal((await get(server.port, "/")).status, 200);
});

test("the WebSocket still upgrades on the same port", async () => {
  const ws = new WebSocket(server.url);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const reply = await new Promise<string>((resolve) => {
    ws.once("message", (d) => resolve(d.toString()));
    ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
  });
  assert.deepEqual(JSON.parse(reply), { jsonrpc: "2.0", id: 1, result: {} });
  ws.close();
});

test("a Host that is not a loopback name is refused (DNS rebinding)", async () => {
  for (const host of ["evil.example", "evil.example:80", "127.0.0.1.evil.example"]) {
    const res = await get(server.port, "/", { host });
    assert.equal(res.status, 403, `Host ${JSON.stringify(host)}`);
    assert.doesNotMatch(res.body, /root/);
  }
  for (const host of ["localhost", `localhost:${server.port}`, "127.0.0.1", "[::1]:1"]) {
    assert.equal((await get(server.port, "/", { host })).status, 200, `Host ${host}`);
  }
});

test("with no route for a path the answer is 404", async () => {
  const bare = RummyCore.open({
    home,
    dbPath: ":memory:",
    env: {},
    logger: createLogger("silent"),
  });
  const plain = await startServer({ core: bare, port: 0, heartbeatMs: 60_000 });
  try {
    assert.equal((await get(plain.port, "/")).status, 404);
  } finally {
    await plain.close();
    await bare.close();
  }
});

test("a client that is not on loopback is refused, even when the server listens wider", async (t) => {
  const outside = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;
  if (!outside) {
    t.skip("this machine has no non-loopback IPv4 address to connect from");
    return;
  }
  const wide = RummyCore.open({
    home,
    dbPath: ":memory:",
    env: {},
    logger: createLogger("silent"),
  });
  wide.http.register("/", (_req, res) => {
    res.end("the-page");
  });
  const open = await startServer({ core: wide, host: "0.0.0.0", port: 0, token: "t0k3n" });
  try {
    assert.equal((await get(open.port, "/")).body, "the-page");
    // The same machine, reached through its network address: not a loopback client.
    const res = await get(open.port, "/", { via: outside, host: `127.0.0.1:${open.port}` });
    assert.equal(res.status, 403);
    assert.doesNotMatch(res.body, /the-page/);
  } finally {
    await open.close();
    await wide.close();
  }
});
