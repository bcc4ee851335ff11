import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export interface ScaffoldOptions {
  /** The npm package name, e.g. `@acme/rummy-plugin-hello` or `rummy-plugin-hello`. */
  readonly packageName: string;
  /** The folder to create. Default: the name without its scope, in the working directory. */
  readonly dir?: string;
  /** The tag (tool name) the plugin registers. Default: the name without scope and `rummy-plugin-`. */
  readonly tag?: string;
}

export interface Scaffolded {
  readonly dir: string;
  readonly packageName: string;
  readonly tag: string;
  readonly files: readonly string[];
}

/** npm's rules for a package name, lowercase, optionally scoped. */
const PACKAGE_NAME_RE = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;
/** The core's rule for a tag. */
const TAG_RE = /^[a-z][a-z0-9_-]*$/;

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Manifest {
  version: string;
  devDependencies?: Record<string, string>;
}

function ownManifest(): Manifest {
  return JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as Manifest;
}

/**
 * The range the scaffold asks for: what this package was published with
 * (`workspace:^` becomes `^x.y.z` on publish); inside the monorepo, the
 * sibling package's current version.
 */
function rangeFor(name: string): string {
  const declared = ownManifest().devDependencies?.[name];
  if (!declared) throw new Error(`@rummy/create-plugin does not know a version of ${name}`);
  if (!declared.startsWith("workspace:")) return declared;
  const sibling = join(packageRoot, "..", name.replace(/^@rummy\//, ""), "package.json");
  return `^${(JSON.parse(readFileSync(sibling, "utf8")) as Manifest).version}`;
}

export function defaultTag(packageName: string): string {
  return (
    packageName
      .toLowerCase()
      .replace(/^@[^/]+\//, "")
      .replace(/^rummy-plugin-/, "")
      .replace(/[^a-z0-9_-]/g, "_")
      .replace(/^[^a-z]+/, "") || "hello"
  );
}

/** Writes a new plugin package; refuses a bad name or tag and a folder that is not empty. */
export function scaffold(options: ScaffoldOptions): Scaffolded {
  const packageName = options.packageName.trim();
  if (!PACKAGE_NAME_RE.test(packageName)) {
    throw new Error(
      `'${packageName}' is not an npm package name (lowercase letters, digits, . _ -, optionally @scope/)`,
    );
  }
  const tag = options.tag ?? defaultTag(packageName);
  if (!TAG_RE.test(tag)) {
    throw new Error(
      `'${tag}' is not a tag name (a lowercase letter, then letters, digits, _ or -)`,
    );
  }
  const dir = resolve(options.dir ?? packageName.replace(/^@[^/]+\//, ""));
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(`${dir} exists and is not empty; choose another folder with --dir`);
  }
  const files = templates({
    packageName,
    tag,
    core: rangeFor("@rummy/core"),
    testing: rangeFor("@rummy/testing"),
    typescript: rangeFor("typescript"),
    typesNode: rangeFor("@types/node"),
    changesets: rangeFor("@changesets/cli"),
  });
  for (const [file, text] of Object.entries(files)) {
    const path = join(dir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return { dir, packageName, tag, files: Object.keys(files).sort() };
}

interface TemplateValues {
  readonly packageName: string;
  readonly tag: string;
  readonly core: string;
  readonly testing: string;
  readonly typescript: string;
  readonly typesNode: string;
  readonly changesets: string;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Every file of a new plugin package, by path. */
export function templates(v: TemplateValues): Record<string, string> {
  // The same key `pluginEnvKey` in @rummy/core derives from the package name.
  const envKey = `RUMMY_PLUGIN_${v.packageName
    .replace(/^@[^/]+\//, "")
    .replace(/^(?:rummy-)?plugin-/i, "")
    .replace(/[^A-Za-z0-9]/g, "_")
    .toUpperCase()}`;
  return {
    "package.json": json({
      name: v.packageName,
      version: "0.1.0",
      description: `A rummy plugin: the <${v.tag}> tag.`,
      license: "MIT",
      type: "module",
      keywords: ["rummy", "rummy-plugin"],
      exports: { ".": { types: "./dist/index.d.ts", import: "./dist/index.js" } },
      files: ["dist", "doc.md", "README.md"],
      engines: { node: ">=20.10" },
      scripts: {
        build: "tsc -p tsconfig.json",
        test: "npm run build && tsc -p tsconfig.test.json && node --test test-build/",
        changeset: "changeset",
        "version-packages": "changeset version",
        prepublishOnly: "npm run build",
      },
      peerDependencies: { "@rummy/core": v.core },
      devDependencies: {
        "@changesets/cli": v.changesets,
        "@rummy/core": v.core,
        "@rummy/testing": v.testing,
        "@types/node": v.typesNode,
        typescript: v.typescript,
      },
      publishConfig: { access: "public" },
    }),
    "tsconfig.json": json({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2023"],
        types: ["node"],
        strict: true,
        declaration: true,
        sourceMap: true,
        skipLibCheck: true,
        outDir: "dist",
        rootDir: "src",
      },
      include: ["src"],
    }),
    "tsconfig.test.json": json({
      extends: "./tsconfig.json",
      compilerOptions: { outDir: "test-build", rootDir: "test", declaration: false },
      include: ["test"],
    }),
    ".gitignore": "node_modules/\ndist/\ntest-build/\n",
    "src/index.ts": `import { definePlugin, readToolDoc } from "@rummy/core";

/**
 * \`<${v.tag}>name</${v.tag}>\`: greets whoever the model names. A starting
 * point: keep the shape (one definePlugin, registrations through ctx) and
 * replace the handler with your tool.
 */
export default definePlugin({
  name: "${v.tag}",
  setup(ctx) {
    ctx.registerTool({
      name: "${v.tag}",
      // What the model reads about the tag; <!-- rationale --> comments are stripped.
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      handler(call, turn) {
        // Model output is untrusted: bound what you keep.
        const who = call.body.trim().slice(0, 200) || "world";
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          body: \`Hello, \${who}!\`,
          attributes: { greeted: who },
          writer: "plugin",
        });
      },
    });
  },
});
`,
    "doc.md": `## <${v.tag}>name</${v.tag}> - Greet someone

Example: <${v.tag}>Ada</${v.tag}>
<!-- The result entry's body is the greeting; the model reads it on the next turn. -->

- The body names who to greet (default: world)
`,
    "test/plugin.test.ts": `import assert from "node:assert/strict";
import { test } from "node:test";
import { pluginRig, testPlugin } from "@rummy/testing";
// The package as it will be published: its exports, its built dist/.
import plugin from "${v.packageName}";

// The conformance suite every rummy plugin runs.
testPlugin(plugin, { tags: ["${v.tag}"], readme: new URL("../README.md", import.meta.url) });

test("<${v.tag}> greets whoever the model names", async () => {
  const rig = await pluginRig(plugin);
  try {
    const { entries } = await rig.turn("<${v.tag}>Ada</${v.tag}>");
    const result = entries.find((e) => e.path.startsWith("log://turn_1/${v.tag}/"));
    assert.equal(result?.body, "Hello, Ada!");
  } finally {
    await rig.close();
  }
});
`,
    "README.md": `# ${v.packageName}

A rummy plugin: the \`<${v.tag}>\` tag greets whoever the model names.

## Install

\`\`\`sh
rummy plugins add ${v.packageName}
\`\`\`

The next \`rummy serve\` loads it (\`rummy doctor\` lists it with its version and source).

## How it plugs in

One \`definePlugin\` whose \`setup\` registers tool \`<${v.tag}>\` through the plugin context. \`rummy plugins add\`
installs the package into RUMMY_HOME and enables it as \`${envKey}=${v.packageName}\` in
\`RUMMY_HOME/.env\`; in your own distribution, \`loadPlugins(core, { bundled: [plugin] })\`.
\`@rummy/core\` is a peer dependency: the plugin runs on the core of the rummy that loads it, and a core
outside the range refuses it by name and version.

## Config

none

## Tags and sections

tag \`<${v.tag}>\`: the body names who to greet; the command's log entry gets the greeting.

## Develop

\`\`\`sh
npm install
npm test              # builds, then runs the conformance suite and the plugin's own tests
npx changeset         # describe each change for users
npx changeset version # bump the version and write the changelog
npm publish
\`\`\`
`,
    ".changeset/config.json": json({
      $schema: "https://unpkg.com/@changesets/config@3.1.1/schema.json",
      changelog: "@changesets/cli/changelog",
      commit: false,
      access: "public",
      baseBranch: "main",
    }),
    ".changeset/first-release.md": `---
"${v.packageName}": minor
---

First release: the \`<${v.tag}>\` tag.
`,
  };
}
