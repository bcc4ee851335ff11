/**
 * Issue 13, through the real `rummy serve` binary and real sockets: the
 * default start is closed to any page or process that has not read
 * RUMMY_HOME/token.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RpcCallError, RummyClient } from "@rummy/client";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import Database from "better-sqlite3";
import WebSocket from "ws";
import { rummy, startServe, tempHome } from "./helpers.js";

const UNAUTHORIZED = -32003;

let llm: FakeLlm;
let llmEnv: Record<string, string>;
/** Every byte a server or CLI printed in this file: the token must be in none of it. */
const captured: string[] = [];

before(async () => {
  llm = await startFakeLlm();
  llmEnv = {
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-test",
    RUMMY_MODEL_fake: "openai/fake-model",
    RUMMY_RETRY_ATTEMPTS: "1",
  };
});
after(() => llm.close());

type Upgrade =
  | { kind: "open"; socket: WebSocket }
  | { kind: "refused"; status: number; body: string };

/** Opens a WebSocket with exactly the headers a browser or a stranger would send. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<Upgrade> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once("open", () => resolve({ kind: "open", socket }));
    socket.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ kind: "refused", status: res.statusCode ?? 0, body }));
    });
    socket.once("error", reject);
  });
}

/** One request on a raw socket; resolves with the whole response object. */
function request(socket: WebSocket, method: string, params: unknown = {}): Promise<any> {
  const id = Math.floor(Math.random() * 1e9);
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const reply = JSON.parse(data.toString());
      if (reply.id !== id) return;
      socket.off("message", onMessage);
      resolve(reply);
    };
    socket.on("message", onMessage);
    socket.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  });
}

async function open(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const result = await upgrade(url, headers);
  assert.equal(result.kind, "open", JSON.stringify(result));
  return (result as { socket: WebSocket }).socket;
}

function withQuery(url: string, token: string): string {
  return `${url}/?token=${encodeURIComponent(token)}`;
}

