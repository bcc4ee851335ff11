import assert from "node:assert/strict";
import { test } from "node:test";
import { definePlugin, type Engine, RummyError } from "../src/index.js";
import { tempCore } from "./helpers.js";

/** An engine that records what it is asked, for checking how the core installs one. */
function stubEngine(label: string): Engine & { label: string } {
  const refuse = () => {
    throw new Error(`${label}: not in this test`);
  };
  return {
    label,
    submit: refuse,
    checkFlags: () => {},
    fork: refuse,
    cancel: async () => refuse(),
    resolve: async () => refuse(),
    settled: async () => refuse(),
    isActive: () => false,
    invokeTool: async () => refuse(),
    recover: () => ({ interrupted: 0, resumed: 0 }),
    shutdown: async () => {},
  };
}

test("without an engine plugin, core.engine says which package to add (status 503)", async () => {
  const { core, cleanup } = tempCore();
  try {
    assert.throws(
      () => core.engine,
      (error: unknown) =>
        error instanceof RummyError &&
        error.status === 503 &&
        /no engine loaded: add @rummy\/engine/.test(error.message),
    );
    // The schemes the engine writes are there regardless: tools and readers rely on them.
    assert.equal(core.schemes.get("log")?.category, "logging");
    assert.equal(core.schemes.get("prompt")?.category, "prompt");
  } finally {
    await cleanup();
  }
});

test("a plugin installs the engine, as an object or a factory of the core; a second one is refused", async () => {
  const { core, cleanup } = tempCore();
  try {
    const first = stubEngine("first");
    let madeFor: unknown;
    const loaded = await core.use(
      definePlugin({
        name: "engine-a",
        setup: (ctx) =>
          ctx.provideEngine((c) => {
            madeFor = c;
            return first;
          }),
      }),
    );
    assert.ok(!("error" in loaded));
    assert.equal(madeFor, core, "the factory is given the core");
    assert.equal(core.engine, first);
    const second = await core.use(
      definePlugin({ name: "engine-b", setup: (ctx) => ctx.provideEngine(stubEngine("second")) }),
    );
    assert.ok("error" in second);
    assert.match(second.error, /an engine is already installed by plugin engine-a/);
    assert.equal(core.engine, first, "the first engine stays");
  } finally {
    await cleanup();
  }
});

test("a plugin that fails after installing its engine leaves none behind; a later one installs", async () => {
  const { core, cleanup } = tempCore();
  try {
    const failed = await core.use(
      definePlugin({
        name: "broken-engine",
        setup: (ctx) => {
          ctx.provideEngine(stubEngine("broken"));
          throw new Error("broken after install");
        },
      }),
    );
    assert.ok("error" in failed);
    assert.throws(() => core.engine, /no engine loaded/);
    const replacement = stubEngine("replacement");
    await core.use(
      definePlugin({ name: "engine", setup: (ctx) => ctx.provideEngine(replacement) }),
    );
    assert.equal(core.engine, replacement);
  } finally {
    await cleanup();
  }
});

test("an engine cannot be installed after its plugin's setup", async () => {
  const { core, cleanup } = tempCore();
  try {
    let late: ((engine: Engine) => void) | undefined;
    await core.use(
      definePlugin({
        name: "late",
        setup: (ctx) => {
          late = (engine) => ctx.provideEngine(engine);
        },
      }),
    );
    assert.throws(() => late!(stubEngine("late")), /provideEngine after setup is not allowed/);
    assert.throws(() => core.engine, /no engine loaded/);
  } finally {
    await cleanup();
  }
});
