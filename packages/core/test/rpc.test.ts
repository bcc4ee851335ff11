import assert from "node:assert/strict";
import { test } from "node:test";
import { RpcRegistry, serializedResult, serializedText, validateParams } from "../src/index.js";

test("params are validated against the method's schema", () => {
  const schema = {
    run: { type: "string", required: true, maxLength: 10 },
    limit: { type: "integer", min: 1, max: 100 },
    mode: { type: "string", enum: ["ask", "act"] },
    flags: { type: "object", properties: { yolo: { type: "boolean" } } },
    paths: { type: "array", items: { type: "string" } },
  } as const;
  assert.deepEqual(validateParams(schema, { run: "r1" }), []);
  assert.deepEqual(
    validateParams(schema, { run: "r1", extra: true }),
    [],
    "extra members are allowed",
  );
  assert.deepEqual(validateParams(schema, {}), ["run is required"]);
  assert.deepEqual(validateParams(schema, [1, 2]), ["params must be an object with named members"]);
  assert.deepEqual(
    validateParams(schema, {
      run: 5,
      limit: 1.5,
      mode: "x",
      flags: { yolo: "y" },
      paths: ["a", 2],
    }),
    [
      "run must be a string",
      "limit must be an integer",
      'mode must be one of "ask", "act"',
      "flags.yolo must be true or false",
      "paths[1] must be a string",
    ],
  );
  assert.deepEqual(validateParams(schema, { run: "x".repeat(11), limit: 0 }), [
    "run is longer than 10 characters",
    "limit must be ≥ 1",
  ]);
});

test("null is refused unless a member is nullable, required or not; nesting is limited with or without a schema", () => {
  const schema = {
    run: { type: "string", required: true },
    state: { type: "string" },
    outcome: { type: "string", nullable: true },
    attributes: { type: "object" },
  } as const;
  assert.deepEqual(validateParams(schema, { run: "r", outcome: null }), []);
  assert.deepEqual(validateParams(schema, { run: null, state: null, attributes: null }), [
    "run must not be null",
    "state must not be null",
    "attributes must not be null",
  ]);
  const nest = (depth: number): unknown => {
    let value: unknown = "leaf";
    for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
    return value;
  };
  assert.deepEqual(validateParams(schema, { run: "r", attributes: nest(64) }), []);
  assert.deepEqual(validateParams(schema, { run: "r", attributes: nest(65) }), [
    "attributes nests deeper than 64 levels",
  ]);
  assert.deepEqual(validateParams(undefined, { anything: nest(100_000) }), [
    "anything nests deeper than 64 levels",
  ]);
});

test("the registry refuses duplicates and bad names, and lists a catalog", () => {
  const rpc = new RpcRegistry();
  const off = rpc.register("a/b", { description: "d", handler: () => 1 }, "p1");
  assert.throws(
    () => rpc.register("a/b", { description: "d", handler: () => 1 }, "p2"),
    /already registered by p1/,
  );
  assert.throws(() => rpc.register("bad name", { description: "d", handler: () => 1 }), /invalid/);
  rpc.registerNotification("run/state", { description: "state changed" });
  assert.deepEqual(
    rpc.methods().map((m) => m.name),
    ["a/b"],
  );
  assert.deepEqual(
    rpc.notifications().map((n) => n.name),
    ["run/state"],
  );
  off();
  assert.equal(rpc.get("a/b"), undefined);
  const delivered: unknown[] = [];
  rpc.attachSink((method, params, target) => delivered.push([method, params, target]));
  rpc.notify("run/state", { s: 1 }, { projectId: 3 });
  assert.deepEqual(delivered, [["run/state", { s: 1 }, { projectId: 3 }]]);
});

test("a serialized result keeps its JSON text and is frozen all the way down", () => {
  const rows = [
    { run: "a", status: 200, tags: ["x"] },
    { run: "b", status: 102, tags: [] },
  ];
  const expected = JSON.stringify(rows);
  assert.equal(serializedResult(rows), rows, "the value itself comes back");
  assert.equal(serializedText(rows), expected);
  assert.ok(Object.isFrozen(rows) && Object.isFrozen(rows[0]) && Object.isFrozen(rows[0]!.tags));
  assert.throws(() => {
    (rows[0] as { status: number }).status = 500;
  }, TypeError);
  assert.throws(() => rows.push({ run: "c", status: 100, tags: [] }), TypeError);
  assert.equal(serializedText(rows), expected, "the text cannot go stale");
  assert.equal(serializedText([1, 2]), undefined, "an unmarked result has no text");
  assert.equal(serializedText("text"), undefined);
  assert.equal(serializedText(null), undefined);
});
