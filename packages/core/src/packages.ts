import { existsSync, readFileSync } from "node:fs";
import { register } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import semver from "semver";

/** The parts of a package.json the loader reads. */
export interface PackageManifest {
  readonly name?: string;
  readonly version?: string;
  readonly main?: string;
  readonly exports?: unknown;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  /** The folder holding this package.json. */
  readonly dir: string;
}

export function readManifest(dir: string): PackageManifest | null {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return null;
  return { ...(JSON.parse(readFileSync(file, "utf8")) as object), dir };
}

/** This core's own version, read from its package.json (the same from src/ and dist/). */
export const CORE_VERSION: string =
  readManifest(fileURLToPath(new URL("..", import.meta.url)))?.version ?? "0.0.0";

/**
 * The package.json of the package a file belongs to: the nearest one up
 * from it (with `name` when given, which skips nested manifests such as a
 * dist/package.json that only sets the module type).
 */
export function manifestOf(fileOrUrl: string, name?: string): PackageManifest | null {
  let dir = dirname(fileOrUrl.startsWith("file:") ? fileURLToPath(fileOrUrl) : fileOrUrl);
  for (;;) {
    const manifest = readManifest(dir);
    if (manifest && (!name || manifest.name === name)) return manifest;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** The file an `import` of the package's root resolves to: `exports` (import/node/default), `main`, index.js. */
export function packageEntry(manifest: PackageManifest): string {
  const pick = (target: unknown): string | undefined => {
    if (typeof target === "string") return target;
    if (Array.isArray(target)) return target.map(pick).find(Boolean);
    if (target && typeof target === "object") {
      const conditions = target as Record<string, unknown>;
      if ("." in conditions) return pick(conditions["."]);
      for (const key of ["import", "node", "default"]) {
        const found = key in conditions ? pick(conditions[key]) : undefined;
        if (found) return found;
      }
    }
    return undefined;
  };
  const entry = pick(manifest.exports) ?? manifest.main;
  if (entry) return join(manifest.dir, entry);
  const index = ["index.js", "index.mjs", "index.ts"]
    .map((f) => join(manifest.dir, f))
    .find((f) => existsSync(f));
  return index ?? join(manifest.dir, "index.js");
}

/** Finds `node_modules/<name>` from `root` upwards. */
export function findInstalledPackage(name: string, root: string): PackageManifest | null {
  let dir = root;
  for (;;) {
    const manifest = readManifest(join(dir, "node_modules", name));
    if (manifest) return manifest;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/**
 * Refuses a plugin package made for another core: its `peerDependencies`
 * range for `@rummy/core` must include this core's version.
 */
export function checkCoreRange(manifest: PackageManifest, label: string): void {
  const range = manifest.peerDependencies?.["@rummy/core"];
  if (!range || range.startsWith("workspace:")) return;
  const who = `${manifest.name ?? label}${manifest.version ? `@${manifest.version}` : ""}`;
  if (semver.validRange(range) === null) {
    throw new Error(
      `${who} declares peerDependencies "@rummy/core": "${range}", which is not a version range`,
    );
  }
  if (!semver.satisfies(CORE_VERSION, range)) {
    throw new Error(
      `${who} needs @rummy/core ${range}, but this rummy runs @rummy/core ${CORE_VERSION}; install a release of the plugin made for @rummy/core ${CORE_VERSION}`,
    );
  }
}

let hostPackagesProvided = false;

/**
 * Plugins installed outside the program (in RUMMY_HOME) declare
 * `@rummy/core` as a peer and do not bring their own copy: an import of
 * `@rummy/*` that finds nothing from the plugin's folder resolves from the
 * running program instead, so every plugin shares the one core it runs in.
 */
export function provideHostPackages(): void {
  if (hostPackagesProvided) return;
  hostPackagesProvided = true;
  const parents = [import.meta.url];
  if (process.argv[1]) parents.push(pathToFileURL(process.argv[1]).href);
  register(`data:text/javascript,${encodeURIComponent(HOST_PACKAGES_HOOK)}`, {
    data: { parents },
  });
}

const HOST_PACKAGES_HOOK = `
let parents = [];
export function initialize(data) { parents = data.parents; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !specifier.startsWith("@rummy/")) throw error;
    for (const parentURL of parents) {
      try {
        return await next(specifier, { ...context, parentURL });
      } catch {}
    }
    throw error;
  }
}
`;
