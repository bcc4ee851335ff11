import assert from "node:assert/strict";
import { test } from "node:test";
import { ReplyText } from "../src/index.js";

test("only <update> and <think> bodies come out, chunk by chunk, without tags or half entities", () => {
  const reply = new ReplyText();
  const chunks = [
    "<think>look at",
    " the file</th",
    'ink>\n<get path="a.ts"/>\n<update status="102">Fish &am',
    "p; chips <",
    "/update>",
  ];
  const out = chunks.map((c) => reply.push(c));
  const message = out.map((o) => o.message).join("") + reply.end().message;
  const thought = out.map((o) => o.thought).join("");
  assert.equal(thought, "look at the file");
  assert.equal(message, "Fish & chips");
  assert.ok(out.every((o) => !o.message.includes("<") && !o.message.includes("&am")));
});

test("several updates are joined with a blank line; nothing is repeated", () => {
  const reply = new ReplyText();
  let message = reply.push('<update status="102">one</update>').message;
  message += reply.push('<sh>ls</sh><update status="200">two').message;
  message += reply.end().message;
  assert.equal(message, "one\n\ntwo");
  assert.equal(reply.message, "one\n\ntwo");
});
