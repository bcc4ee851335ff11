import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseModelOutput } from "../src/index.js";

const TAGS = new Set([
  "get",
  "set",
  "rm",
  "mv",
  "cp",
  "sh",
  "env",
  "ask_user",
  "known",
  "unknown",
  "think",
  "update",
]);
const parse = (text: string) => parseModelOutput(text, TAGS);
const shape = (text: string) => parse(text).commands.map((c) => [c.name, c.attributes, c.body]);

test("well-formed commands, in order, with prose kept apart", () => {
  const out = parse(
    `Let me look.\n<get path="src/app.ts"/>\n<known path="known://db">uses postgres</known>\n<update status="102">reading</update>`,
  );
  assert.deepEqual(
    out.commands.map((c) => [c.name, c.attributes, c.body]),
    [
      ["get", { path: "src/app.ts" }, ""],
      ["known", { path: "known://db" }, "uses postgres"],
      ["update", { status: "102" }, "reading"],
    ],
  );
  assert.equal(out.prose, "Let me look.");
  assert.deepEqual(out.issues, []);
});

test("attribute quoting styles, entities in attributes, case-insensitive names", () => {
  assert.deepEqual(shape(`<GET path='a b.ts' lines=3-9 flag/>`), [
    ["get", { path: "a b.ts", lines: "3-9", flag: "" }, ""],
  ]);
  assert.deepEqual(shape(`<set path="x" search="a &lt; b &amp;&amp; c" replace="&#x41;&#66;">`), [
    ["set", { path: "x", search: "a < b && c", replace: "AB" }, ""],
  ]);
});

test("bodies are verbatim: markup, entities, fences and other tags stay in the body", () => {
  const html = `<div class="a">&amp; <known>not a command</known></div>`;
  assert.deepEqual(shape(`<set path="a.html">\n${html}\n</set>`), [
    ["set", { path: "a.html" }, html],
  ]);
  const md = '# Title\n\n```xml\n<get path="x"/>\n```\n';
  assert.deepEqual(shape(`<set path="README.md">\n${md}</set>`), [
    ["set", { path: "README.md" }, md.replace(/\n$/, "")],
  ]);
  assert.deepEqual(shape(`<sh>grep -n "<div>" src/*.html | head</sh>`), [
    ["sh", {}, `grep -n "<div>" src/*.html | head`],
  ]);
  assert.deepEqual(shape(`<set path="a"><![CDATA[x < y ]]></set>`), [
    ["set", { path: "a" }, "x < y "],
  ]);
});

test("recovery: unclosed tags end at the next command; stray closers are issues", () => {
  const out = parse(`<known path="known://a">fact one\n<update status="200">done</update>`);
  assert.deepEqual(
    out.commands.map((c) => [c.name, c.body, c.recovered]),
    [
      ["known", "fact one", true],
      ["update", "done", false],
    ],
  );
  assert.match(out.issues[0]!.message, /not closed/);
  const stray = parse(`text </known> more <think>hmm</think>`);
  assert.deepEqual(
    stray.commands.map((c) => c.name),
    ["think"],
  );
  assert.match(stray.issues[0]!.message, /stray closing tag/);
  assert.deepEqual(shape(`<update status="200">unterminated at the end`), [
    ["update", { status: "200" }, "unterminated at the end"],
  ]);
});

test("XML fenced as a code block still parses; unknown tags are prose", () => {
  const out = parse('```xml\n<get path="a"/>\n<frobnicate>x</frobnicate>\n```');
  assert.deepEqual(
    out.commands.map((c) => c.name),
    ["get"],
  );
  assert.match(out.prose, /<frobnicate>x<\/frobnicate>/);
});

test("other dialects: tool_call JSON, function_calls/invoke, bare JSON calls", () => {
  assert.deepEqual(
    shape(`<tool_call>{"name": "get", "arguments": {"path": "src/a.ts"}}</tool_call>`),
    [["get", { path: "src/a.ts" }, ""]],
  );
  assert.deepEqual(
    shape(
      `<function_calls><invoke name="sh"><parameter name="command">npm test</parameter></invoke></function_calls>`,
    ),
    [["sh", {}, "npm test"]],
  );
  assert.deepEqual(
    shape(`I'll call {"tool": "known", "args": {"path": "known://x", "body": "fact"}} now`),
    [["known", { path: "known://x" }, "fact"]],
  );
  const bad = parse(`<tool_call>{"name": "launch_rockets"}</tool_call>`);
  assert.equal(bad.commands.length, 0);
  assert.equal(bad.issues.length, 1);
});

test("CRLF, unicode and emoji survive", () => {
  assert.deepEqual(shape(`<known path="known://ü">naïve ✓ 🚀\r\nline2</known>\r\n`), [
    ["known", { path: "known://ü" }, "naïve ✓ 🚀\r\nline2"],
  ]);
});

test("property: never throws on arbitrary text or tag soup", () => {
  const fragment = fc.oneof(
    fc.string(),
    fc.constantFrom(
      "<",
      ">",
      "/>",
      "</",
      "<set",
      "</set>",
      "<get path=",
      '"',
      "'",
      "<!--",
      "-->",
      "<![CDATA[",
      "]]>",
      '{"name":',
      "<tool_call>",
      '<invoke name="sh">',
      "&amp;",
      "&#xZZ;",
      "```",
    ),
  );
  fc.assert(
    fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => {
      const out = parse(parts.join(""));
      assert.ok(Array.isArray(out.commands));
      for (const c of out.commands) assert.ok(TAGS.has(c.name));
    }),
    { numRuns: 1000 },
  );
});

test("property: well-formed command sequences round-trip", () => {
  const name = fc.constantFrom("get", "set", "known", "unknown", "update", "sh");
  const attrValue = fc.string({ maxLength: 12 }).filter((s) => !/["&<>]/.test(s));
  const body = fc
    .string({ maxLength: 40 })
    .filter((s) => !s.includes("</") && !/^\r?\n|\r?\n[ \t]*$/.test(s) && !s.includes("<![CDATA["));
  const command = fc.record({ name, path: attrValue, body });
  fc.assert(
    fc.property(fc.array(command, { maxLength: 8 }), (commands) => {
      const text = commands
        .map((c) => `<${c.name} path="${c.path}">${c.body}</${c.name}>`)
        .join("\nprose\n");
      const out = parse(text);
      assert.deepEqual(
        out.commands.map((c) => [c.name, c.attributes.path, c.body]),
        commands.map((c) => [c.name, c.path, c.body]),
      );
    }),
    { numRuns: 500 },
  );
});

test("linear time: 2 MB adversarial inputs parse in a child that a quadratic parser would not finish in time", async () => {
  // Synchronous code cannot be interrupted by a test timeout, so the parse runs in a child process
  // with a generous kill timer (a hang guard, not a timing assertion).
  const { spawnSync } = await import("node:child_process");
  const script = `
    import { parseModelOutput } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};
    const tags = new Set(["get", "set", "known", "update"]);
    const inputs = ["<known>x ".repeat(120000), "<".repeat(1000000), '{"name": "get", '.repeat(60000), "<set path='a'>" + "</se".repeat(200000)];
    const counts = inputs.map((input) => parseModelOutput(input, tags).commands.length);
    console.log(JSON.stringify(counts));
  `;
  const res = spawnSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", script],
    { encoding: "utf8", timeout: 20_000 },
  );
  assert.equal(res.signal, null, "the parse finished before the kill timer");
  assert.equal(res.status, 0, res.stderr);
  assert.deepEqual(JSON.parse(res.stdout), [120000, 0, 0, 1]);
});
