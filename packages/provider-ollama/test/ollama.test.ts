import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { ProviderError } from "@rummy/core";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { ollamaProvider } from "../src/index.js";

let llm: FakeLlm;
before(async () => {
  llm = await startFakeLlm({ contextLength: 8192 });
});
after(() => llm.close());
beforeEach(() => llm.clear());

const messages = [
  { role: "system" as const, content: "be brief" },
  { role: "user" as const, content: "hi" },
];
// Patient by default so a loaded machine never times out a scripted answer; the hang check
// passes a short idle timeout of its own.
const provider = (idleTimeoutMs = 10_000) =>
  ollamaProvider({
    baseUrl: llm.origin,
    retry: { maxAttempts: 3, baseDelayMs: 1 },
    idleTimeoutMs,
  });
const kind = (k: string) => (e: unknown) => e instanceof ProviderError && e.kind === k;

test("streams NDJSON: thinking then content deltas; usage from eval counts", async () => {
  llm.enqueue({
    content: "Hello there",
    reasoning: "short greeting",
    chunkSize: 4,
    promptTokens: 9,
    completionTokens: 3,
  });
  const deltas: string[] = [];
  const result = await provider().complete({
    model: "qwen2.5",
    messages,
    temperature: 0.1,
    onDelta: (d) => deltas.push(d.content ?? `(${d.reasoning})`),
  });
  assert.equal(result.content, "Hello there");
  assert.equal(result.reasoning, "short greeting");
  assert.deepEqual(result.usage, { promptTokens: 9, completionTokens: 3, totalTokens: 12 });
  assert.deepEqual(deltas, ["(short greeting)", "Hell", "o th", "ere"]);
  const req = llm.chatRequests().at(-1)!;
  assert.equal(req.path, "/api/chat");
  assert.equal(req.body.model, "qwen2.5");
  assert.equal(req.body.stream, true);
  assert.deepEqual(req.body.options, { temperature: 0.1 });
  assert.deepEqual(req.body.messages, messages);
  assert.equal(req.headers.authorization, undefined, "no key is sent");
});

test("non-streaming answers and context length from model info", async () => {
  llm.enqueue({ content: "whole" });
  assert.equal((await provider().complete({ model: "m", messages })).content, "whole");
  assert.equal(llm.chatRequests().at(-1)!.body.stream, false);
  assert.equal(await provider().contextLength!("m"), 8192);
});

test("failures: 500 retried; a cut stream is incomplete; a bad line is malformed; a hang times out", async () => {
  llm.enqueue({ fail: "server_error" }, { content: "recovered" });
  assert.equal(
    (await provider().complete({ model: "m", messages, onDelta: () => {} })).content,
    "recovered",
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
  llm.enqueue({ fail: "malformed_sse" });
  await assert.rejects(
    provider().complete({ model: "m", messages, onDelta: () => {} }),
    kind("malformed"),
  );
  llm.enqueue({ fail: "hang" }, { fail: "hang" }, { fail: "hang" });
  await assert.rejects(provider(300).complete({ model: "m", messages }), kind("timeout"));
  llm.enqueue({ fail: "context_too_long" });
  await assert.rejects(provider().complete({ model: "m", messages }), kind("context_length"));
});
