import engine from "@rummy/engine";
import type { PluginDefinition } from "@rummy/core";

/**
 * The plugins with the agent loop (`@rummy/engine`) first, as every
 * distribution loads it — unless one of them is named `engine` already
 * (the engine under test, or a replacement).
 */
export function withEngine(plugins: readonly PluginDefinition[]): PluginDefinition[] {
  return plugins.some((p) => p.name === engine.name) ? [...plugins] : [engine, ...plugins];
}
