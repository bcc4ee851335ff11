import assert from "node:assert/strict";
import { test } from "node:test";
import { ProviderError } from "@rummy/core";
import fc from "fast-check";
import {
  classifyHttpError,
  parseNdjson,
  parseSse,
  redact,
  retryAfterMs,
  withRetries,
} from "../src/index.js";

async function* bytes(parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield new TextEncoder().encode(p);
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test("SSE events parse the same however the bytes are split", async () => {
  const text =
    ': comment\r\ndata: {"a":1}\r\n\r\nevent: done\ndata: line1\ndata: line2\n\ndata:no-space\n\n';
  const expected = [
    { event: null, data: '{"a":1}' },
    { event: "done", data: "line1\nline2" },
    { event: null, data: "no-space" },
  ];
  assert.deepEqual(await collect(parseSse(bytes([text]))), expected);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 8 }),
      async (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const parts: string[] = [];
        let last = 0;
        for (const p of points) {
          parts.push(text.slice(last, p));
          last = p;
        }
        parts.push(text.slice(last));
        assert.deepEqual(await collect(parseSse(bytes(parts))), expected);
      },
    ),
    { numRuns: 200 },
  );
});

test("NDJSON parses across chunk splits; a bad line is a malformed error", async () => {
  assert.deepEqual(await collect(parseNdjson(bytes(['{"a":', '1}\n{"b":2}\n', '{"c":3}']))), [
    { a: 1 },
    { b: 2 },
    { c: 3 },
  ]);
  await assert.rejects(
    collect(parseNdjson(bytes(["{oops}\n"]))),
    (e: unknown) => e instanceof ProviderError && e.kind === "malformed",
  );
});

test("HTTP errors are classified: rate limit, server, auth, context length, bad request", () => {
  const h = (retry?: string) => ({
    get: (n: string) => (n === "retry-after" ? (retry ?? null) : null),
  });
  const rl = classifyHttpError("p", 429, '{"error":{"message":"slow down"}}', h("2"));
  assert.equal(rl.kind, "rate_limit");
  assert.equal(rl.retryAfterMs, 2000);
  assert.equal(rl.retryable, true);
  assert.equal(classifyHttpError("p", 503, "", h()).kind, "server");
  assert.equal(classifyHttpError("p", 401, "", h()).retryable, false);
  const ctx = classifyHttpError(
    "p",
    400,
    '{"error":{"message":"maximum context length is 8k"}}',
    h(),
  );
  assert.equal(ctx.kind, "context_length");
  assert.equal(ctx.status, 413);
  const bad = classifyHttpError(
    "p",
    404,
    '{"error":{"message":"model sk-abcdef not found"}}',
    h(),
    ["sk-abcdef"],
  );
  assert.equal(bad.kind, "bad_request");
  assert.equal(bad.status, 404);
  assert.doesNotMatch(bad.message, /sk-abcdef/);
  assert.equal(retryAfterMs("nonsense"), null);
  assert.equal(
    redact("key=abcd1234 again abcd1234", ["abcd1234"]),
    "key=[redacted] again [redacted]",
  );
});

test("retries: temporary failures retried with backoff, permanent ones not, deadline respected", async () => {
  let calls = 0;
  const value = await withRetries(
    async () => {
      calls++;
      if (calls < 3) throw new ProviderError("server", "boom");
      return "ok";
    },
    { baseDelayMs: 1, random: () => 1 },
  );
  assert.equal(value, "ok");
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    withRetries(async () => {
      calls++;
      throw new ProviderError("auth", "no", { retryable: false });
    }),
    /no/,
  );
  assert.equal(calls, 1);

  calls = 0;
  const delays: number[] = [];
  await assert.rejects(
    withRetries(
      async () => {
        calls++;
        throw new ProviderError("rate_limit", "wait", { retryAfterMs: 5000 });
      },
      { deadlineMs: 1000, onRetry: (_e, _n, d) => delays.push(d) },
    ),
    /wait/,
  );
  assert.equal(calls, 1, "a Retry-After beyond the deadline ends the attempts");

  calls = 0;
  await assert.rejects(
    withRetries(
      async () => {
        calls++;
        throw new TypeError("fetch failed");
      },
      { maxAttempts: 2, baseDelayMs: 1 },
    ),
    (e: unknown) => e instanceof ProviderError && e.kind === "network",
  );
  assert.equal(calls, 2);
});