describe("a default `rummy serve`", () => {
  let home: string;
  let cleanup: () => void;
  let userHome: string;
  let project: string;
  let server: Awaited<ReturnType<typeof startServe>>;
  let token: string;
  const tokensSeen: string[] = [];

  before(async () => {
    ({ home, cleanup } = tempHome());
    userHome = realpathSync(mkdtempSync(join(tmpdir(), "rummy-user-home-")));
    project = realpathSync(mkdtempSync(join(tmpdir(), "rummy-sec-project-")));
    server = await startServe(home, ["--port", "0"], {
      ...llmEnv,
      RUMMY_ALLOWED_ORIGINS: "https://app.example.test",
      HOME: userHome,
    });
    token = readFileSync(join(home, "token"), "utf8").trim();
    tokensSeen.push(token);
  });
  after(async () => {
    await server.stop();
    cleanup();
    rmSync(userHome, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  test("creates RUMMY_HOME/token: 256 random bits, mode 0600, and says where it is (not what)", () => {
    const path = join(home, "token");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(Buffer.from(token, "base64url").length, 32, "256 bits");
    assert.match(
      server.output(),
      new RegExp(`auth: token in ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
    );
    assert.ok(!server.output().includes(token));
  });

  test("a missing or wrong token gets -32003 on every method of the live discover catalog", async () => {
    const insider = await RummyClient.connect(server.url, { token });
    await insider.hello("sec", project);
    const catalog = await insider.call<{ methods: Record<string, unknown> }>("discover");
    await insider.close();
    const names = Object.keys(catalog.methods);
    assert.ok(names.length > 20, `a real catalog (${names.length} methods)`);
    const strangers: [string, WebSocket][] = [
      ["no token", await open(server.url)],
      ["wrong Bearer", await open(server.url, { authorization: `Bearer ${token}x` })],
      ["wrong ?token=", await open(withQuery(server.url, "guess"))],
      ["empty Bearer", await open(server.url, { authorization: "Bearer " })],
    ];
    for (const [who, socket] of strangers) {
      for (const name of [...names, "no/such/method"]) {
        if (name === "ping") continue;
        const params =
          name === "rummy/hello" ? { name: "sec", projectRoot: project, token: "nope" } : {};
        const reply = await request(socket, name, params);
        assert.equal(reply.error?.code, UNAUTHORIZED, `${who}: ${name} → ${JSON.stringify(reply)}`);
        assert.ok(!reply.error.message.includes(token), "the error does not echo the token");
      }
      // A hello without any token is refused the same way; ping alone answers.
      const bare = await request(socket, "rummy/hello", { name: "sec", projectRoot: project });
      assert.equal(bare.error?.code, UNAUTHORIZED);
      assert.deepEqual((await request(socket, "ping")).result, {});
      socket.close();
    }
  });

  test("the token is accepted as Authorization: Bearer, ?token= or token in rummy/hello", async () => {
    const viaHeader = await open(server.url, { authorization: `Bearer ${token}` });
    assert.ok((await request(viaHeader, "discover")).result.methods);
    viaHeader.close();
    const viaQuery = await open(withQuery(server.url, token));
    assert.ok((await request(viaQuery, "discover")).result.methods);
    viaQuery.close();
    const viaHello = await open(server.url);
    assert.equal((await request(viaHello, "discover")).error.code, UNAUTHORIZED);
    const hello = await request(viaHello, "rummy/hello", {
      name: "sec",
      projectRoot: project,
      token,
    });
    assert.equal(hello.result.projectRoot, project, JSON.stringify(hello));
    assert.ok((await request(viaHello, "getRuns")).result);
    viaHello.close();
  });

  test("a foreign Origin is refused with 403 before the upgrade, even with the token", async () => {
    for (const origin of [
      "https://evil.example",
      "http://127.0.0.1.evil.example",
      "null",
      "http://localhost:1", // the right host on another port is another site
      "https://app.example.test.evil.example",
    ]) {
      const result = await upgrade(withQuery(server.url, token), { origin });
      assert.equal(result.kind, "refused", `${origin} must not get a socket`);
      assert.equal((result as { status: number }).status, 403);
      assert.match((result as { body: string }).body, /Origin .* is not allowed/);
    }
  });

  test("a browser-style client with ?token= and an allowed Origin works (the list, and the server's own page)", async () => {
    const port = new URL(server.url).port;
    for (const origin of [
      "https://app.example.test",
      `http://127.0.0.1:${port}`,
      `http://localhost:${port}`,
    ]) {
      const socket = await open(withQuery(server.url, token), { origin });
      const hello = await request(socket, "rummy/hello", { name: "sec", projectRoot: project });
      assert.equal(hello.result?.projectRoot, project, `${origin}: ${JSON.stringify(hello)}`);
      socket.close();
    }
    // An allowed Origin is not a credential: without the token it is still -32003.
    const tokenless = await open(server.url, { origin: "https://app.example.test" });
    assert.equal((await request(tokenless, "getRuns")).error.code, UNAUTHORIZED);
    tokenless.close();
  });

  test("a DNS-rebinding Host is refused with 403; loopback Hosts pass", async () => {
    const port = new URL(server.url).port;
    for (const host of [`evil.example:${port}`, `attacker.test`, `127.0.0.1.nip.io:${port}`]) {
      const result = await upgrade(server.url, {
        host,
        authorization: `Bearer ${token}`,
      });
      assert.equal(result.kind, "refused", `Host ${host} must not get a socket`);
      assert.equal((result as { status: number }).status, 403);
      assert.match((result as { body: string }).body, /Host .* is not this server/);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      const socket = await open(server.url, { host, authorization: `Bearer ${token}` });
      assert.deepEqual((await request(socket, "ping")).result, {});
      socket.close();
    }
  });

  test("yolo without the server's opt-in is 403 with a sentence saying how to allow it", async () => {
    const client = await RummyClient.connect(server.url, { token });
    try {
      await client.hello("sec", project);
      for (const path of ["run://", "run://named-yolo"]) {
        await assert.rejects(
          client.call("set", {
            path,
            body: "rm -rf everything",
            attributes: { model: "fake", mode: "act", yolo: true },
          }),
          (e: unknown) =>
            e instanceof RpcCallError &&
            (e.data as { status: number }).status === 403 &&
            /RUMMY_ALLOW_YOLO=1/.test(e.message),
        );
      }
      const runs = await client.call<{ alias: string }[]>("getRuns");
      assert.ok(!runs.some((r) => r.alias === "named-yolo"), "no run was started");
    } finally {
      await client.close();
    }
  });

  test("a hello with /, the home directory, a missing root or a file is refused; a symlinked root resolves", async () => {
    const client = await RummyClient.connect(server.url, { token });
    const link = join(tmpdir(), `rummy-sec-link-${process.pid}`);
    rmSync(link, { force: true });
    symlinkSync(project, link);
    try {
      const refused: [string, number, RegExp][] = [
        ["/", 403, /filesystem root or your home directory/],
        [userHome, 403, /filesystem root or your home directory/],
        [join(project, "does-not-exist"), 400, /does not exist/],
        [join(home, "token"), 400, /not a directory/],
        ["relative/dir", 400, /absolute/],
      ];
      for (const [root, status, message] of refused) {
        await assert.rejects(
          client.call("rummy/hello", { name: `refused-${status}`, projectRoot: root }),
          (e: unknown) =>
            e instanceof RpcCallError &&
            (e.data as { status: number }).status === status &&
            message.test(e.message),
          root,
        );
      }
      const viaLink = await client.hello("sec", link);
      assert.equal(viaLink.projectRoot, project, "the root is stored resolved through symlinks");
    } finally {
      rmSync(link, { force: true });
      await client.close();
    }
  });

  test("the CLI works with the default token and no configuration; another home's CLI is refused", async () => {
    llm.enqueue({ content: `<update status="200">through the token</update>` });
    const ok = await rummy(["ask", "--connect", server.url, "--model", "fake", "hi"], {
      home,
      env: llmEnv,
      cwd: project,
    });
    captured.push(ok.stdout, ok.stderr);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /through the token/);
    const other = tempHome();
    try {
      const refused = await rummy(["ask", "--connect", server.url, "--model", "fake", "hi"], {
        home: other.home,
        env: llmEnv,
        cwd: project,
      });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /refused the token[\s\S]*RUMMY_HOME\/token/);
    } finally {
      other.cleanup();
    }
    const printed = await rummy(["token"], { home });
    assert.equal(printed.stdout.trim(), token, "`rummy token` prints it for a browser client");
  });

  test("`rummy token --rotate` locks out the old token for new connections", async () => {
    const rotated = await rummy(["token", "--rotate"], { home });
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = rotated.stdout.trim();
    tokensSeen.push(fresh);
    assert.notEqual(fresh, token);
    assert.equal(statSync(join(home, "token")).mode & 0o777, 0o600);
    const old = await open(server.url, { authorization: `Bearer ${token}` });
    assert.equal((await request(old, "getRuns")).error.code, UNAUTHORIZED);
    old.close();
    const current = await open(server.url, { authorization: `Bearer ${fresh}` });
    assert.ok((await request(current, "discover")).result);
    current.close();
  });

  test("the token appears in no log, RPC log row, entry, error or doctor output", async () => {
    const doctor = await rummy(["doctor"], { home, env: llmEnv });
    captured.push(doctor.stdout, doctor.stderr);
    assert.match(doctor.stdout, /auth: token in .*token \(mode 600\)/);
    await server.stop();
    captured.push(server.output());
    const db = new Database(join(home, "rummy.db"), { readonly: true });
    try {
      const hellos = db
        .prepare(
          "SELECT params FROM rpc_log WHERE method = 'rummy/hello' AND json_extract(params, '$.token') IS NOT NULL",
        )
        .all() as { params: string }[];
      assert.ok(hellos.length > 0, "hellos that carried a token were logged");
      for (const row of hellos) assert.equal(JSON.parse(row.params).token, "[redacted]");
    } finally {
      db.close();
    }
    const files = readdirSync(home)
      .filter((f) => f.startsWith("rummy.db"))
      .map((f) => join(home, f));
    assert.ok(files.length > 0);
    for (const secret of tokensSeen) {
      for (const file of files)
        assert.ok(!readFileSync(file).includes(secret), `${file} holds no token`);
      for (const text of captured) assert.ok(!text.includes(secret), "no output holds the token");
    }
  });
});

describe("server-side opt-ins and limits", () => {
  test("with RUMMY_ALLOW_YOLO=1 a yolo run starts (the token is still needed)", async () => {
    const { home, cleanup } = tempHome();
    const project = realpathSync(mkdtempSync(join(tmpdir(), "rummy-sec-yolo-")));
    const server = await startServe(home, ["--port", "0"], { ...llmEnv, RUMMY_ALLOW_YOLO: "1" });
    try {
      const client = await RummyClient.connect(server.url, { token: server.token });
      await client.hello("yolo", project);
      llm.enqueue({ content: `<update status="200">allowed</update>` });
      const done = client.waitFor<{ run: string; status: number }>(
        "run/state",
        (s) => s.run === "allowed" && s.status === 200,
        20_000,
      );
      await client.call("set", {
        path: "run://allowed",
        body: "go",
        attributes: { model: "fake", mode: "act", yolo: true },
      });
      await done;
      await client.close();
      const stranger = await open(server.url);
      assert.equal(
        (await request(stranger, "set", { path: "run://x", attributes: { yolo: true } })).error
          .code,
        UNAUTHORIZED,
      );
      stranger.close();
    } finally {
      await server.stop();
      cleanup();
      rmSync(project, { recursive: true, force: true });
    }
  });

  test("RUMMY_PROJECT_ROOTS limits project roots to its parents, symlinks resolved", async () => {
    const { home, cleanup } = tempHome();
    const parent = realpathSync(mkdtempSync(join(tmpdir(), "rummy-sec-parent-")));
    const outside = realpathSync(mkdtempSync(join(tmpdir(), "rummy-sec-outside-")));
    mkdirSync(join(parent, "inside"));
    symlinkSync(outside, join(parent, "escape"));
    const server = await startServe(home, ["--port", "0"], { RUMMY_PROJECT_ROOTS: parent });
    try {
      const client = await RummyClient.connect(server.url, { token: server.token });
      assert.equal(
        (await client.hello("in", join(parent, "inside"))).projectRoot,
        join(parent, "inside"),
      );
      assert.equal((await client.hello("parent", parent)).projectRoot, parent);
      for (const root of [outside, join(parent, "escape"), "/"]) {
        await assert.rejects(
          client.call("rummy/hello", { name: "out", projectRoot: root }),
          (e: unknown) =>
            e instanceof RpcCallError &&
            (e.data as { status: number }).status === 403 &&
            /outside RUMMY_PROJECT_ROOTS|filesystem root/.test(e.message),
          root,
        );
      }
      await client.close();
    } finally {
      await server.stop();
      cleanup();
      rmSync(parent, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
    const badHome = tempHome();
    try {
      const bad = await rummy(["serve", "--port", "0"], {
        home: badHome.home,
        env: { RUMMY_PROJECT_ROOTS: "relative/dir" },
        timeoutMs: 30_000,
      });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /cannot serve: the rpc plugin failed to load: RUMMY_PROJECT_ROOTS/);
    } finally {
      badHome.cleanup();
    }
  });

  test("RUMMY_TOKEN=off is loud, loopback only, and open; RUMMY_TOKEN from the shell wins over the file", async () => {
    const { home, cleanup } = tempHome();
    try {
      const open_ = await startServe(home, ["--port", "0"], { RUMMY_TOKEN: "off" });
      try {
        assert.match(open_.output(), /auth: OFF \(RUMMY_TOKEN=off\)[^\n]*WARNING/);
        assert.match(
          open_.output(),
          /warn: auth is OFF \(RUMMY_TOKEN=off\)/,
          "and in the log, on stderr",
        );
        assert.equal(existsSync(join(home, "token")), false, "no token file is made");
        const socket = await open(open_.url);
        assert.ok((await request(socket, "discover")).result);
        socket.close();
      } finally {
        await open_.stop();
      }
      const wide = await rummy(["serve", "--host", "0.0.0.0", "--port", "0"], {
        home,
        env: { RUMMY_TOKEN: "off" },
        timeoutMs: 30_000,
      });
      assert.equal(wide.code, 1);
      assert.match(wide.stderr, /refusing to listen on 0\.0\.0\.0 without a token/);

      const fixed = await startServe(home, ["--port", "0"], { RUMMY_TOKEN: "from-the-shell" });
      try {
        assert.match(fixed.output(), /auth: token from RUMMY_TOKEN/);
        const wrong = await open(fixed.url);
        assert.equal((await request(wrong, "getRuns")).error.code, UNAUTHORIZED);
        wrong.close();
        const right = await open(fixed.url, { authorization: "Bearer from-the-shell" });
        assert.ok((await request(right, "discover")).result);
        right.close();
      } finally {
        await fixed.stop();
      }
    } finally {
      cleanup();
    }
  });
});
