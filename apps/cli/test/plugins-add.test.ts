import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CORE_VERSION } from "@rummy/core";
import { treeSnapshot } from "@rummy/testing";
import { rummy, tempHome } from "./helpers.js";

const fixtures = join(import.meta.dirname, "fixtures");
let home: string;
let cleanup: () => void;
before(async () => {
  ({ home, cleanup } = tempHome());
  // A home that already has a working plugin: a failed add must keep it as it was.
  const added = await rummy(["plugins", "add", join(fixtures, "rummy-plugin-hello")], {
    home,
    timeoutMs: 120_000,
  });
  assert.equal(added.code, 0, added.stderr);
});
after(() => cleanup());

async function refusedAdd(spec: string, env: Record<string, string> = {}) {
  const before = treeSnapshot(home);
  const res = await rummy(["plugins", "add", spec], { home, env, timeoutMs: 120_000 });
  assert.notEqual(res.code, 0, `add ${spec} should fail:\n${res.stdout}`);
  assert.deepEqual(treeSnapshot(home), before, "RUMMY_HOME is unchanged");
  return res;
}

test("plugins add of a package that is not a rummy plugin says so and changes nothing", async () => {
  const res = await refusedAdd(join(fixtures, "not-a-plugin"));
  assert.match(res.stderr, /rummy: not-a-plugin is not a rummy plugin/);
});

test("plugins add of a plugin whose import throws reports the error and changes nothing", async () => {
  const res = await refusedAdd(join(fixtures, "rummy-plugin-throws"));
  assert.match(
    res.stderr,
    /rummy: rummy-plugin-throws does not load: rummy-plugin-throws fails at import on purpose/,
  );
});

test("plugins add of a plugin made for a future core names both versions and changes nothing", async () => {
  const res = await refusedAdd(join(fixtures, "rummy-plugin-future"));
  assert.match(
    res.stderr,
    new RegExp(
      `rummy-plugin-future@9\\.0\\.0 needs @rummy/core \\^99\\.0\\.0, but this rummy runs @rummy/core ${CORE_VERSION.replace(/\./g, "\\.")}`,
    ),
  );
});

test("plugins add with the registry down says it cannot reach it and changes nothing", async () => {
  const res = await refusedAdd("rummy-plugin-anything", {
    npm_config_registry: "http://127.0.0.1:9/",
    npm_config_fetch_retries: "0",
  });
  assert.match(res.stderr, /cannot reach the npm registry to install 'rummy-plugin-anything'/);
});

test("after the refusals the first plugin still loads; doctor lists each plugin with version and source", async () => {
  const res = await rummy(["doctor"], { home });
  assert.match(res.stdout, /ok {4}plugin hello: 0\.3\.0, npm rummy-plugin-hello/);
  assert.match(res.stdout, /ok {4}plugin update: \d+\.\d+\.\d+, bundled/);
  assert.doesNotMatch(res.stdout, /FAIL {2}plugin/);
});
