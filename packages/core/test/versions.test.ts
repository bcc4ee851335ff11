import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CORE_VERSION, checkCoreRange, loadPlugins, RummyError } from "../src/index.js";
import { tempCore } from "./helpers.js";

test("checkCoreRange takes the npm ranges that include this core and refuses the rest, naming the package", () => {
  const [major, minor] = CORE_VERSION.split(".").map(Number) as [number, number];
  const manifest = (range: string) => ({
    dir: "/nowhere",
    name: "rummy-plugin-x",
    version: "1.0.0",
    peerDependencies: { "@rummy/core": range },
  });
  for (const range of [
    `^${major}.0.0`,
    `~${major}.${minor}`,
    `>=${major}.0.0 <${major + 1}`,
    `^${major + 5}.0.0 || ^${major}.0.0`,
    `${major}.x`,
    "*",
    "workspace:*",
  ]) {
    assert.doesNotThrow(() => checkCoreRange(manifest(range), "x"), range);
  }
  for (const range of [`^${major + 1}.0.0`, `<${major}`, `^${major + 1}.0.0-beta.0`]) {
    assert.throws(
      () => checkCoreRange(manifest(range), "x"),
      /rummy-plugin-x@1\.0\.0 needs @rummy\/core/,
      range,
    );
  }
  assert.throws(
    () => checkCoreRange(manifest("banana"), "x"),
    /"banana", which is not a version range/,
  );
  assert.doesNotThrow(() => checkCoreRange({ dir: "/nowhere", name: "no-peer" }, "x"));
});

function writePackage(root: string, name: string, manifest: object, code: string): void {
  const dir = join(root, "node_modules", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name,
      type: "module",
      exports: { ".": { import: "./index.js" } },
      ...manifest,
    }),
  );
  writeFileSync(join(dir, "index.js"), code);
}

test("a plugin made for another core major is refused before its code runs, naming both versions", async () => {
  const { core, home, cleanup } = tempCore({ RUMMY_PLUGIN_FUTURE: "rummy-plugin-future" });
  try {
    writePackage(
      home,
      "rummy-plugin-future",
      { version: "3.0.0", peerDependencies: { "@rummy/core": "^99.0.0" } },
      `globalThis.futurePluginRan = true;
       export default { name: "future", setup(ctx) { ctx.registerRpc("future/x", { description: "x", handler: () => 1 }); } };`,
    );
    const report = await loadPlugins(core, { pluginDir: "/nonexistent" });
    assert.equal(report.loaded.length, 0);
    const failed = report.failed[0]!;
    assert.equal(failed.source.kind, "package");
    assert.match(
      failed.error,
      new RegExp(
        `rummy-plugin-future@3\\.0\\.0 needs @rummy/core \\^99\\.0\\.0, but this rummy runs @rummy/core ${CORE_VERSION.replace(/\./g, "\\.")}`,
      ),
    );
    assert.equal((globalThis as { futurePluginRan?: boolean }).futurePluginRan, undefined);
    assert.equal(core.rpc.get("future/x"), undefined);
  } finally {
    await cleanup();
  }
});

test("a plugin package without its own @rummy/core imports the running one; its version comes from package.json", async () => {
  const { core, home, cleanup } = tempCore({ RUMMY_PLUGIN_PEER: "rummy-plugin-peer" });
  try {
    const major = CORE_VERSION.split(".")[0];
    writePackage(
      home,
      "rummy-plugin-peer",
      { version: "0.4.2", peerDependencies: { "@rummy/core": `^${major}.0.0` } },
      `import { CORE_VERSION, definePlugin, RummyError } from "@rummy/core";
       export default definePlugin({
         name: "peer",
         setup(ctx) {
           ctx.registerRpc("peer/version", { description: "core version", handler: () => CORE_VERSION });
           ctx.registerRpc("peer/fail", { description: "fails", handler: () => { throw new RummyError(409, "no"); } });
         },
       });`,
    );
    const report = await loadPlugins(core, { pluginDir: "/nonexistent" });
    assert.deepEqual(report.failed, []);
    assert.deepEqual(
      report.loaded.map((p) => [p.name, p.version, p.source]),
      [["peer", "0.4.2", { kind: "package", name: "rummy-plugin-peer" }]],
    );
    assert.equal(await core.rpc.get("peer/version")!.handler({}, undefined as never), CORE_VERSION);
    // One module instance: the plugin's RummyError is the core's.
    await assert.rejects(
      async () => core.rpc.get("peer/fail")!.handler({}, undefined as never),
      (error: unknown) => error instanceof RummyError,
    );
  } finally {
    await cleanup();
  }
});

test("a directory plugin with a matching range loads; a range that is not one is refused", async () => {
  const { core, home, cleanup } = tempCore();
  try {
    const dir = (name: string, range: string) => {
      const path = join(home, "plugins", name);
      mkdirSync(path, { recursive: true });
      writeFileSync(
        join(path, "package.json"),
        JSON.stringify({
          name,
          version: "1.0.0",
          type: "module",
          main: "index.js",
          peerDependencies: { "@rummy/core": range },
        }),
      );
      writeFileSync(join(path, "index.js"), `export default { name: "${name}", setup() {} };`);
    };
    dir("fits", `>=${CORE_VERSION}`);
    dir("garbled", "not a range");
    const report = await loadPlugins(core);
    assert.deepEqual(
      report.loaded.map((p) => [p.name, p.version]),
      [["fits", "1.0.0"]],
    );
    assert.match(report.failed[0]!.error, /garbled@1\.0\.0 declares .*not a version range/);
  } finally {
    await cleanup();
  }
});
