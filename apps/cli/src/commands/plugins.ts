import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadPlugins, type PluginSource, pluginEnvKey, RummyCore } from "@rummy/core";
import { boot, bundledPlugins } from "../distribution.js";
import { upsertDotenv } from "../dotenv.js";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { quietLogger, table } from "../output.js";

const run = promisify(execFile);

export async function plugins(
  home: Home,
  args: readonly string[],
  options: { json?: boolean } = {},
): Promise<number> {
  const [action = "list", spec] = args;
  switch (action) {
    case "list":
      return list(home, Boolean(options.json));
    case "add":
      if (!spec)
        throw new CliError("usage: rummy plugins add <npm-package | path>", {
          exitCode: EXIT.usage,
        });
      return add(home, spec);
    case "remove":
      if (!spec)
        throw new CliError("usage: rummy plugins remove <package>", { exitCode: EXIT.usage });
      return remove(home, spec);
    default:
      throw new CliError(`unknown plugins action '${action}' (list, add, remove)`, {
        exitCode: EXIT.usage,
      });
  }
}

async function list(home: Home, json: boolean): Promise<number> {
  const { core, report, missing } = await boot(home, { quiet: true });
  try {
    if (json) {
      const list = [
        ...report.loaded.map((p) => ({
          name: p.name,
          version: p.version ?? null,
          source: sourceLabel(p.source),
          status: "loaded",
          error: null,
        })),
        ...report.failed.map((p) => ({
          name: p.name,
          version: null,
          source: sourceLabel(p.source),
          status: "failed",
          error: p.error,
        })),
        ...missing.map((m) => ({
          name: m.name,
          version: null,
          source: "bundled",
          status: "missing",
          error: m.error,
        })),
      ];
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return report.failed.length || missing.length ? EXIT.failure : EXIT.ok;
    }
    const rows = [
      ...report.loaded.map((p) => [p.name, p.version ?? "", sourceLabel(p.source), "loaded"]),
      ...report.failed.map((p) => [p.name, "", sourceLabel(p.source), `FAILED: ${p.error}`]),
      ...missing.map((m) => [m.name, "", "bundled", `MISSING: ${m.error}`]),
    ];
    process.stdout.write(table(["plugin", "version", "source", "status"], rows));
    return report.failed.length || missing.length ? EXIT.failure : EXIT.ok;
  } finally {
    await core.close();
  }
}

export function sourceLabel(source: PluginSource): string {
  return source.kind === "directory"
    ? `directory ${source.path}`
    : source.kind === "package"
      ? `npm ${source.name}`
      : "bundled";
}

function homeManifest(home: Home): string {
  const manifest = join(home.path, "package.json");
  if (!existsSync(manifest)) writeFileSync(manifest, EMPTY_MANIFEST);
  return manifest;
}

const EMPTY_MANIFEST = `${JSON.stringify({ name: "rummy-home", private: true, dependencies: {} }, null, 2)}\n`;

function dependencies(manifest: string): Record<string, string> {
  return (
    (JSON.parse(readFileSync(manifest, "utf8")) as { dependencies?: Record<string, string> })
      .dependencies ?? {}
  );
}

/**
 * Installs a package into RUMMY_HOME, checks that it loads as a plugin, and
 * enables it in `<home>/.env`. The install happens in a staging folder
 * beside the home (same depth, so relative links stay valid) and replaces
 * the home's node_modules only once the plugin has loaded: anything that
 * goes wrong leaves RUMMY_HOME as it was.
 */
