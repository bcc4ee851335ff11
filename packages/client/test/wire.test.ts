import assert from "node:assert/strict";
import { test } from "node:test";
import { wire } from "../src/index.js";

// Frames as rummy 2.0.1's server sends them (shapes read from its ClientConnection and rpc plugin).
const upstreamState = {
  run: "gpt_1733140000000",
  turn: 2,
  status: 102,
  summary: "done so far",
  history: [
    {
      tool: "prompt",
      path: "prompt://1",
      status: 200,
      body: "fix it",
      attributes: { mode: "act" },
      turn: 1,
    },
  ],
  unknowns: [{ path: "unknown://db", body: "which db?" }],
  telemetry: {
    modelAlias: "gpt",
    model: "openai/gpt-4o",
    temperature: null,
    context_size: 128000,
    context_tokens: 2100,
    prompt_tokens: 4000,
    completion_tokens: 300,
    total_tokens: 4300,
    cost: 0.01,
  },
};

test("2.0.1's own frames satisfy the schema", () => {
  assert.ok(wire.RunStateParams.safeParse(upstreamState).success);
  assert.ok(
    wire.RunStateParams.safeParse({ ...upstreamState, summary: undefined, telemetry: null })
      .success,
    "per-dispatch snapshots carry telemetry: null and no summary",
  );
  assert.ok(wire.RunProgressParams.safeParse({ run: "r", turn: 1, status: "retrying" }).success);
  assert.ok(
    wire.RunProposalParams.safeParse({
      run: "r",
      proposed: [
        {
          path: "set://turn_1/src/app.js",
          body: "",
          attributes: JSON.stringify({ file: "src/app.js", patch: "--- a\n+++ b\n", merge: "" }),
          turn: 1,
        },
      ],
    }).success,
  );
  assert.ok(wire.UiRenderParams.safeParse({ text: "Hel", append: true }).success);
  assert.ok(
    wire.DiscoverResult.safeParse({
      methods: {
        getRun: { description: "Full run detail.", params: { run: "string — run alias" } },
      },
      notifications: { "ui/render": { description: "Streaming output." } },
    }).success,
  );
  assert.ok(
    wire.GetRunsResult.safeParse([
      { run: "a", status: 200, turn: 3, summary: null, created: "2026-12-02 14:40:00" },
    ]).success,
  );
});

test("the shapes 2.0.1 clients could not parse are refused", () => {
  const issues = (r: { success: boolean; error?: { issues: { path: unknown[] }[] } }) =>
    r.success ? [] : r.error!.issues.map((i) => i.path.join("."));
  // Before issue 14: run/state without the snapshot, run/progress with `phase` only,
  // proposal attributes as an object, params described as objects, ISO dates.
  assert.deepEqual(
    issues(wire.RunStateParams.safeParse({ run: "r", status: 200, turn: null, reason: "x" })),
    ["turn", "history", "unknowns", "telemetry"],
  );
  assert.deepEqual(
    issues(wire.RunProgressParams.safeParse({ run: "r", turn: 1, phase: "streaming" })),
    ["status"],
  );
  assert.deepEqual(
    issues(
      wire.RunProposalParams.safeParse({
        run: "r",
        proposed: [{ path: "p", body: "", attributes: { command: "ls" }, turn: 1 }],
      }),
    ),
    ["proposed.0.attributes"],
  );
  assert.deepEqual(
    issues(
      wire.RunProposalParams.safeParse({
        run: "r",
        proposed: [{ path: "p", body: "", attributes: "[1]", turn: 1 }],
      }),
    ),
    ["proposed.0.attributes"],
    "attributes must encode an object",
  );
  assert.deepEqual(
    issues(
      wire.DiscoverResult.safeParse({
        methods: { set: { description: "d", params: { path: { type: "string" } } } },
        notifications: {},
      }),
    ),
    ["methods.set.params.path"],
  );
  assert.deepEqual(
    issues(
      wire.RunRow.safeParse({
        run: "a",
        status: 200,
        turn: 1,
        summary: null,
        created: "2026-12-02T14:40:00.000Z",
      }),
    ),
    ["created"],
  );
});
