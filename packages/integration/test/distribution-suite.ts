// The distribution for real: every package built, versioned on a throwaway
// copy, published to a real local Verdaccio, and installed outside the
// workspace with plain npm and Node, as a user would — the CLI, a minimal
// server of seven packages, and a community plugin scaffolded with the kit.
// distribution.test.ts runs it in CI; distribution.long.test.ts adds the
// scaffold's own npm test.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { RummyClient } from "@rummy/client";
import { resolveToken } from "@rummy/server";
import { type FakeLlm, startFakeLlm, treeSnapshot } from "@rummy/testing";
import {
  exec,
  mustExec,
  REPO,
  type Registry,
  readJson,
  startRegistry,
  throwawayWorkspace,
  userEnv,
} from "./registry.js";

/** The script packages/core/README.md shows as "run your own distribution". */
export const MINIMAL_SERVER = `import { loadPlugins, RummyCore } from "@rummy/core";
import engine from "@rummy/engine";
import { startServer } from "@rummy/server";
import rpc from "@rummy/plugin-rpc";
import known from "@rummy/plugin-known";
import update from "@rummy/plugin-update";
import openai from "@rummy/provider-openai";

const core = RummyCore.open({ home: process.env.RUMMY_HOME ?? ".rummy" });
await loadPlugins(core, { bundled: [engine, rpc, known, update, openai] });
console.log(\`rummy listening on \${(await startServer({ core })).url}\`); // port: RUMMY_PORT or 3044
`;

/** Installs compile SQLite natively and builds run cold in CI: minutes, not the default two. */
const SLOW = { timeout: 30 * 60_000 };

export interface DistributionSuiteOptions {
  /** Also install the scaffold fully and run its own tests (a third native build of SQLite). */
  readonly scaffoldTests: boolean;
}

