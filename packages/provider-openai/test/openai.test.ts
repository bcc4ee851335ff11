import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { type Provider, ProviderError } from "@rummy/core";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { chatCompletionsProvider } from "../src/index.js";

const KEY = "sk-test-SECRET-key-1234567890";
let llm: FakeLlm;
let provider: Provider;
/** Gives up on a silent provider quickly: only for the checks that script a hang. */
let impatient: Provider;

before(async () => {
  llm = await startFakeLlm();
  provider = chatCompletionsProvider({
    name: "openai",
    baseUrl: llm.url,
    apiKey: KEY,
    // Patient: a loaded machine must not time out a scripted answer and retry into an empty script.
    idleTimeoutMs: 10_000,
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, deadlineMs: 30_000 },
  });
  impatient = chatCompletionsProvider({
    name: "openai",
    baseUrl: llm.url,
    apiKey: KEY,
    idleTimeoutMs: 300,
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, deadlineMs: 10_000 },
  });
});
after(() => llm.close());
beforeEach(() => {
  llm.requests.length = 0;
  assert.equal(llm.pending(), 0, "the previous test consumed its script");
});

const messages = [
  { role: "system" as const, content: "You are terse." },
  { role: "user" as const, content: "Say hi" },
];

async function failsWith(promise: Promise<unknown>, kind: string): Promise<ProviderError> {
  let caught: unknown;
  await assert.rejects(promise, (e: unknown) => {
    caught = e;
    return e instanceof ProviderError && e.kind === kind;
  });
  const error = caught as ProviderError;
  assert.doesNotMatch(error.message, new RegExp(KEY), "the API key never appears in errors");
  return error;
}

describe("requests and answers", () => {
  test("a plain request: shape, content, usage, cost, finish reason", async () => {
    llm.enqueue({ content: "hi", promptTokens: 11, completionTokens: 2, cost: 0.0001 });
    const result = await provider.complete({ model: "gpt-test", messages, temperature: 0.2 });
    assert.equal(result.content, "hi");
    assert.deepEqual(result.usage, { promptTokens: 11, completionTokens: 2, totalTokens: 13 });
    assert.equal(result.cost, 0.0001);
    assert.equal(result.finishReason, "stop");
    const [req] = llm.chatRequests();
    assert.equal(req!.path, "/v1/chat/completions");
    assert.equal(req!.headers.authorization, `Bearer ${KEY}`);
    assert.equal(req!.body.model, "gpt-test");
    assert.equal(req!.body.stream, false);
    assert.equal(req!.body.temperature, 0.2);
    assert.deepEqual(req!.body.messages, messages);
  });

  test("streaming delivers reasoning and content deltas in order while the model writes", async () => {
    llm.enqueue({
      content: "The answer is 42.",
      reasoning: "think think",
      chunkSize: 3,
      completionTokens: 5,
    });
    const deltas: string[] = [];
    const result = await provider.complete({
      model: "gpt-test",
      messages,
      onDelta: (d) =>
        deltas.push(d.reasoning !== undefined ? `r:${d.reasoning}` : `c:${d.content}`),
    });
    assert.equal(result.content, "The answer is 42.");
    assert.equal(result.reasoning, "think think");
    assert.equal(result.usage?.completionTokens, 5);
    assert.ok(deltas.length > 5);
    assert.equal(
      deltas
        .filter((d) => d.startsWith("c:"))
        .map((d) => d.slice(2))
        .join(""),
      "The answer is 42.",
    );
    assert.ok(
      deltas.findIndex((d) => d.startsWith("c:")) > deltas.findIndex((d) => d.startsWith("r:")),
    );
    const [req] = llm.chatRequests();
    assert.equal(req!.body.stream, true);
    assert.deepEqual(req!.body.stream_options, { include_usage: true });
  });

  test("context length comes from the models endpoint", async () => {
    const p = chatCompletionsProvider({ name: "openai", baseUrl: llm.url, apiKey: KEY });
    assert.equal(await p.contextLength!("fake-model"), 32_768);
    assert.equal(await p.contextLength!("unknown-model"), null);
  });
});

