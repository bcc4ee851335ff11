import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { ProviderError } from "@rummy/core";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { xaiProvider } from "../src/index.js";

const KEY = "xai-secret-key-0987";
let llm: FakeLlm;
before(async () => {
  llm = await startFakeLlm();
});
after(() => llm.close());
beforeEach(() => llm.clear());

const messages = [
  { role: "system" as const, content: "be brief" },
  { role: "user" as const, content: "hi" },
];
const provider = (apiKey: string | null = KEY) =>
  xaiProvider({
    baseUrl: llm.url,
    apiKey: apiKey ?? undefined,
    retry: { maxAttempts: 3, baseDelayMs: 1 },
    // Patient: a loaded machine must not time out a scripted answer.
    idleTimeoutMs: 10_000,
  });
const kind = (k: string) => (e: unknown) =>
  e instanceof ProviderError && e.kind === k && !e.message.includes(KEY);

test("streams Responses API events: reasoning and text deltas, usage and cost from response.completed", async () => {
  llm.enqueue({
    content: "Grok says hi",
    reasoning: "greet",
    chunkSize: 5,
    promptTokens: 7,
    completionTokens: 4,
    cost: 0.0003,
  });
  const deltas: string[] = [];
  const result = await provider().complete({
    model: "grok-4",
    messages,
    onDelta: (d) => deltas.push(d.content ?? `(${d.reasoning})`),
  });
  assert.equal(result.content, "Grok says hi");
  assert.equal(result.reasoning, "greet");
  assert.deepEqual(result.usage, { promptTokens: 7, completionTokens: 4, totalTokens: 11 });
  assert.equal(result.cost, 0.0003);
  assert.deepEqual(deltas, ["(greet)", "Grok ", "says ", "hi"]);
  const req = llm.chatRequests().at(-1)!;
  assert.equal(req.path, "/v1/responses");
  assert.equal(req.headers.authorization, `Bearer ${KEY}`);
  assert.deepEqual(req.body.input, messages);
  assert.equal(req.body.stream, true);
});

test("non-streaming responses parse from output items", async () => {
  llm.enqueue({ content: "plain" });
  const result = await provider().complete({ model: "grok-4", messages });
  assert.equal(result.content, "plain");
  assert.equal(llm.chatRequests().at(-1)!.body.stream, false);
});

test("failures: no key, 401 not retried, 429 retried, a stream without response.completed is incomplete", async () => {
  await assert.rejects(provider(null).complete({ model: "m", messages }), /XAI_API_KEY/);
  llm.enqueue({ fail: "unauthorized" });
  await assert.rejects(provider().complete({ model: "m", messages }), kind("auth"));
  assert.equal(llm.pending(), 0);
  llm.enqueue({ fail: "rate_limit", retryAfterSeconds: 0 }, { content: "after" });
  assert.equal(
    (await provider().complete({ model: "m", messages, onDelta: () => {} })).content,
    "after",
  );
  llm.enqueue(
    { fail: "reset_mid_stream" },
    { fail: "reset_mid_stream" },
    { fail: "reset_mid_stream" },
  );
  await assert.rejects(
    provider().complete({ model: "m", messages, onDelta: () => {} }),
    kind("incomplete"),
  );
});
