import { homedir } from "node:os";
import { join } from "node:path";
import { validateEnvironment } from "./environment.js";
import { CORE_CONFIG, type ConfigSpec, type ConfigValues, type Env, readConfig } from "./config.js";
import { ENGINE_SCHEMES, type Engine } from "./engine/api.js";
import { Checkpointer } from "./db/checkpointer.js";
import { type Db, openDatabase } from "./db/open.js";
import { errorMessage, RummyError } from "./errors.js";
import { type EventHandler, type FilterHandler, Hooks } from "./hooks.js";
import { type HttpHandler, HttpRoutes } from "./http.js";
import { createLogger, type LogLevel, type Logger } from "./logger.js";
import { type Provider, ProviderRegistry } from "./provider.js";
import { FileConstraints, Loops, Models, Projects, RpcLog, Runs, Turns } from "./records.js";
import {
  type NotificationDefinition,
  type RpcMethod,
  type RpcMethodDefinition,
  RpcRegistry,
} from "./rpc.js";
import { type SchemeDefinition, SchemeRegistry } from "./schemes.js";
import { EntryStore } from "./store.js";
import { divisorTokenizer, type Tokenizer } from "./tokens.js";
import { type ToolDefinition, ToolRegistry } from "./tools.js";

export interface CoreOptions {
  /** Where rummy keeps its database, plugins, skills and personas. Default `RUMMY_HOME` or `~/.rummy`. */
  readonly home?: string;
  /** The SQLite file. Default `<home>/rummy.db`; `":memory:"` for a throwaway store. */
  readonly dbPath?: string;
  /** The environment to configure from. Default `process.env`. */
  readonly env?: Env;
  readonly tokenizer?: Tokenizer;
  readonly logger?: Logger;
}

/**
 * A rummy plugin: a name and a setup function that registers what the
 * plugin contributes. Everything model-facing — tools, prompt sections,
 * schemes, the agent loop itself — and every RPC method beyond the transport is a plugin.
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
  /**
   * Installs the agent loop (`core.engine`), given as an engine or a function of the core that
   * makes one. One engine per core: a second is refused, naming the plugin that installed the first.
   */
  provideEngine(engine: Engine | ((core: RummyCore) => Engine)): void;
  /** Resolves RPC method names nothing is registered under, at call time. */
  setRpcFallback(resolver: (name: string) => RpcMethod | undefined): void;
  on<P = any>(event: string, handler: EventHandler<P>, priority?: number): void;
  filter<V = any, C = any>(name: string, handler: FilterHandler<V, C>, priority?: number): void;
  emit<P = any>(event: string, payload: P): Promise<void>;
  applyFilter<V, C = unknown>(name: string, value: V, context?: C): Promise<V>;
  /** Reads and validates this plugin's settings from the environment (throws a ConfigError). */
  readConfig(specs: readonly ConfigSpec[]): ConfigValues;
}

/** Where a plugin came from, for reports and `discover`. */
export type PluginSource =
  | { readonly kind: "bundled" }
  | { readonly kind: "directory"; readonly path: string }
  | { readonly kind: "package"; readonly name: string };

export interface LoadedPlugin {
  readonly name: string;
  readonly version: string | null;
  readonly source: PluginSource;
}

export interface FailedPlugin {
  readonly name: string;
  readonly source: PluginSource;
  readonly error: string;
}

/**
 * The thin core: one SQLite store and the registries plugins fill. It owns
 * no model-facing behaviour itself; the engine (`@rummy/engine`), tools,
 * prompt sections, providers and RPC methods all arrive as plugins.
 */