describe("failures", () => {
  test("429 with Retry-After is retried, then succeeds", async () => {
    llm.enqueue({ fail: "rate_limit", retryAfterSeconds: 0.05 }, { content: "after the wait" });
    const started = Date.now();
    const result = await provider.complete({ model: "m", messages });
    assert.equal(result.content, "after the wait");
    assert.equal(llm.chatRequests().length, 2);
    assert.ok(Date.now() - started >= 45, "waited at least Retry-After");
  });

  test("500s are retried up to the attempt limit, then reported", async () => {
    llm.enqueue(
      { fail: "server_error" },
      { fail: "server_error", status: 503 },
      { fail: "server_error" },
    );
    const error = await failsWith(provider.complete({ model: "m", messages }), "server");
    assert.match(error.message, /answered 500/);
    assert.equal(llm.chatRequests().length, 3);
  });

  test("401 is permanent: not retried", async () => {
    llm.enqueue({ fail: "unauthorized" });
    await failsWith(provider.complete({ model: "m", messages }), "auth");
    assert.equal(llm.chatRequests().length, 1);
  });

  test("context too long becomes kind context_length (status 413), not retried", async () => {
    llm.enqueue({ fail: "context_too_long" });
    const error = await failsWith(provider.complete({ model: "m", messages }), "context_length");
    assert.equal(error.status, 413);
    assert.equal(llm.chatRequests().length, 1);
  });

  test("a hung provider times out and is retried; a second hang is reported as timeout", async () => {
    llm.enqueue({ fail: "hang" }, { fail: "hang" }, { fail: "hang" });
    await failsWith(impatient.complete({ model: "m", messages }), "timeout");
    assert.equal(llm.chatRequests().length, 3);
  });

  test("a stream cut mid-answer is never returned as complete; a retry recovers", async () => {
    llm.enqueue(
      { fail: "reset_mid_stream", partial: "The ans" },
      { content: "The answer, whole." },
    );
    const seen: string[] = [];
    const result = await provider.complete({
      model: "m",
      messages,
      onDelta: (d) => d.content && seen.push(d.content),
    });
    assert.equal(result.content, "The answer, whole.");
    assert.equal(llm.chatRequests().length, 2);
    const single = chatCompletionsProvider({
      name: "openai",
      baseUrl: llm.url,
      apiKey: KEY,
      retry: { maxAttempts: 1 },
    });
    llm.enqueue({ fail: "reset_mid_stream", partial: "half" });
    await failsWith(single.complete({ model: "m", messages, onDelta: () => {} }), "incomplete");
  });

  test("malformed SSE is a malformed error", async () => {
    llm.enqueue({ fail: "malformed_sse" });
    await failsWith(provider.complete({ model: "m", messages, onDelta: () => {} }), "malformed");
  });

  test("an aborted request stops at once and is not retried", async () => {
    llm.enqueue({ fail: "hang" });
    const controller = new AbortController();
    const pending = provider.complete({ model: "m", messages, signal: controller.signal });
    // Abort once the request is with the provider, however slow the machine is to send it.
    while (llm.chatRequests().length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await failsWith(pending, "aborted");
    assert.equal(llm.chatRequests().length, 1);
  });

  test("an unreachable provider is a network error", async () => {
    const dead = chatCompletionsProvider({
      name: "openai",
      baseUrl: "http://127.0.0.1:9/v1",
      apiKey: KEY,
      retry: { maxAttempts: 2, baseDelayMs: 1 },
    });
    await failsWith(dead.complete({ model: "m", messages }), "network");
  });

  test("a connection dropped before any answer (a pooled socket closed under it) is retried", async () => {
    const { createServer } = await import("node:http");
    let calls = 0;
    const flaky = createServer((req, res) => {
      calls++;
      // First request: the socket dies with no response, as when a keep-alive connection is
      // closed by the server just as the request goes out.
      if (calls === 1) return req.socket.destroy();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          choices: [{ message: { content: "second try" }, finish_reason: "stop" }],
        }),
      );
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", r));
    const { port } = flaky.address() as { port: number };
    try {
      const p = chatCompletionsProvider({
        name: "openai",
        baseUrl: `http://127.0.0.1:${port}/v1`,
        apiKey: KEY,
        retry: { maxAttempts: 2, baseDelayMs: 1 },
      });
      assert.equal((await p.complete({ model: "m", messages })).content, "second try");
      assert.equal(calls, 2);
    } finally {
      flaky.close();
    }
  });

  test("the official endpoint without a key fails clearly, naming the variable", async () => {
    const keyless = chatCompletionsProvider({
      name: "openai",
      baseUrl: llm.url,
      requireApiKey: true,
      apiKeyVariable: "OPENAI_API_KEY",
    });
    const error = await failsWith(keyless.complete({ model: "m", messages }), "auth");
    assert.match(error.message, /OPENAI_API_KEY/);
    assert.equal(llm.chatRequests().length, 0);
  });
});
