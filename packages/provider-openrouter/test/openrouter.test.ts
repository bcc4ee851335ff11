import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ProviderError } from "@rummy/core";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { openRouterProvider } from "../src/index.js";

let llm: FakeLlm;
before(async () => {
  llm = await startFakeLlm({ contextLength: 65_536 });
});
after(() => llm.close());

const messages = [{ role: "user" as const, content: "hi" }];
const provider = () =>
  openRouterProvider({
    baseUrl: `${llm.origin}/api/v1`,
    apiKey: "or-key-123456",
    referer: "https://example.test/app",
    title: "rummy-test",
    retry: { maxAttempts: 3, baseDelayMs: 1 },
    // Patient: a loaded machine must not time out a scripted answer.
    idleTimeoutMs: 10_000,
  });

test("requests carry the app headers, the key, and ask for cost; answers parse with cost", async () => {
  llm.enqueue({ content: "hello", cost: 0.00042, completionTokens: 1 });
  const result = await provider().complete({
    model: "deepseek/deepseek-chat",
    messages,
    onDelta: () => {},
  });
  assert.equal(result.content, "hello");
  assert.equal(result.cost, 0.00042);
  const req = llm.chatRequests().at(-1)!;
  assert.equal(req.path, "/api/v1/chat/completions");
  assert.equal(req.headers["http-referer"], "https://example.test/app");
  assert.equal(req.headers["x-title"], "rummy-test");
  assert.equal(req.headers.authorization, "Bearer or-key-123456");
  assert.deepEqual(req.body.usage, { include: true });
  assert.equal(req.body.model, "deepseek/deepseek-chat");
});

test("context length from the models catalog, null for an unknown model (the engine's default applies)", async () => {
  const p = provider();
  assert.equal(await p.contextLength!("fake-model"), 65_536);
  assert.equal(await p.contextLength!("vendor/unknown"), null);
});

test("failures: 429 retried, a broken stream is incomplete, no key is a clear auth error", async () => {
  llm.enqueue({ fail: "rate_limit", retryAfterSeconds: 0 }, { content: "ok" });
  assert.equal((await provider().complete({ model: "m", messages })).content, "ok");
  llm.enqueue(
    { fail: "reset_mid_stream" },
    { fail: "reset_mid_stream" },
    { fail: "reset_mid_stream" },
  );
  await assert.rejects(
    provider().complete({ model: "m", messages, onDelta: () => {} }),
    (e: unknown) => e instanceof ProviderError && e.kind === "incomplete",
  );
  const keyless = openRouterProvider({ baseUrl: `${llm.origin}/api/v1`, referer: "r", title: "t" });
  await assert.rejects(keyless.complete({ model: "m", messages }), /OPENROUTER_API_KEY/);
});

test("a provider that echoes the key back in its error never gets it into the message", async () => {
  const { createServer } = await import("node:http");
  // Some gateways quote the offending header in their error body; the key must not travel on.
  const echo = createServer((req, res) => {
    res.writeHead(401, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `bad key: ${req.headers.authorization}` } }));
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  const { port } = echo.address() as { port: number };
  try {
    const p = openRouterProvider({
      baseUrl: `http://127.0.0.1:${port}/api/v1`,
      apiKey: "or-key-123456",
      referer: "r",
      title: "t",
      retry: { maxAttempts: 1 },
    });
    await assert.rejects(p.complete({ model: "m", messages }), (e: unknown) => {
      assert.ok(e instanceof ProviderError && e.kind === "auth", String(e));
      assert.match(e.message, /bad key/, "the provider's words are kept");
      assert.doesNotMatch(e.message, /or-key-123456/);
      return true;
    });
  } finally {
    echo.close();
  }
});
