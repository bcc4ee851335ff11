import assert from "node:assert/strict";
import { test } from "node:test";
import rpc from "@rummy/plugin-rpc";
import { startRummy } from "../src/index.js";

test("startRummy gives a server, a greeted client and a fake LLM on ephemeral loopback ports", async () => {
  const h = await startRummy({ plugins: [rpc] });
  try {
    assert.match(h.server.url, /^ws:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(h.report.failed.length, 0);
    const models = await h.client.call<{ alias: string; actual: string }[]>("getModels");
    assert.deepEqual(models, [
      { alias: "fake", actual: "openai/fake-model", context_length: null },
    ]);
    const second = await h.connect();
    assert.deepEqual(await second.call("getRuns"), []);
    assert.match(h.llm!.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  } finally {
    await h.close();
  }
});
