import assert from "node:assert/strict";
import { test } from "node:test";
import { startFakeLlm } from "../src/index.js";

const chat = (url: string, body: unknown) =>
  fetch(`${url}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

test("scripted replies are served in order, then a handler, then a clear 500", async () => {
  const llm = await startFakeLlm({ replies: [{ content: "one" }, { content: "two" }] });
  try {
    const msgs = { model: "m", messages: [{ role: "user", content: "x" }] };
    assert.equal(
      ((await (await chat(llm.url, msgs)).json()) as any).choices[0].message.content,
      "one",
    );
    assert.equal(
      ((await (await chat(llm.url, msgs)).json()) as any).choices[0].message.content,
      "two",
    );
    const empty = await chat(llm.url, msgs);
    assert.equal(empty.status, 500);
    assert.match(((await empty.json()) as any).error.message, /no scripted reply/);
    llm.setHandler((req) => ({ content: `echo ${req.body.messages.at(-1).content}` }));
    assert.equal(
      ((await (await chat(llm.url, msgs)).json()) as any).choices[0].message.content,
      "echo x",
    );
    assert.equal(llm.chatRequests().length, 4);
    assert.equal(llm.chatRequests()[0]!.body.model, "m");
  } finally {
    await llm.close();
  }
});

test("bad requests and unknown paths are refused; a hung request ends when the server closes", async () => {
  const llm = await startFakeLlm({ replies: [{ fail: "hang" }] });
  assert.equal((await chat(llm.url, { model: "m" })).status, 400);
  assert.equal((await fetch(`${llm.origin}/nowhere`)).status, 404);
  const hung = chat(llm.url, { model: "m", messages: [] }).then(
    () => "answered",
    () => "dropped",
  );
  await new Promise((r) => setTimeout(r, 30));
  await llm.close();
  assert.equal(await hung, "dropped");
});

test("a streamed answer is SSE chunks, a finish chunk with usage, and [DONE]", async () => {
  const llm = await startFakeLlm({
    replies: [{ content: "abcdef", chunkSize: 2, promptTokens: 3, completionTokens: 2 }],
  });
  try {
    const res = await chat(llm.url, {
      model: "m",
      stream: true,
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const events = (await res.text())
      .split("\n\n")
      .filter(Boolean)
      .map((e) => e.replace(/^data: /, ""));
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? "").join(""), "abcdef");
    assert.deepEqual(chunks.at(-1).usage, {
      prompt_tokens: 3,
      completion_tokens: 2,
      total_tokens: 5,
    });
    assert.equal(chunks.at(-1).choices[0].finish_reason, "stop");
  } finally {
    await llm.close();
  }
});
