import assert from "node:assert/strict";
import { test } from "node:test";
import { HookError, Hooks } from "../src/index.js";

test("events run in priority order, lower first, stable for equal priorities", async () => {
  const hooks = new Hooks();
  const order: string[] = [];
  hooks.on("e", () => void order.push("b50"), 50);
  hooks.on("e", () => void order.push("c100"));
  hooks.on(
    "e",
    async () => {
      await new Promise((r) => setTimeout(r, 5));
      order.push("a10");
    },
    10,
  );
  hooks.on("e", () => void order.push("d100"));
  await hooks.emit("e", {});
  assert.deepEqual(order, ["a10", "b50", "c100", "d100"]);
});

test("filters thread a value through subscribers in order", async () => {
  const hooks = new Hooks();
  hooks.filter<string, { n: number }>("f", (v, ctx) => `${v}+${ctx.n}`, 20);
  hooks.filter<string>("f", async (v) => `${v}+first`, 1);
  assert.equal(await hooks.apply("f", "start", { n: 7 }), "start+first+7");
  assert.equal(await hooks.apply("none", 42), 42);
});

test("an event error is reported and raised after the other subscribers ran", async () => {
  const hooks = new Hooks();
  const reported: HookError[] = [];
  hooks.onError((e) => reported.push(e));
  let ranAfter = false;
  hooks.on(
    "e",
    () => {
      throw new Error("kaput");
    },
    1,
    "plugin-a",
  );
  hooks.on(
    "e",
    () => {
      ranAfter = true;
    },
    2,
  );
  await assert.rejects(hooks.emit("e", null), (err: unknown) => {
    assert.ok(err instanceof HookError);
    assert.equal(err.owner, "plugin-a");
    assert.match(err.message, /kaput/);
    return true;
  });
  assert.equal(ranAfter, true);
  assert.equal(reported.length, 1);
  assert.equal(reported[0]!.hook, "e");
});

test("several failing subscribers surface together", async () => {
  const hooks = new Hooks();
  hooks.on("e", () => Promise.reject(new Error("one")));
  hooks.on("e", () => Promise.reject(new Error("two")));
  await assert.rejects(
    hooks.emit("e", null),
    (err: unknown) => err instanceof AggregateError && err.errors.length === 2,
  );
});

test("a filter error stops the chain and is raised", async () => {
  const hooks = new Hooks();
  const reported: string[] = [];
  hooks.onError((e) => reported.push(e.owner));
  let later = false;
  hooks.filter(
    "f",
    () => {
      throw new Error("bad value");
    },
    1,
    "plugin-b",
  );
  hooks.filter(
    "f",
    (v) => {
      later = true;
      return v;
    },
    2,
  );
  await assert.rejects(hooks.apply("f", 1), /plugin-b failed: bad value/);
  assert.equal(later, false);
  assert.deepEqual(reported, ["plugin-b"]);
});

test("unsubscribing removes exactly that subscriber", async () => {
  const hooks = new Hooks();
  const seen: number[] = [];
  const off = hooks.on("e", () => void seen.push(1));
  hooks.on("e", () => void seen.push(2));
  off();
  await hooks.emit("e", null);
  assert.deepEqual(seen, [2]);
  assert.throws(() => hooks.on("e", 5 as never), /function/);
});
