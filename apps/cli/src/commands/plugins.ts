import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { pluginEnvKey } from "@rummy/core";
import { boot } from "../distribution.js";
import { upsertDotenv } from "../dotenv.js";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { table } from "../output.js";

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

function sourceLabel(source: { kind: string; path?: string; name?: string }): string {
  return source.kind === "directory"
    ? `dir ${source.path}`
    : source.kind === "package"
      ? `npm ${source.name}`
      : "bundled";
}

function homeManifest(home: Home): string {
  const manifest = join(home.path, "package.json");
  if (!existsSync(manifest)) {
    writeFileSync(
      manifest,
      `${JSON.stringify({ name: "rummy-home", private: true, dependencies: {} }, null, 2)}\n`,
    );
  }
  return manifest;
}

function dependencies(manifest: string): Record<string, string> {
  return (
    (JSON.parse(readFileSync(manifest, "utf8")) as { dependencies?: Record<string, string> })
      .dependencies ?? {}
  );
}

/** Installs a package into RUMMY_HOME, enables it in `<home>/.env`, and checks that it loads. */
async function add(home: Home, spec: string): Promise<number> {
  const manifest = homeManifest(home);
  const before = dependencies(manifest);
  try {
    await run(
      "npm",
      ["install", "--prefix", home.path, "--no-audit", "--no-fund", "--loglevel=error", spec],
      {
        env: { ...process.env, npm_config_prefix: home.path },
      },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new CliError(`npm could not install '${spec}'`, {
      hint: stderr.trim().split("\n").slice(-3).join(" ") || undefined,
    });
  }
  const after = dependencies(manifest);
  const name = Object.keys(after).find((dep) => before[dep] !== after[dep]) ?? spec;
  const key = pluginEnvKey(name);
  const dotenv = join(home.path, ".env");
  writeFileSync(
    dotenv,
    upsertDotenv(existsSync(dotenv) ? readFileSync(dotenv, "utf8") : "", key, name),
  );
  // Load it once now so a broken plugin is caught here, not at the next start.
  const { core, report } = await boot(
    { ...home, env: { ...home.env, [key]: name } },
    { quiet: true },
  );
  try {
    const failed = report.failed.find(
      (p) => p.source.kind === "package" && "name" in p.source && p.source.name === name,
    );
    if (failed) {
      throw new CliError(`installed ${name}, but it does not load: ${failed.error}`, {
        hint: `\`rummy plugins remove ${name}\` undoes the install`,
      });
    }
    const loaded = report.loaded.find(
      (p) => p.source.kind === "package" && "name" in p.source && p.source.name === name,
    );
    process.stdout.write(
      `added ${name}${loaded ? ` (plugin ${loaded.name}${loaded.version ? ` ${loaded.version}` : ""})` : ""}; enabled as ${key} in ${dotenv}\n`,
    );
    return EXIT.ok;
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
