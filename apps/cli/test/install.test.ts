import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";
import { cleanEnv, rummy, tempHome } from "./helpers.js";

// README set-up: `pnpm link-cli` leaves a `rummy` that works in any folder, on that folder's project.
const run = promisify(execFile);
const REPO = join(import.meta.dirname, "..", "..", "..");
let home: string;
let cleanup: () => void;
let llm: FakeLlm;
let prefix: string;
let project: string;
let env: Record<string, string>;

const HAS_PNPM = await run("pnpm", ["--version"]).then(
  () => true,
  () => false,
);

before(async () => {
  ({ home, cleanup } = tempHome());
  llm = await startFakeLlm();
  prefix = mkdtempSync(join(tmpdir(), "rummy-prefix-"));
  project = realpathSync(mkdtempSync(join(tmpdir(), "my-own-project-")));
  writeFileSync(join(project, "hello.js"), "console.log('hello');\n");
  env = {
    ...cleanEnv(),
    RUMMY_HOME: home,
    RUMMY_LOG_LEVEL: "warn",
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-test",
    RUMMY_MODEL_fake: "openai/fake-model",
    RUMMY_MODEL: "fake",
    RUMMY_RETRY_ATTEMPTS: "1",
  };
});
after(async () => {
  await llm.close();
  cleanup();
  rmSync(prefix, { recursive: true, force: true });
  rmSync(project, { recursive: true, force: true });
});

async function projectOfRun(alias: string): Promise<{ project: string; files: string[] }> {
  const list = JSON.parse((await rummy(["runs", "list", "--json"], { home })).stdout);
  const row = list.find((r: { run: string }) => r.run === alias);
  const shown = JSON.parse(
    (
      await rummy(["runs", "show", alias, "--project", row.project, "--json", "--entries"], {
        home,
      })
    ).stdout,
  );
  return {
    project: row.project,
    files: shown.entries
      .filter((e: { scheme: string }) => e.scheme === "file")
      .map((e: { path: string }) => e.path),
  };
}

test("the set-up's `pnpm link-cli` puts a working `rummy` on the PATH; ask runs on the folder it is typed in", {
  skip: HAS_PNPM ? false : "pnpm is not installed",
}, async () => {
  const linked = await run("pnpm", ["--silent", "link-cli"], {
    cwd: REPO,
    env: { ...cleanEnv(), npm_config_prefix: prefix },
  });
  assert.match(linked.stdout, /rummy is linked at /);
  const bin = join(prefix, "bin", "rummy");
  assert.ok(existsSync(bin), `${bin} exists`);
  llm.enqueue({ content: `<update status="200">it says hello</update>` });
  const asked = await run(bin, ["ask", "--run", "linked", "what does this do?"], {
    cwd: project,
    env: { ...env, PATH: `${join(prefix, "bin")}:${process.env.PATH}` },
  });
  assert.match(asked.stdout, /it says hello/);
  const { project: name, files } = await projectOfRun("linked");
  assert.equal(name, basename(project));
  assert.deepEqual(files, ["hello.js"], "the user's project, not the rummy checkout");
});

test("`pnpm -C <checkout> rummy ask` from the user's folder works on the user's folder (INIT_CWD)", {
  skip: HAS_PNPM ? false : "pnpm is not installed",
}, async () => {
  llm.enqueue({ content: `<update status="200">via pnpm</update>` });
  const asked = await run(
    "pnpm",
    ["--silent", "-C", REPO, "rummy", "ask", "--run", "via_pnpm", "q"],
    {
      cwd: project,
      env,
    },
  );
  assert.match(asked.stdout, /via pnpm/);
  const { project: name, files } = await projectOfRun("via_pnpm");
  assert.equal(name, basename(project));
  assert.deepEqual(files, ["hello.js"]);
});

test("--project <dir> names the folder; a folder that does not exist is a usage error", async () => {
  llm.enqueue({ content: `<update status="200">elsewhere</update>` });
  const asked = await rummy(["ask", "--project", project, "--run", "elsewhere", "q"], {
    home,
    env,
    cwd: tmpdir(),
  });
  assert.equal(asked.code, 0, asked.stderr);
  assert.equal((await projectOfRun("elsewhere")).project, basename(project));
  const missing = await rummy(["ask", "--project", join(project, "nope"), "q"], { home, env });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--project .*nope: no such directory/);
});
