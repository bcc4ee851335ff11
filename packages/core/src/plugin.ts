import type { RummyCore } from "./core.js";
import type { ConfigSpec, ConfigValues } from "./config.js";
import type { EventHandler, FilterHandler } from "./hooks.js";
import type { HttpHandler } from "./http.js";
import type { Logger } from "./logger.js";
import type { Provider } from "./provider.js";
import type { NotificationDefinition, RpcMethod, RpcMethodDefinition } from "./rpc.js";
import type { SchemeDefinition } from "./schemes.js";
import type { EntryStore } from "./store.js";
import type { ToolDefinition } from "./tools.js";

/**
 * A rummy plugin: a name and a setup function that registers what the
 * plugin contributes. Everything model-facing — tools, prompt sections,
 * schemes — and every RPC method beyond the transport is a plugin.
 */
export interface PluginDefinition {
  readonly name: string;
  readonly version?: string;
  setup(context: PluginContext): void | Promise<void>;
}

/** What a plugin gets during setup. Registrations made through it are undone if the plugin fails to load. */
export interface PluginContext {
  readonly name: string;
  /** The core's services: the store, the records, the registries (read them; register through this context). */
  readonly core: RummyCore;
  /** The entries store, writing as `plugin` unless a call says otherwise. */
  readonly store: EntryStore;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  registerScheme(definition: SchemeDefinition): void;
  registerTool(definition: ToolDefinition): void;
  registerRpc(method: string, definition: RpcMethodDefinition): void;
  registerNotification(method: string, definition: NotificationDefinition): void;
  /**
   * Answers plain HTTP requests under a path prefix on the server's port
   * (the transport serves them to loopback clients with a loopback Host only).
   */
  registerHttpRoute(prefix: string, handler: HttpHandler): void;
  registerProvider(provider: Provider): void;
  /** Resolves RPC method names nothing is registered under, at call time. */
  setRpcFallback(resolver: (name: string) => RpcMethod | undefined): void;
  on<P = any>(event: string, handler: EventHandler<P>, priority?: number): void;
  filter<V = any, C = any>(name: string, handler: FilterHandler<V, C>, priority?: number): void;
  emit<P = any>(event: string, payload: P): Promise<void>;
  applyFilter<V, C = unknown>(name: string, value: V, context?: C): Promise<V>;
  /** Reads and validates this plugin's settings from the environment (throws a ConfigError). */
  readConfig(specs: readonly ConfigSpec[]): ConfigValues;
}

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