/** Registers the whole distribution test: setup in before(), the checks as tests. */
export function distributionSuite(options: DistributionSuiteOptions): void {
  const root = mkdtempSync(join(tmpdir(), "rummy-dist-"));
  const repoCoreVersion: string = readJson(join(REPO, "packages", "core", "package.json")).version;
  let registry: Registry;
  let llm: FakeLlm;
  let versions: Record<string, string>;
  const prefix = join(root, "prefix");
  const minimal = join(root, "minimal");
  const author = join(root, "author");
  const children: ChildProcess[] = [];

  const npm = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) =>
    mustExec("npm", args, { cwd, env: userEnv(registry.npmrc, extra) });

  /** The installed `rummy`, run by the user's Node with a private home. */
  function rummy(args: string[], home: string, extra: NodeJS.ProcessEnv = {}) {
    return exec(join(prefix, "bin", "rummy"), args, {
      cwd: root,
      env: userEnv(registry.npmrc, {
        RUMMY_HOME: home,
        RUMMY_LOG_LEVEL: "warn",
        PATH: `${join(prefix, "bin")}:${process.env.PATH}`,
        ...extra,
      }),
      timeoutMs: 180_000,
    });
  }

  /** Starts a long-running server process and resolves with the URL it prints. */
  function startProcess(
    command: string,
    args: string[],
    options: { cwd: string; env: NodeJS.ProcessEnv; ready?: RegExp },
  ): Promise<{ url: string; output: () => string; stop: () => Promise<void> }> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      let out = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${command} did not start:\n${out}`));
      }, 180_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /rummy listening on (ws:\/\/\S+)/.exec(out);
        if (m && (!options.ready || options.ready.test(out))) {
          clearTimeout(timer);
          resolve({
            url: m[1]!,
            output: () => out,
            stop: async () => {
              if (child.exitCode !== null || child.signalCode !== null) return;
              const exited = new Promise((r) => child.once("exit", r));
              child.kill("SIGTERM");
              await exited;
            },
          });
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${command} exited ${code}:\n${out}`));
      });
    });
  }

  /** Starts a run over the wire, presenting the token the server keeps in its home, and resolves with its terminal state. */
  async function askOverTheWire(url: string, home: string, alias: string, prompt: string) {
    const { token } = resolveToken(home, {}, { create: false });
    assert.ok(token, `the server made its token in ${home}`);
    const client = await RummyClient.connect(url, { token });
    try {
      await client.hello("dist", root);
      const done = client.waitFor<{ run: string; status: number; reason: string | null }>(
        "run/state",
        (s) => s.run === alias && [200, 204, 413, 422, 499, 500].includes(s.status),
        60_000,
      );
      await client.call("set", {
        path: `run://${alias}`,
        body: prompt,
        attributes: { model: "fake", mode: "ask" },
      });
      const state = await done;
      const entries = await client.call<{ path: string; body?: string }[]>("getEntries", {
        run: alias,
        pattern: "log://*",
        withBody: true,
      });
      return { state, entries };
    } finally {
      await client.close();
    }
  }

  const fakeModelEnv = () => ({
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-dist-test",
    RUMMY_MODEL_fake: "openai/fake-model",
    RUMMY_RETRY_ATTEMPTS: "1",
  });

  /** A small package published straight to the registry (plain JS, no build). */
  async function publishRaw(name: string, manifest: object, code: string) {
    const dir = join(author, name.replace(/^@[^/]+\//, ""));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name, version: "1.0.0", type: "module", main: "index.js", ...manifest }),
    );
    writeFileSync(join(dir, "index.js"), code);
    await npm(["publish"], dir);
  }

  before(async () => {
    // 1. Every package to JS + .d.ts, as the release does.
    await mustExec(
      join(REPO, "node_modules", ".bin", "turbo"),
      ["run", "build", "--output-logs=errors-only"],
      {
        cwd: REPO,
      },
    );
    registry = await startRegistry(join(root, "registry"));
    llm = await startFakeLlm();
    // 2. Versions from the pending changesets, on a copy; then pnpm publishes every @rummy/* package.
    const ws = join(root, "ws");
    mkdirSync(ws);
    const packages = throwawayWorkspace(ws);
    const wsEnv = { ...process.env, npm_config_userconfig: registry.npmrc };
    await mustExec("pnpm", ["install", "--offline", "--frozen-lockfile", "--ignore-scripts"], {
      cwd: ws,
      env: wsEnv,
    });
    await mustExec(
      process.execPath,
      [join(REPO, "node_modules", "@changesets", "cli", "bin.js"), "version"],
      {
        cwd: ws,
        env: wsEnv,
      },
    );
    await mustExec("pnpm", ["publish", "-r", "--no-git-checks", "--registry", registry.url], {
      cwd: ws,
      env: wsEnv,
    });
    versions = {};
    for (const pkg of packages) {
      const manifest = readJson(join(ws, pkg, "package.json"));
      if (!manifest.private) versions[manifest.name] = manifest.version;
    }
    // 3. The user's installs, side by side: the CLI globally, and a minimal server project.
    mkdirSync(minimal);
    writeFileSync(
      join(minimal, "package.json"),
      JSON.stringify({ name: "my-rummy", private: true, type: "module" }),
    );
    writeFileSync(join(minimal, "server.mjs"), MINIMAL_SERVER);
    await Promise.all([
      npm(["install", "-g", "--prefix", prefix, "@rummy/cli"], root),
      npm(
        [
          "install",
          "@rummy/core",
          "@rummy/engine",
          "@rummy/server",
          "@rummy/plugin-rpc",
          "@rummy/plugin-known",
          "@rummy/plugin-update",
          "@rummy/provider-openai",
        ],
        minimal,
      ),
    ]);
  }, SLOW);

  after(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await registry?.stop();
    await llm?.close();
    rmSync(root, { recursive: true, force: true });
  });

  describe("the published distribution", () => {
    test(
      "every public package is on the registry, versioned by its changesets, without the repo's sources",
      SLOW,
      async () => {
        assert.ok(Object.keys(versions).length >= 35, `published ${Object.keys(versions).length}`);
        for (const [name, version] of Object.entries(versions)) {
          const res = await fetch(`${registry.url}${name.replace("/", "%2f")}`);
          assert.equal(res.status, 200, `${name} is published`);
          const doc = (await res.json()) as { versions: Record<string, any> };
          const published = doc.versions[version];
          assert.ok(published, `${name}@${version} is published`);
          const exported = JSON.stringify(published.exports ?? {});
          assert.doesNotMatch(exported, /(?<!\.d)\.ts"/, `${name} exports compiled JS`);
          for (const deps of [published.dependencies, published.peerDependencies])
            for (const range of Object.values(deps ?? {}))
              assert.doesNotMatch(String(range), /^workspace:/, `${name} has no workspace: ranges`);
        }
        // The repository itself keeps its versions and changesets: changeset version ran on the copy.
        assert.equal(
          readJson(join(REPO, "packages", "core", "package.json")).version,
          repoCoreVersion,
        );
        assert.ok(existsSync(join(REPO, ".changeset", "core-foundation.md")));
      },
    );

    test(
      "(a) npm i -g @rummy/cli: --version, demo ends 200, serve answers ping — no tsx",
      SLOW,
      async () => {
        const cliDir = join(prefix, "lib", "node_modules", "@rummy", "cli");
        assert.equal(
          existsSync(join(cliDir, "node_modules", "tsx")),
          false,
          "tsx is not installed",
        );
        assert.equal(existsSync(join(cliDir, "src")), false, "no TypeScript sources shipped");
        const version = await rummy(["--version"], join(root, "home-a"));
        assert.equal(version.code, 0, version.stderr);
        assert.equal(version.stdout.trim(), versions["@rummy/cli"]);
        const demo = await rummy(["demo"], join(root, "home-a"));
        assert.equal(demo.code, 0, demo.stderr);
        assert.match(demo.stdout, /\[run \S+: status 200,/);
        const served = await startProcess(join(prefix, "bin", "rummy"), ["serve", "--port", "0"], {
          cwd: root,
          env: userEnv(registry.npmrc, {
            RUMMY_HOME: join(root, "home-a"),
            RUMMY_LOG_LEVEL: "warn",
          }),
          ready: /\nmodels: .*\n/,
        });
        try {
          assert.doesNotMatch(served.output(), /plugin (FAILED|MISSING)/);
          const client = await RummyClient.connect(served.url);
          try {
            assert.deepEqual(await client.call("ping", {}), {});
          } finally {
            await client.close();
          }
        } finally {
          await served.stop();
        }
      },
    );

    test(
      "(b) seven packages and a ten-line script make a server that completes an ask run",
      SLOW,
      async () => {
        const installed = readJson(join(minimal, "package.json")).dependencies as Record<
          string,
          string
        >;
        assert.deepEqual(Object.keys(installed).sort(), [
          "@rummy/core",
          "@rummy/engine",
          "@rummy/plugin-known",
          "@rummy/plugin-rpc",
          "@rummy/plugin-update",
          "@rummy/provider-openai",
          "@rummy/server",
        ]);
        // The script is the one the core README documents.
        const readme = readFileSync(
          join(minimal, "node_modules", "@rummy", "core", "README.md"),
          "utf8",
        );
        assert.ok(
          readme.includes(MINIMAL_SERVER.trim()),
          "packages/core/README.md shows this script",
        );
        assert.ok(MINIMAL_SERVER.trim().split("\n").filter(Boolean).length <= 10);
        const server = await startProcess(process.execPath, ["server.mjs"], {
          cwd: minimal,
          env: userEnv(registry.npmrc, {
            RUMMY_HOME: join(minimal, ".rummy"),
            RUMMY_PORT: "0",
            RUMMY_LOG_LEVEL: "warn",
            ...fakeModelEnv(),
          }),
        });
        try {
          llm.enqueue({
            content: `<known path="known://answer">42</known>\n<update status="200">forty-two</update>`,
          });
          const { state } = await askOverTheWire(
            server.url,
            join(minimal, ".rummy"),
            "minimal",
            "What is the answer?",
          );
          assert.equal(state.status, 200);
          assert.equal(state.reason, "forty-two");
        } finally {
          await server.stop();
        }
      },
    );

    describe("a community plugin from the registry", () => {
      const home = join(root, "home-c");
      let hello: string;

      before(async () => {
        mkdirSync(author, { recursive: true });
        // The kit: npm init @rummy/plugin runs @rummy/create-plugin from the registry.
        await npm(["init", "--yes", "@rummy/plugin", "@acme/rummy-plugin-hello"], author);
        hello = join(author, "rummy-plugin-hello");
        const scaffold = readJson(join(hello, "package.json"));
        assert.equal(scaffold.peerDependencies["@rummy/core"], `^${versions["@rummy/core"]}`);
        if (options.scaffoldTests) {
          // As its author would: a full install (the core's native SQLite build) and the scaffold's own tests.
          await npm(["install"], hello);
          const tested = await npm(["test"], hello);
          assert.match(tested.stdout, /# fail 0/);
          assert.match(tested.stdout, /ok \d+ - rummy plugin conformance: hello/);
        } else {
          // Types and build only; distribution.long.test.ts also runs the scaffold's tests.
          await npm(["install", "--ignore-scripts"], hello);
        }
        // Publish exactly that scaffold, built.
        await npm(["run", "build"], hello);
        await npm(["publish", "--ignore-scripts"], hello);
        // The same kit for a plugin that wants a core major that does not exist yet.
        await npm(["init", "--yes", "@rummy/plugin", "@acme/rummy-plugin-future"], author);
        const future = join(author, "rummy-plugin-future");
        const manifest = readJson(join(future, "package.json"));
        const major = Number(versions["@rummy/core"]!.split(".")[0]);
        manifest.peerDependencies["@rummy/core"] = `^${major + 1}.0.0`;
        writeFileSync(join(future, "package.json"), JSON.stringify(manifest, null, 2));
        symlinkSync(join(hello, "node_modules"), join(future, "node_modules"));
        await npm(["run", "build"], future);
        await npm(["publish", "--ignore-scripts"], future);
        await publishRaw(
          "@acme/not-a-plugin",
          {},
          "export function leftPad(text, width) { return String(text).padStart(width); }\n",
        );
        await publishRaw(
          "@acme/rummy-plugin-throws",
          { peerDependencies: { "@rummy/core": `^${versions["@rummy/core"]}` } },
          'throw new Error("rummy-plugin-throws fails at import on purpose");\n',
        );
      }, SLOW);

      test(
        "(c) plugins add installs it into RUMMY_HOME; the next serve lists it and its tag works in a run",
        SLOW,
        async () => {
          const added = await rummy(["plugins", "add", "@acme/rummy-plugin-hello"], home);
          assert.equal(added.code, 0, added.stderr);
          assert.match(added.stdout, /added @acme\/rummy-plugin-hello \(plugin hello 0\.1\.0\)/);
          assert.ok(
            existsSync(
              join(home, "node_modules", "@acme", "rummy-plugin-hello", "dist", "index.js"),
            ),
          );
          // The plugin runs on the installed rummy's core, not a second copy.
          assert.equal(existsSync(join(home, "node_modules", "@rummy", "core")), false);
          const doctor = await rummy(["doctor"], home, fakeModelEnv());
          assert.match(doctor.stdout, /ok {4}plugin hello: 0\.1\.0, npm @acme\/rummy-plugin-hello/);
          assert.match(
            doctor.stdout,
            new RegExp(
              `ok {4}plugin known: ${versions["@rummy/plugin-known"]!.replace(/\./g, "\\.")}, bundled`,
            ),
          );
          const served = await startProcess(
            join(prefix, "bin", "rummy"),
            ["serve", "--port", "0"],
            {
              cwd: root,
              env: userEnv(registry.npmrc, {
                RUMMY_HOME: home,
                RUMMY_LOG_LEVEL: "warn",
                ...fakeModelEnv(),
              }),
              ready: /\nmodels: .*\n/,
            },
          );
          try {
            assert.match(served.output(), /^plugins: .*\bhello\b/m);
            llm.enqueue(
              { content: `<hello>Ada</hello>\n<update status="102">greeting</update>` },
              { content: `<update status="200">greeted</update>` },
            );
            const { state, entries } = await askOverTheWire(
              served.url,
              home,
              "greet",
              "Greet Ada.",
            );
            assert.equal(state.status, 200);
            const greeting = entries.find((e) => e.path.startsWith("log://turn_1/hello/"));
            assert.equal(greeting?.body, "Hello, Ada!");
          } finally {
            await served.stop();
          }
        },
      );

      async function refused(spec: string, extra: NodeJS.ProcessEnv = {}) {
        const before = treeSnapshot(home);
        const res = await rummy(["plugins", "add", spec], home, extra);
        assert.notEqual(res.code, 0, `${spec}: ${res.stdout}`);
        assert.deepEqual(treeSnapshot(home), before, `${spec}: RUMMY_HOME is unchanged`);
        return res.stderr;
      }

      test(
        "a plugin that wants a future core major is refused, naming both versions",
        SLOW,
        async () => {
          const core = versions["@rummy/core"]!;
          const major = Number(core.split(".")[0]);
          const stderr = await refused("@acme/rummy-plugin-future");
          assert.match(
            stderr,
            new RegExp(
              `@acme/rummy-plugin-future@0\\.1\\.0 needs @rummy/core \\^${major + 1}\\.0\\.0, but this rummy runs @rummy/core ${core.replace(/\./g, "\\.")}`,
            ),
          );
        },
      );

      test(
        "plugins add refuses a name that does not exist, a non-plugin, a plugin whose import throws, and a registry that is down",
        SLOW,
        async () => {
          assert.match(
            await refused("@acme/rummy-plugin-nope"),
            /there is no package '@acme\/rummy-plugin-nope' in the npm registry/,
          );
          assert.match(
            await refused("@acme/not-a-plugin"),
            /@acme\/not-a-plugin is not a rummy plugin/,
          );
          assert.match(
            await refused("@acme/rummy-plugin-throws"),
            /@acme\/rummy-plugin-throws does not load: rummy-plugin-throws fails at import on purpose/,
          );
          await registry.stop();
          assert.match(
            await refused("@acme/rummy-plugin-other", { npm_config_fetch_retries: "0" }),
            /cannot reach the npm registry to install '@acme\/rummy-plugin-other'/,
          );
        },
      );
    });
  });
}
