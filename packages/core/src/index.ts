export {
  type ConfigSpec,
  type ConfigValues,
  ConfigError,
  CORE_CONFIG,
  type Env,
  readConfig,
} from "./config.js";
export {
  type CoreOptions,
  type FailedPlugin,
  type LoadedPlugin,
  type PluginSource,
  RummyCore,
} from "./core.js";
export { badRequest, errorMessage, notFound, RummyError, storageFailure } from "./errors.js";
export {
  DEFAULT_PRIORITY,
  type EventHandler,
  type FilterHandler,
  HookError,
  type HookErrorReporter,
  Hooks,
} from "./hooks.js";
export { type HttpHandler, type HttpRoute, HttpRoutes } from "./http.js";
export { type LoadPluginsOptions, type LoadReport, loadPlugins, pluginEnvKey } from "./loader.js";
export {
  CORE_VERSION,
  checkCoreRange,
  manifestOf,
  type PackageManifest,
  packageEntry,
} from "./packages.js";
export { createLogger, type LogLevel, type Logger } from "./logger.js";
export {
  globMatch,
  globToRegExp,
  hasScheme,
  isGlob,
  logPathToDataBase,
  schemeOf,
  schemePath,
  slugOf,
} from "./paths.js";
export {
  definePlugin,
  type PluginContext,
  type PluginDefinition,
  toPluginDefinition,
} from "./plugin.js";
export type {
  ConstraintVisibility,
  FileConstraint,
  FileConstraints,
  LoopRecord,
  Loops,
  ModelRecord,
  Models,
  ProjectRecord,
  Projects,
  RpcLog,
  RpcLogRecord,
  RunRecord,
  RunSummary,
  Runs,
  TurnRecord,
  Turns,
  TurnUsage,
} from "./records.js";
export { RUN_TRANSITIONS } from "./db/migrations.js";
export { BOOT_CONFIG, validateEnvironment } from "./environment.js";
export {
  type CommandsRunningEvent,
  ENGINE_EVENTS,
  ENGINE_SCHEMES,
  type Engine,
  type ProposalEvent,
  type ProposalResolution,
  type RunProgressEvent,
  type RunProposalEvent,
  type RunRequest,
  type RunStateEvent,
  type ToolInvocation,
} from "./engine/api.js";
export {
  renderEntry,
  type TurnContext,
  type Verdict,
  type VerdictContext,
} from "./engine/turn-api.js";
export {
  decodeEntities,
  type ParsedCommand,
  type ParseIssue,
  type ParseModelOutput,
  type ParseResult,
} from "./engine/parser-api.js";
export {
  type ChatMessage,
  type CompletionDelta,
  type CompletionRequest,
  type CompletionResult,
  type CompletionUsage,
  type Provider,
  ProviderError,
  type ProviderErrorKind,
  ProviderRegistry,
  type ResolvedModel,
} from "./provider.js";
export {
  type NotificationDefinition,
  type NotificationSink,
  type NotificationTarget,
  type ParamSpec,
  type ParamsSchema,
  type ParamType,
  type RpcCallContext,
  type RpcMethod,
  type RpcMethodDefinition,
  RpcParamsError,
  RpcRegistry,
  type RpcSession,
  runForCall,
  serializedResult,
  serializedText,
  validateParams,
} from "./rpc.js";
export {
  type EntryRenderer,
  mayWrite,
  type Scheme,
  type SchemeDefinition,
  SchemeRegistry,
} from "./schemes.js";
export { statusOf, TERMINAL_RUN_STATUSES } from "./status.js";
export type {
  CopyInput,
  EntrySize,
  EntryStore,
  GetQuery,
  Locus,
  RemoveInput,
  SetInput,
  SetPatternInput,
  SizesQuery,
  StoreChange,
  StoreObserver,
  WriteResult,
} from "./store.js";
export { divisorTokenizer, type Tokenizer } from "./tokens.js";
export {
  type LoopFlags,
  type Mode,
  readToolDoc,
  recordModelEntry,
  section,
  stripRationale,
  type Tool,
  type ToolCall,
  type ToolContext,
  type ToolDefinition,
  type ToolHandler,
  ToolRegistry,
} from "./tools.js";
export {
  type Attributes,
  ENTRY_STATES,
  type Entry,
  type EntryState,
  SCHEME_CATEGORIES,
  SCOPE_KINDS,
  type SchemeCategory,
  type ScopeKind,
  VISIBILITIES,
  type Visibility,
  WRITERS,
  type Writer,
} from "./types.js";