async function add(home: Home, spec: string): Promise<number> {
  const staging = mkdtempSync(`${home.path}.add-`);
  try {
    const stagedManifest = join(staging, "package.json");
    const homeManifestPath = join(home.path, "package.json");
    writeFileSync(
      stagedManifest,
      existsSync(homeManifestPath) ? readFileSync(homeManifestPath) : EMPTY_MANIFEST,
    );
    for (const file of ["package-lock.json", "node_modules"]) {
      const from = join(home.path, file);
      if (existsSync(from))
        cpSync(from, join(staging, file), { recursive: true, verbatimSymlinks: true });
    }
    const before = dependencies(stagedManifest);
    await npmInstall(staging, spec);
    const after = dependencies(stagedManifest);
    const name =
      Object.keys(after).find((dep) => before[dep] !== after[dep]) ?? packageNameOf(spec, after);
    if (!name) throw new CliError(`npm installed nothing new for '${spec}'`);
    const key = pluginEnvKey(name);
    const loaded = await tryLoad(home, staging, name, key);
    // Loaded: the staged install becomes the home's.
    const homeModules = join(home.path, "node_modules");
    if (existsSync(homeModules)) renameSync(homeModules, join(staging, "node_modules.old"));
    renameSync(join(staging, "node_modules"), homeModules);
    for (const file of ["package.json", "package-lock.json"]) {
      const from = join(staging, file);
      if (existsSync(from)) writeFileSync(join(home.path, file), readFileSync(from));
    }
    const dotenv = join(home.path, ".env");
    writeFileSync(
      dotenv,
      upsertDotenv(existsSync(dotenv) ? readFileSync(dotenv, "utf8") : "", key, name),
    );
    process.stdout.write(
      `added ${name} (plugin ${loaded.name}${loaded.version ? ` ${loaded.version}` : ""}); enabled as ${key} in ${dotenv}\n`,
    );
    return EXIT.ok;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** `@scope/name@1.2` or `name@^1` → the dependency npm saved it under. */
function packageNameOf(spec: string, deps: Record<string, string>): string | undefined {
  const bare = spec.replace(/^(@?[^@]+)@.*$/, "$1");
  return bare in deps ? bare : undefined;
}

/** npm's failure as a sentence: what went wrong and with what. */
async function npmInstall(prefix: string, spec: string): Promise<void> {
  try {
    await run(
      "npm",
      [
        "install",
        "--prefix",
        prefix,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        // A plugin's @rummy/core peer is the running rummy's, not a second copy.
        "--legacy-peer-deps",
        spec,
      ],
      { env: { ...process.env, npm_config_prefix: prefix } },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    const code = /npm (?:ERR!|error) code (\w+)/.exec(stderr)?.[1];
    const detail =
      stderr
        .split("\n")
        .map((l) => l.replace(/^npm (?:ERR!|error)\s*/, "").trim())
        .filter(
          (l) => l && !/^(code|errno|syscall) \S+$|^at |^A complete log|^\/.*debug.*\.log$/.test(l),
        )
        .slice(0, 2)
        .join(" ") || undefined;
    if (code === "E404" || code === "ENOVERSIONS")
      throw new CliError(`there is no package '${spec}' in the npm registry`, { hint: detail });
    if (code === "ETARGET")
      throw new CliError(`no published version of '${spec}' matches`, { hint: detail });
    if (code && /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|EHOSTUNREACH)$/.test(code))
      throw new CliError(`cannot reach the npm registry to install '${spec}' (${code})`, {
        hint: detail,
      });
    throw new CliError(`npm could not install '${spec}'${code ? ` (${code})` : ""}`, {
      hint: detail,
    });
  }
}

/**
 * Loads the staged package in a throwaway core (in-memory database, the
 * staging folder as its home) beside the bundled plugins, so a broken
 * plugin is caught now, not at the next start, and the real home is untouched.
 */
async function tryLoad(
  home: Home,
  staging: string,
  name: string,
  key: string,
): Promise<{ name: string; version: string | null }> {
  const core = RummyCore.open({
    home: staging,
    dbPath: ":memory:",
    env: { ...home.env, RUMMY_HOME: staging, [key]: name },
    logger: quietLogger(),
  });
  try {
    const { plugins } = await bundledPlugins();
    const report = await loadPlugins(core, {
      bundled: plugins,
      pluginDir: join(staging, "plugins"),
    });
    const isIt = (p: { source: PluginSource }) =>
      p.source.kind === "package" && p.source.name === name;
    const failed = report.failed.find(isIt);
    if (failed) {
      const notAPlugin = /must export .*setup\(\) function/.test(failed.error);
      throw new CliError(
        notAPlugin
          ? `${name} is not a rummy plugin: it does not export a plugin (an object with a setup() function)`
          : `${name} does not load: ${failed.error}`,
        { hint: `nothing was changed in ${home.path}` },
      );
    }
    const loaded = report.loaded.find(isIt);
    if (!loaded) throw new CliError(`${name} did not load (is ${key} disabled?)`);
    return loaded;
  } finally {
    await core.close();
  }
}

async function remove(home: Home, name: string): Promise<number> {
  const manifest = homeManifest(home);
  if (!(name in dependencies(manifest))) {
    throw new CliError(`'${name}' is not installed in ${home.path}`, {
      hint: "`rummy plugins list` shows what is loaded",
    });
  }
  await run("npm", [
    "uninstall",
    "--prefix",
    home.path,
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    name,
  ]);
  const dotenv = join(home.path, ".env");
  if (existsSync(dotenv))
    writeFileSync(dotenv, upsertDotenv(readFileSync(dotenv, "utf8"), pluginEnvKey(name), null));
  process.stdout.write(`removed ${name}\n`);
  return EXIT.ok;
}
