import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { CORE_VERSION } from "@rummy/core";
import { pluginRig, testPlugin } from "@rummy/testing";
import { defaultTag, scaffold } from "../src/index.js";

const run = promisify(execFile);
// Inside this package, so the scaffold's imports of @rummy/core and @rummy/testing resolve to the workspace's.
const root = mkdtempSync(join(import.meta.dirname, ".scaffold-"));
after(() => rmSync(root, { recursive: true, force: true }));

const made = scaffold({ packageName: "@acme/rummy-plugin-hello", dir: join(root, "hello") });
const plugin = (await import(join(made.dir, "src", "index.ts"))).default;

test("scaffold writes a complete plugin package", () => {
  assert.equal(made.tag, "hello");
  assert.deepEqual(made.files, [
    ".changeset/config.json",
    ".changeset/first-release.md",
    ".gitignore",
    "README.md",
    "doc.md",
    "package.json",
    "src/index.ts",
    "test/plugin.test.ts",
    "tsconfig.json",
    "tsconfig.test.json",
  ]);
  const pkg = JSON.parse(readFileSync(join(made.dir, "package.json"), "utf8"));
  assert.equal(pkg.name, "@acme/rummy-plugin-hello");
  assert.equal(pkg.peerDependencies["@rummy/core"], `^${CORE_VERSION}`);
  assert.equal(pkg.devDependencies["@rummy/core"], `^${CORE_VERSION}`);
  assert.match(pkg.devDependencies["@rummy/testing"], /^\^\d+\.\d+\.\d+$/);
  assert.deepEqual(pkg.exports, {
    ".": { types: "./dist/index.d.ts", import: "./dist/index.js" },
  });
  const readme = readFileSync(join(made.dir, "README.md"), "utf8");
  for (const section of ["Install", "How it plugs in", "Config", "Tags and sections", "Develop"])
    assert.match(readme, new RegExp(`^## ${section}$`, "m"));
  assert.match(readme, /RUMMY_PLUGIN_HELLO=@acme\/rummy-plugin-hello/);
  assert.match(
    readFileSync(join(made.dir, ".changeset", "first-release.md"), "utf8"),
    /^"@acme\/rummy-plugin-hello": minor$/m,
  );
});

test("the scaffold type-checks with its own tsconfig", async () => {
  const tsc = join(import.meta.dirname, "..", "node_modules", ".bin", "tsc");
  await run(tsc, ["-p", join(made.dir, "tsconfig.json"), "--noEmit"]);
});

test("bad names, bad tags and a folder in use are refused", () => {
  assert.throws(
    () => scaffold({ packageName: "Not A Name", dir: join(root, "x") }),
    /not an npm package name/,
  );
  assert.throws(
    () => scaffold({ packageName: "rummy-plugin-x", tag: "9lives", dir: join(root, "y") }),
    /not a tag name/,
  );
  writeFileSync(join(root, "hello", "extra.txt"), "mine");
  assert.throws(
    () => scaffold({ packageName: "@acme/rummy-plugin-hello", dir: join(root, "hello") }),
    /exists and is not empty/,
  );
  assert.equal(defaultTag("@acme/rummy-plugin-Big.Thing"), "big_thing");
  assert.equal(defaultTag("rummy-plugin-42"), "hello");
});

// The scaffolded plugin passes the conformance suite and its own test, as generated.
testPlugin(plugin, { tags: ["hello"], readme: join(made.dir, "README.md") });

test("the scaffolded <hello> greets whoever the model names", async () => {
  const rig = await pluginRig(plugin);
  try {
    const { entries } = await rig.turn("<hello>Ada</hello>");
    const result = entries.find((e) => e.path.startsWith("log://turn_1/hello/"));
    assert.equal(result?.body, "Hello, Ada!");
  } finally {
    await rig.close();
  }
});
