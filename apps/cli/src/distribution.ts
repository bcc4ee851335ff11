import {
  type LoadReport,
  loadPlugins,
  manifestOf,
  type PluginDefinition,
  RummyCore,
  toPluginDefinition,
} from "@rummy/core";
import { CliError } from "./errors.js";
import type { Home } from "./home.js";
import { quietLogger } from "./output.js";

/**
 * The default distribution: the packages `rummy` loads before any plugin
 * from RUMMY_HOME, in this order. Order matters only where plugins filter
 * the same chain at equal priority. The engine comes first: it installs the
 * agent loop (`core.engine`) the others drive.
 */
export const BUNDLED_PACKAGES = [
  "@rummy/engine",
  "@rummy/plugin-rpc",
  "@rummy/plugin-persona",
  "@rummy/plugin-instructions",
  "@rummy/plugin-prompt",
  "@rummy/plugin-known",
  "@rummy/plugin-unknown",
  "@rummy/plugin-log",
  "@rummy/plugin-error",
  "@rummy/plugin-budget",
  "@rummy/plugin-policy",
  "@rummy/plugin-telemetry",
  "@rummy/plugin-update",
  "@rummy/plugin-think",
  "@rummy/plugin-file",
  "@rummy/plugin-get",
  "@rummy/plugin-set",
  "@rummy/plugin-rm",
  "@rummy/plugin-cp",
  "@rummy/plugin-mv",
  "@rummy/plugin-ask-user",
  "@rummy/plugin-stream",
  "@rummy/plugin-sh",
  "@rummy/plugin-env",
  "@rummy/plugin-yolo",
  "@rummy/plugin-skill",
  "@rummy/web",
  "@rummy/plugin-mcp",
  "@rummy/provider-openai",
  "@rummy/provider-openrouter",
  "@rummy/provider-ollama",
  "@rummy/provider-xai",
] as const;

/** Imports the bundled plugin packages; one that cannot be imported is reported, not fatal. */
export async function bundledPlugins(): Promise<{
  plugins: PluginDefinition[];
  missing: { name: string; error: string }[];
}> {
  const plugins: PluginDefinition[] = [];
  const missing: { name: string; error: string }[] = [];
  for (const name of BUNDLED_PACKAGES) {
    try {
      const definition = toPluginDefinition(await import(name), name);
      // The installed package's version, which is what `doctor` and `plugins list` report.
      const version = manifestOf(import.meta.resolve(name), name)?.version ?? definition.version;
      plugins.push(
        version === definition.version
          ? definition
          : { ...definition, version, setup: definition.setup },
      );
    } catch (error) {
      missing.push({ name, error: (error as Error).message.split("\n", 1)[0]! });
    }
  }
  return { plugins, missing };
}

export interface Booted {
  readonly core: RummyCore;
  readonly report: LoadReport;
  readonly missing: readonly { name: string; error: string }[];
}

/** A core on RUMMY_HOME with the distribution's plugins, then the home's own. */
export async function boot(
  home: Home,
  options: { extra?: readonly PluginDefinition[]; quiet?: boolean } = {},
): Promise<Booted> {
  const core = RummyCore.open({
    home: home.path,
    env: home.env,
    ...(options.quiet ? { logger: quietLogger() } : {}),
  });
  const { plugins, missing } = await bundledPlugins();
  const report = await loadPlugins(core, { bundled: [...plugins, ...(options.extra ?? [])] });
  // Prompts queued before a restart run now; runs cut off mid-loop can be continued. (An engine
  // that failed to load is reported by refuseBrokenPlugins; the queued prompts wait for it.)
  if (core.hasEngine) core.engine.recover();
  return { core, report, missing };
}

/**
 * Every plugin that failed to load or is missing, one line each. A server
 * without one of its plugins answers clients wrongly, so unless the user
 * allows it this closes the core and refuses; allowed, the lines are returned
 * for the caller to show.
 */
export async function refuseBrokenPlugins(
  booted: Booted,
  allowBroken: boolean | undefined,
  hint: string,
): Promise<string[]> {
  const broken = [
    ...booted.report.failed.map((f) => `plugin ${f.name} failed to load: ${f.error}`),
    ...booted.missing.map((m) => `plugin ${m.name} is missing: ${m.error}`),
  ];
  if (broken.length && !allowBroken) {
    await booted.core.close();
    throw new CliError(broken.join("\n  "), { hint });
  }
  return broken;
}
