import type { PluginDefinition } from "./core.js";

// The contract's types live beside the class that implements it, so neither file imports the other.
export type { PluginContext, PluginDefinition } from "./core.js";

/** Identity helper that gives a plugin object literal its type. */
export function definePlugin(plugin: PluginDefinition): PluginDefinition {
  return plugin;
}

/** Turns whatever a plugin module exports into a definition, or explains why it cannot. */
export function toPluginDefinition(exported: unknown, fallbackName: string): PluginDefinition {
  const mod = exported as Record<string, unknown> | undefined;
  const candidate = (mod?.default as unknown) ?? mod?.plugin ?? mod;
  if (
    candidate &&
    typeof candidate === "object" &&
    typeof (candidate as PluginDefinition).setup === "function"
  ) {
    const def = candidate as PluginDefinition;
    return typeof def.name === "string" && def.name
      ? def
      : { ...def, name: fallbackName, setup: def.setup };
  }
  if (typeof candidate === "function") {
    return { name: fallbackName, setup: candidate as PluginDefinition["setup"] };
  }
  throw new TypeError(
    `${fallbackName}: a plugin module must export (as default or 'plugin') an object with a setup() function`,
  );
}
