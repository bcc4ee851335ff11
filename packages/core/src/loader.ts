import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FailedPlugin, LoadedPlugin, PluginSource, RummyCore } from "./core.js";
import {
  checkCoreRange,
  findInstalledPackage,
  type PackageManifest,
  packageEntry,
  provideHostPackages,
  readManifest,
} from "./packages.js";
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

/**
 * `RUMMY_PLUGIN_MY_THING` ↔ plugin `my-thing`, package `@scope/my-thing` or
 * `@scope/rummy-plugin-my-thing`: the key already says "plugin", so a
 * package's `rummy-plugin-`/`plugin-` prefix is not repeated in it.
 */
export function pluginEnvKey(name: string): string {
  return `RUMMY_PLUGIN_${name
    .replace(/^@[^/]+\//, "")
    .replace(/^(?:rummy-)?plugin-/i, "")
    .replace(/[^A-Za-z0-9]/g, "_")
    .toUpperCase()}`;
}

/**
 * Loads plugins in order: bundled ones (unless `RUMMY_PLUGIN_<NAME>=off`),
 * then each directory under `<home>/plugins`, then each npm package named
 * by a `RUMMY_PLUGIN_<NAME>=<package>` variable. One failing plugin is
 * reported and skipped; startup carries on. A plugin package whose
 * `peerDependencies` range for `@rummy/core` excludes this core is refused
 * before its code runs.
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
  const candidates = listPluginDirectory(pluginDir);
  const packages = Object.entries(core.env).filter(
    ([key, value]) =>
      key.startsWith("RUMMY_PLUGIN_") && value && !DISABLED.has(value.toLowerCase()),
  );
  if (candidates.length || packages.length) provideHostPackages();
  for (const candidate of candidates) {
    const source: PluginSource = { kind: "directory", path: candidate.path };
    await core.use(
      () => importPlugin(candidate.entry, candidate.name, candidate.manifest),
      source,
      candidate.name,
    );
  }
  const packageRoot = options.packageRoot ?? core.home;
  const bundledNames = new Set((options.bundled ?? []).map((p) => pluginEnvKey(p.name)));
  for (const [key, value] of packages as [string, string][]) {
    if (!PACKAGE_RE.test(value)) {
      core.log.warn(`${key}=${value}: not a package name, ignored`);
      continue;
    }
    if (bundledNames.has(key)) continue;
    const source: PluginSource = { kind: "package", name: value };
    await core.use(
      () => {
        const manifest = resolvePackage(value, packageRoot);
        return importPlugin(manifest ? packageEntry(manifest) : value, value, manifest);
      },
      source,
      value,
    );
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
  readonly manifest: PackageManifest | null;
}

function listPluginDirectory(dir: string): DirectoryCandidate[] {
  if (!existsSync(dir)) return [];
  const out: DirectoryCandidate[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      const manifest = readManifest(path) ?? { dir: path };
      out.push({ name, path, entry: packageEntry(manifest), manifest });
    } else if (/\.(m?js|ts)$/.test(name)) {
      out.push({ name: name.replace(/\.(m?js|ts)$/, ""), path, entry: path, manifest: null });
    }
  }
  return out;
}

/**
 * Finds an installed package: under the rummy home's node_modules first,
 * then from the working directory. Null when neither has it (the import
 * then resolves from the running program).
 */
function resolvePackage(name: string, packageRoot: string): PackageManifest | null {
  if (/^[./]/.test(name)) return readManifest(name);
  return findInstalledPackage(name, packageRoot) ?? findInstalledPackage(name, process.cwd());
}

async function importPlugin(
  specifier: string,
  fallbackName: string,
  manifest: PackageManifest | null,
): Promise<PluginDefinition> {
  if (manifest) checkCoreRange(manifest, fallbackName);
  const url = specifier.startsWith("/") ? pathToFileURL(specifier).href : specifier;
  const mod: unknown = await import(url);
  const definition = toPluginDefinition(mod, fallbackName);
  // The installed package's version is the one a person can act on.
  return manifest?.version && manifest.version !== definition.version
    ? { ...definition, version: manifest.version, setup: definition.setup }
    : definition;
}
