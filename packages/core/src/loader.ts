import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FailedPlugin, LoadedPlugin, PluginSource, RummyCore } from "./core.js";
import { type PluginDefinition, toPluginDefinition } from "./plugin.js";

export interface LoadPluginsOptions {
  /** Plugins shipped with the distribution, in load order. */
  readonly bundled?: readonly PluginDefinition[];
  /** Plugin directories' parent. Default `<home>/plugins`. */
  readonly pluginDir?: string;
  /** Where npm packages named by `RUMMY_PLUGIN_<NAME>` are resolved from first. Default `<home>`. */
  readonly packageRoot?: string;
}

export interface LoadReport {
  readonly loaded: readonly LoadedPlugin[];
  readonly failed: readonly FailedPlugin[];
}

const DISABLED = new Set(["0", "false", "off", "no", "disabled"]);
/** npm package names (optionally scoped), or a path to a local package. */
const PACKAGE_RE = /^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$|^[./]/i;
const ENTRY_FILES = ["index.ts", "index.mjs", "index.js"];

/** `RUMMY_PLUGIN_MY_THING` ↔ plugin `my-thing`. */
export function pluginEnvKey(name: string): string {
  return `RUMMY_PLUGIN_${name
    .replace(/^@[^/]+\//, "")
    .replace(/[^A-Za-z0-9]/g, "_")
    .toUpperCase()}`;
}

/**
 * Loads plugins in order: bundled ones (unless `RUMMY_PLUGIN_<NAME>=off`),
 * then each directory under `<home>/plugins`, then each npm package named
 * by a `RUMMY_PLUGIN_<NAME>=<package>` variable. One failing plugin is
 * reported and skipped; startup carries on.
 */
export async function loadPlugins(
  core: RummyCore,
  options: LoadPluginsOptions = {},
): Promise<LoadReport> {
  const before = { loaded: core.plugins.length, failed: core.failedPlugins.length };
  for (const plugin of options.bundled ?? []) {
    if (DISABLED.has((core.env[pluginEnvKey(plugin.name)] ?? "").toLowerCase())) continue;
    await core.use(plugin, { kind: "bundled" });
  }
  const pluginDir = options.pluginDir ?? join(core.home, "plugins");
  for (const candidate of listPluginDirectory(pluginDir)) {
    const source: PluginSource = { kind: "directory", path: candidate.path };
    await core.use(() => importPlugin(candidate.entry, candidate.name), source, candidate.name);
  }
  const packageRoot = options.packageRoot ?? core.home;
  for (const [key, value] of Object.entries(core.env)) {
    if (!key.startsWith("RUMMY_PLUGIN_") || !value || DISABLED.has(value.toLowerCase())) continue;
    if (!PACKAGE_RE.test(value)) {
      core.log.warn(`${key}=${value}: not a package name, ignored`);
      continue;
    }
    const bundledNames = new Set((options.bundled ?? []).map((p) => pluginEnvKey(p.name)));
    if (bundledNames.has(key)) continue;
    const source: PluginSource = { kind: "package", name: value };
    await core.use(() => importPlugin(resolvePackage(value, packageRoot), value), source, value);
  }
  return {
    loaded: core.plugins.slice(before.loaded),
    failed: core.failedPlugins.slice(before.failed),
  };
}

interface DirectoryCandidate {
  readonly name: string;
  readonly path: string;
  readonly entry: string;
}

function listPluginDirectory(dir: string): DirectoryCandidate[] {
  if (!existsSync(dir)) return [];
  const out: DirectoryCandidate[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out.push({ name, path, entry: directoryEntry(path) });
    } else if (/\.(m?js|ts)$/.test(name)) {
      out.push({ name: name.replace(/\.(m?js|ts)$/, ""), path, entry: path });
    }
  }
  return out;
}

/** A plugin directory's entry module: package.json `exports`/`main`, else an index file. */
function directoryEntry(dir: string): string {
  const manifest = join(dir, "package.json");
  if (existsSync(manifest)) {
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as {
      main?: string;
      exports?: string | Record<string, unknown>;
    };
    const exported =
      typeof pkg.exports === "string"
        ? pkg.exports
        : typeof pkg.exports?.["."] === "string"
          ? (pkg.exports["."] as string)
          : undefined;
    const main = exported ?? pkg.main;
    if (main) return join(dir, main);
  }
  const index = ENTRY_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  return index ?? join(dir, "index.js");
}

/** Resolves a package from the rummy home's node_modules first, then from the running program. */
function resolvePackage(name: string, packageRoot: string): string {
  const attempts = [join(packageRoot, "package.json"), join(process.cwd(), "package.json")];
  for (const from of attempts) {
    try {
      return createRequire(from).resolve(name);
    } catch {
      // Try the next location; ESM-only packages without a require condition fall through to import().
    }
  }
  return name;
}

async function importPlugin(specifier: string, fallbackName: string): Promise<PluginDefinition> {
  const url = specifier.startsWith("/") ? pathToFileURL(specifier).href : specifier;
  const mod: unknown = await import(url);
  return toPluginDefinition(mod, fallbackName);
}