export class RummyCore {
  readonly home: string;
  readonly env: Env;
  readonly config: ConfigValues;
  readonly log: Logger;
  readonly hooks = new Hooks();
  readonly rpc = new RpcRegistry();
  /** Plain HTTP routes served on the transport's port (loopback only). */
  readonly http = new HttpRoutes();
  readonly tools = new ToolRegistry();
  readonly schemes: SchemeRegistry;
  readonly store: EntryStore;
  readonly tokenizer: Tokenizer;
  readonly projects: Projects;
  readonly runs: Runs;
  readonly loops: Loops;
  readonly turns: Turns;
  readonly models: Models;
  readonly fileConstraints: FileConstraints;
  readonly rpcLog: RpcLog;
  readonly providers: ProviderRegistry;
  readonly plugins: LoadedPlugin[] = [];
  readonly failedPlugins: FailedPlugin[] = [];
  #engine: { readonly engine: Engine; readonly plugin: string } | undefined;
  readonly #db: Db;
  /** WAL checkpoints on a worker thread (none for an in-memory store). */
  readonly #checkpointer: Checkpointer | undefined;
  #closed = false;

  private constructor(options: CoreOptions) {
    this.env = options.env ?? process.env;
    // One message per bad key, before anything starts (plugins check their own keys as they load).
    validateEnvironment(this.env);
    this.config = readConfig(CORE_CONFIG, this.env);
    this.home = options.home ?? this.env.RUMMY_HOME ?? join(homedir(), ".rummy");
    this.log =
      options.logger ?? createLogger((this.env.RUMMY_LOG_LEVEL as LogLevel | undefined) ?? "info");
    this.tokenizer =
      options.tokenizer ?? divisorTokenizer(this.config.RUMMY_TOKEN_DIVISOR as number);
    this.#db = openDatabase({ path: options.dbPath ?? join(this.home, "rummy.db") });
    this.#checkpointer = this.#db.memory ? undefined : new Checkpointer(this.#db);
    this.schemes = new SchemeRegistry(this.#db);
    this.store = new EntryStore(this.#db, this.schemes, this.tokenizer);
    this.projects = new Projects(this.#db);
    this.runs = new Runs(this.#db);
    this.loops = new Loops(this.#db);
    this.turns = new Turns(this.#db);
    this.models = new Models(this.#db);
    this.fileConstraints = new FileConstraints(this.#db);
    this.rpcLog = new RpcLog(this.#db, this.config.RUMMY_RPC_LOG_ROWS as number);
    this.providers = new ProviderRegistry(this.models);
    // The schemes the engine writes are part of its contract: tools and readers rely on them.
    for (const scheme of ENGINE_SCHEMES) this.schemes.register(scheme, "engine");
    this.hooks.onError((error) => this.log.warn(error.message));
    // Committed writes become `entry.changed` events for plugins that render or notify.
    this.store.observe((change) => {
      if (this.hooks.hasSubscribers("entry.changed")) {
        this.hooks.emit("entry.changed", change).catch(() => {});
      }
    });
  }

  /** Opens the store (creating and migrating it as needed) and returns a core with no plugins. */
  static open(options: CoreOptions = {}): RummyCore {
    return new RummyCore(options);
  }

  /** The agent loop: start, continue, fork and cancel runs; resolve proposals. A plugin installs it. */
  get engine(): Engine {
    if (!this.#engine)
      throw new RummyError(
        503,
        "no engine loaded: add @rummy/engine (its plugin installs the agent loop) to the plugins",
      );
    return this.#engine.engine;
  }

  /** Whether a plugin has installed an engine (`core.engine` throws until one has). */
  get hasEngine(): boolean {
    return this.#engine !== undefined;
  }

  /** Installs a plugin's engine; returns the undo. */
  #provideEngine(engine: Engine | ((core: RummyCore) => Engine), plugin: string): () => void {
    if (this.#engine)
      throw new Error(
        `an engine is already installed by plugin ${this.#engine.plugin}; a core runs one engine`,
      );
    const installed = { engine: typeof engine === "function" ? engine(this) : engine, plugin };
    this.#engine = installed;
    return () => {
      if (this.#engine === installed) this.#engine = undefined;
    };
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Loads one plugin: runs its setup through a context that records every
   * registration. A setup that throws or outlives the time limit is
   * reported, its registrations are undone, and the core carries on.
   */
  async use(
    plugin: PluginDefinition | (() => Promise<PluginDefinition>),
    source: PluginSource = { kind: "bundled" },
    nameHint = "plugin",
  ): Promise<LoadedPlugin | FailedPlugin> {
    const timeoutMs = this.config.RUMMY_LOAD_TIMEOUT_MS as number;
    let name = typeof plugin === "function" ? nameHint : plugin.name;
    const disposers: (() => void)[] = [];
    let open = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        (async () => {
          const definition = typeof plugin === "function" ? await plugin() : plugin;
          name = definition.name;
          if (this.plugins.some((p) => p.name === name)) {
            throw new Error(`a plugin named '${name}' is already loaded`);
          }
          const context = this.#contextFor(name, disposers, () => open);
          await definition.setup(context);
          return definition;
        })(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`did not finish loading within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).then((definition) => {
        const loaded: LoadedPlugin = { name, version: definition.version ?? null, source };
        this.plugins.push(loaded);
      });
      return this.plugins[this.plugins.length - 1]!;
    } catch (error) {
      open = false;
      for (const dispose of disposers.reverse()) {
        try {
          dispose();
        } catch {
          // Best effort: a half-registered plugin must not stop the others.
        }
      }
      const failed: FailedPlugin = { name, source, error: errorMessage(error) };
      this.failedPlugins.push(failed);
      this.log.warn(`plugin ${name} skipped: ${failed.error}`);
      return failed;
    } finally {
      open = false;
      clearTimeout(timer);
    }
  }

  /** A plugin's context. Calls after its setup settled (or timed out) are refused. */
  #contextFor(name: string, disposers: (() => void)[], isOpen: () => boolean): PluginContext {
    const guard =
      <A extends unknown[]>(what: string, fn: (...args: A) => () => void) =>
      (...args: A): void => {
        if (!isOpen()) throw new Error(`plugin ${name}: ${what} after setup is not allowed`);
        disposers.push(fn(...args));
      };
    return {
      name,
      core: this,
      store: this.store,
      env: this.env,
      log: this.log.child(name),
      registerScheme: guard("registerScheme", (def) => this.schemes.register(def, name)),
      registerTool: guard("registerTool", (def) => this.tools.register(def, name)),
      registerRpc: guard("registerRpc", (method, def) => this.rpc.register(method, def, name)),
      registerNotification: guard("registerNotification", (method, def) =>
        this.rpc.registerNotification(method, def, name),
      ),
      registerHttpRoute: guard("registerHttpRoute", (prefix, handler) =>
        this.http.register(prefix, handler, name),
      ),
      registerProvider: guard("registerProvider", (provider) =>
        this.providers.register(provider, name),
      ),
      provideEngine: guard("provideEngine", (engine) => this.#provideEngine(engine, name)),
      setRpcFallback: guard("setRpcFallback", (resolver) => this.rpc.setFallback(resolver, name)),
      on: guard("on", (event, handler, priority) => this.hooks.on(event, handler, priority, name)),
      filter: guard("filter", (filterName, handler, priority) =>
        this.hooks.filter(filterName, handler, priority, name),
      ),
      emit: (event, payload) => this.hooks.emit(event, payload),
      applyFilter: (filterName, value, context) => this.hooks.apply(filterName, value, context),
      readConfig: (specs) => readConfig(specs, this.env),
    };
  }

  /** Database health for `doctor` and monitoring: integrity check, schema version, journal mode. */
  health(): { integrity: string; schemaVersion: number; journalMode: string; path: string } {
    const integrity = String(this.#db.pragma("quick_check", { simple: true }));
    const schemaVersion = this.#db
      .prepare("SELECT max(version) FROM schema_migrations")
      .pluck()
      .get() as number;
    const journalMode = String(this.#db.pragma("journal_mode", { simple: true }));
    return { integrity, schemaVersion, journalMode, path: this.#db.name };
  }

  /** Lets plugins release resources (`core.closing`), then closes the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.hooks.emit("core.closing", {});
    } catch {
      // Reported through the hook error reporters already.
    }
    this.#closed = true;
    try {
      this.rpcLog.flush();
    } catch {
      // The log is diagnostic; a database that cannot take it still closes.
    }
    await this.#checkpointer?.close();
    this.#db.close();
  }
}
