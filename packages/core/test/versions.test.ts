import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CORE_VERSION, loadPlugins, parseVersion, RummyError, satisfies } from "../src/index.js";
import { tempCore } from "./helpers.js";

test("satisfies reads the ranges plugin packages declare", () => {
  const cases: [string, string, boolean][] = [
    ["1.2.3", "^1.0.0", true],
    ["2.0.0", "^1.0.0", false],
    ["1.9.9", "^1.2", true],
    ["0.2.5", "^0.2.3", true],
    ["0.3.0", "^0.2.3", false],
    ["0.0.4", "^0.0.3", false],
    ["1.2.9", "~1.2.3", true],
    ["1.3.0", "~1.2.3", false],
    ["1.0.0", ">=1.0.0 <2", true],
    ["2.0.0", ">=1.0.0 <2", false],
    ["3.1.0", "^1.0.0 || ^3.0.0", true],
    ["1.5.0", "1.x", true],
    ["2.5.0", "1.x", false],
    ["7.0.0", "*", true],
    ["1.4.0", "1.2.0 - 1.4.0", true],
    ["1.4.1", "1.2.0 - 1.4.0", false],
    ["2.0.0-beta.1", "^1.0.0", false],
    ["2.0.0-beta.1", "^2.0.0-beta.0", true],
  ];
  for (const [version, range, expected] of cases) {
    assert.equal(satisfies(version, range), expected, `${version} in ${range}`);
  }
  assert.throws(() => satisfies("1.0.0", "banana"), /not a version range/);
  assert.ok(parseVersion(CORE_VERSION), `core's own version ${CORE_VERSION} parses`);
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
