import assert from "node:assert/strict";
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { definePlugin, loadPlugins } from "../src/index.js";
import { tempCore } from "./helpers.js";

const fixtures = join(import.meta.dirname, "fixtures");

function homeWithPlugins(env: Record<string, string> = {}) {
  const made = tempCore({ RUMMY_LOAD_TIMEOUT_MS: "300", ...env });
  cpSync(join(fixtures, "plugins"), join(made.home, "plugins"), { recursive: true });
  mkdirSync(join(made.home, "node_modules"), { recursive: true });
  cpSync(
    join(fixtures, "packages", "rummy-plugin-fixture-echo"),
    join(made.home, "node_modules", "rummy-plugin-fixture-echo"),
    { recursive: true },
  );
  return made;
}

test("loads bundled plugins, plugin directories and npm packages; skips failures", async () => {
  const { core, cleanup } = homeWithPlugins({ RUMMY_PLUGIN_ECHO: "rummy-plugin-fixture-echo" });
  try {
    const bundled = definePlugin({
      name: "bundled-one",
      setup(ctx) {
        ctx.registerTool({ name: "noop", doc: "## <noop/>", handler: () => {} });
      },
    });
    const report = await loadPlugins(core, { bundled: [bundled] });
    assert.deepEqual(
      report.loaded.map((p) => [p.name, p.source.kind]),
      [
        ["bundled-one", "bundled"],
        ["greeter", "directory"],
        ["lone", "directory"],
        ["fixture-echo", "package"],
      ],
    );
    assert.deepEqual(
      report.failed.map((p) => p.name),
      ["broken"],
    );
    assert.match(report.failed[0]!.error, /broken on purpose/);
    // What loaded is live; what failed left nothing behind.
    assert.ok(core.tools.get("noop"));
    assert.equal(core.schemes.get("greeting")?.plugin, "greeter");
    assert.equal(
      await core.rpc.get("greeter/hello")!.handler({ who: "you" }, undefined as never),
      "hello you",
    );
    assert.ok(core.rpc.get("echo"));
    assert.equal(core.rpc.get("broken/half"), undefined);
    const payload = { seen: [] as string[] };
    await core.hooks.emit("fixture.ping", payload);
    assert.deepEqual(payload.seen, ["lone"]);
    assert.equal(core.plugins.find((p) => p.name === "fixture-echo")!.version, "1.2.3");
  } finally {
    await cleanup();
  }
});

test("a hanging plugin is cut off at the time limit and cannot register later", async () => {
  const { core, cleanup } = tempCore({ RUMMY_LOAD_TIMEOUT_MS: "200" });
  try {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let lateError: unknown;
    const hanging = definePlugin({
      name: "hanging",
      async setup(ctx) {
        await gate;
        try {
          ctx.registerRpc("hanging/late", { description: "too late", handler: () => 1 });
        } catch (error) {
          lateError = error;
        }
      },
    });
    const after = definePlugin({
      name: "after",
      setup(ctx) {
        ctx.registerRpc("after/ok", { description: "ok", handler: () => 1 });
      },
    });
    const started = Date.now();
    const report = await loadPlugins(core, {
      bundled: [hanging, after],
      pluginDir: "/nonexistent",
    });
    assert.ok(Date.now() - started < 2000);
    assert.deepEqual(
      report.failed.map((f) => f.name),
      ["hanging"],
    );
    assert.match(report.failed[0]!.error, /within 200 ms/);
    assert.deepEqual(
      report.loaded.map((l) => l.name),
      ["after"],
    );
    release();
    await new Promise((r) => setTimeout(r, 10));
    assert.match(String(lateError), /after setup is not allowed/);
    assert.equal(core.rpc.get("hanging/late"), undefined);
  } finally {
    await cleanup();
  }
});

test("a missing package or a module without setup is reported, not fatal", async () => {
  const { core, cleanup } = tempCore({ RUMMY_PLUGIN_GHOST: "rummy-plugin-does-not-exist" });
  try {
    const report = await loadPlugins(core, { pluginDir: "/nonexistent" });
    assert.equal(report.loaded.length, 0);
    assert.equal(report.failed.length, 1);
    assert.equal(report.failed[0]!.source.kind, "package");
  } finally {
    await cleanup();
  }
});

test("RUMMY_PLUGIN_<NAME>=off disables a bundled plugin; duplicates are refused", async () => {
  const { core, cleanup } = tempCore({ RUMMY_PLUGIN_OPTIONAL: "off" });
  try {
    const optional = definePlugin({ name: "optional", setup() {} });
    const twin = definePlugin({ name: "twin", setup() {} });
    const report = await loadPlugins(core, {
      bundled: [optional, twin, twin],
      pluginDir: "/nonexistent",
    });
    assert.deepEqual(
      report.loaded.map((p) => p.name),
      ["twin"],
    );
    assert.match(report.failed[0]!.error, /already loaded/);
  } finally {
    await cleanup();
  }
});
