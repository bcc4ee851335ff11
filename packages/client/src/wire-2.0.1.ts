/**
 * The rummy 2.0.1 wire, as a schema: every reply and notification a client
 * written for upstream rummy 2.0.1 parses, in 2.0.1's field names and types.
 *
 * This file is the single source of truth for the wire. `@rummy/client`
 * derives its TypeScript types from it (`z.infer`), the conformance suite
 * (packages/integration/test/conformance-2.0.1.test.ts) checks every frame a
 * real server sends against it, and the rpc plugin's README lists where we
 * deliberately differ.
 *
 * Objects are open (`passthrough`): a 2.0.1 client ignores members it does
 * not know, so the server may add its own. Members we add on purpose are
 * declared as optional and marked "rummy addition" so they are typed too; a
 * member 2.0.1 has is required with 2.0.1's name and type.
 */
import { z } from "zod";

/** HTTP-style status numbers: 102 running, 200 done, 202 waiting, 4xx/5xx ended badly. */
const httpStatus = z.number().int().min(100).max(599);
const attributesObject = z.record(z.unknown());
const open = <T extends z.ZodRawShape>(shape: T) => z.object(shape).passthrough();

export const EntryState = z.enum(["proposed", "streaming", "resolved", "failed", "cancelled"]);
export const Visibility = z.enum(["visible", "summarized", "archived"]);

// --- Envelope ---------------------------------------------------------------

export const RpcError = open({
  code: z.number().int(),
  message: z.string(),
  /** rummy addition: `{ status }` (HTTP-style) or `{ problems }` (invalid params). */
  data: z.unknown().optional(),
});

// --- Handshake and catalog ----------------------------------------------------

export const PingResult = open({});

export const HelloResult = open({
  rummyVersion: z.string().regex(/^\d+\.\d+\.\d+$/),
  projectId: z.number().int(),
  projectRoot: z.string(),
});

/** 2.0.1 describes each param as a string: `"string? — what it is"`. */
const discoveredMethod = open({
  description: z.string(),
  params: z.record(z.string()),
  /** rummy additions. */
  longRunning: z.boolean().optional(),
  requiresInit: z.boolean().optional(),
});

export const DiscoverResult = open({
  methods: z.record(discoveredMethod),
  notifications: z.record(open({ description: z.string() })),
});

// --- The primitives ---------------------------------------------------------

export const OkResult = open({
  ok: z.literal(true),
  /** rummy additions: the HTTP-style outcome and, for pattern writes, what matched. */
  status: z.number().int().optional(),
  count: z.number().int().optional(),
  paths: z.array(z.string()).optional(),
});

/** `set run://…`: start, continue, fork or cancel. */
export const RunSetResult = open({ ok: z.literal(true), alias: z.string().min(1) });

/** `set {run, path, state}` on a proposed entry: the run and its status after the decision. */
export const ResolveResult = open({
  run: z.string(),
  status: httpStatus,
  /** rummy additions: the proposal's own state and outcome after the decision. */
  ok: z.boolean().optional(),
  state: EntryState.optional(),
  outcome: z.string().nullable().optional(),
});

export const UpdateResult = open({ ok: z.literal(true), path: z.string() });

// --- Models and file constraints ------------------------------------------------

export const ModelRow = open({
  alias: z.string(),
  actual: z.string(),
  context_length: z.number().int().nullable(),
});
export const GetModelsResult = z.array(ModelRow);
export const AddModelResult = open({ alias: z.string() });
export const StatusOkResult = open({ status: z.literal("ok") });

export const ConstraintResult = open({ ok: z.literal(true), pattern: z.string() });
export const GetConstraintsResult = z.array(
  open({ pattern: z.string(), visibility: z.enum(["active", "readonly", "ignore"]) }),
);

// --- Queries --------------------------------------------------------------------

export const EntryRow = open({
  id: z.number().int(),
  path: z.string(),
  scheme: z.string().nullable(),
  state: EntryState.nullable(),
  outcome: z.string().nullable(),
  visibility: Visibility.nullable(),
  /** 0.6-era name of visibility, still read by 2.0.1 clients: promoted | demoted | archived. */
  fidelity: z.enum(["promoted", "demoted", "archived"]).nullable(),
  turn: z.number().int().nullable(),
  tokens: z.number().int(),
  attributes: attributesObject.nullable(),
  body: z.string().optional(),
  /** rummy addition: the HTTP-style projection of state. */
  status: z.number().int().nullable().optional(),
});
export const GetEntriesResult = z.array(EntryRow);

export const RunRow = open({
  run: z.string(),
  status: httpStatus,
  turn: z.number().int(),
  summary: z.string().nullable(),
  /** SQLite's `YYYY-MM-DD HH:MM:SS` (UTC), as 2.0.1 sends it. */
  created: z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
});
/** Newest first. */
export const GetRunsResult = z.array(RunRow);

export const HistoryItem = open({
  tool: z.string(),
  path: z.string(),
  status: z.number().int().nullable(),
  body: z.string(),
  attributes: attributesObject.nullable(),
  turn: z.number().int().nullable(),
  /** rummy addition: the entry's categorical state. */
  state: EntryState.nullable().optional(),
});

const turnText = open({ path: z.string(), body: z.string(), turn: z.number().int() });

export const RunTotals = open({
  prompt_tokens: z.number(),
  completion_tokens: z.number(),
  total_tokens: z.number(),
  cost: z.number(),
});

export const GetRunResult = open({
  run: z.string(),
  turn: z.number().int(),
  status: httpStatus,
  model: z.string().nullable(),
  temperature: z.number().nullable(),
  persona: z.string().nullable(),
  context_limit: z.number().int().nullable(),
  context: open({
    telemetry: RunTotals,
    reasoning: z.array(turnText),
    content: z.array(turnText),
    history: z.array(HistoryItem),
  }),
  last_user_prompt: z.string().nullable().optional(),
  last_summary: z.string().nullable().optional(),
  /** rummy additions. */
  pending: z.number().int().optional(),
  attributes: attributesObject.optional(),
  loops: z.array(attributesObject).optional(),
  turns: z.array(attributesObject).optional(),
});

// --- Plugin methods -----------------------------------------------------------------

export const SkillAddResult = open({ status: z.literal("ok"), skill: z.string() });
export const GetSkillsResult = z.array(open({ name: z.string(), status: z.number().int() }));
export const FileList = z.array(open({ name: z.string(), path: z.string() }));
export const StreamChannelsResult = open({ channels: z.number().int() });
/** A tool called by name (`sh`, `known`, …) as the client. */
export const ToolCallResult = open({ status: z.literal("ok") });

// --- Notifications ------------------------------------------------------------------

export const UnknownItem = open({ path: z.string(), body: z.string() });

export const RunTelemetry = open({
  modelAlias: z.string().nullable().optional(),
  model: z.string().nullable().optional(),
  temperature: z.number().nullable().optional(),
  context_size: z.number().int(),
  context_tokens: z.number().int(),
  prompt_tokens: z.number(),
  cached_tokens: z.number().optional(),
  completion_tokens: z.number(),
  reasoning_tokens: z.number().optional(),
  total_tokens: z.number(),
  cost: z.number(),
});

export const RunStateParams = open({
  run: z.string(),
  turn: z.number().int(),
  status: httpStatus,
  summary: z.string().optional(),
  history: z.array(HistoryItem),
  unknowns: z.array(UnknownItem),
  telemetry: RunTelemetry.nullable(),
  /** rummy addition: why the run ended (the final update's text, or the error). */
  reason: z.string().nullable().optional(),
});

export const RunProgressParams = open({
  run: z.string(),
  turn: z.number().int(),
  status: z.enum(["thinking", "processing", "retrying"]),
  /** rummy additions: the finer phase, and model text as it streams. */
  phase: z.string().optional(),
  content: z.string().optional(),
  reasoning: z.string().optional(),
});

/** `attributes` is a JSON **string** in 2.0.1; clients `JSON.parse` it. */
export const ProposalItem = open({
  path: z.string(),
  body: z.string(),
  attributes: z.string().refine((s) => {
    try {
      const v = JSON.parse(s) as unknown;
      return typeof v === "object" && v !== null && !Array.isArray(v);
    } catch {
      return false;
    }
  }, "attributes must be a JSON object encoded as a string"),
  turn: z.number().int(),
  /** rummy addition: the tool that proposed it. */
  action: z.string().optional(),
});

export const RunProposalParams = open({
  run: z.string(),
  proposed: z.array(ProposalItem).min(1),
});

export const UiRenderParams = open({ text: z.string(), append: z.boolean() });
export const UiNotifyParams = open({
  text: z.string(),
  level: z.enum(["info", "warn", "error"]),
});
export const StreamCancelledParams = open({
  run: z.string(),
  path: z.string(),
  reason: z.string().nullable(),
});
/** rummy addition (2.0.1 clients ignore it): entries of a run changed. */
export const RunChangedParams = open({ run: z.string() });

/** Every notification the server sends, by method. */
export const Notifications = {
  "run/state": RunStateParams,
  "run/progress": RunProgressParams,
  "run/proposal": RunProposalParams,
  "ui/render": UiRenderParams,
  "ui/notify": UiNotifyParams,
  "stream/cancelled": StreamCancelledParams,
  "run/changed": RunChangedParams,
} as const;

/**
 * The result of each method, by name. `set` answers in three shapes
 * (plain write, `run://` lifecycle, proposal resolution); `setResult` picks one.
 */
export const Results = {
  ping: PingResult,
  discover: DiscoverResult,
  "rpc/discover": DiscoverResult,
  "rummy/hello": HelloResult,
  set: z.union([RunSetResult, ResolveResult, OkResult]),
  get: OkResult,
  rm: OkResult,
  cp: OkResult,
  mv: OkResult,
  update: UpdateResult,
  getModels: GetModelsResult,
  addModel: AddModelResult,
  removeModel: StatusOkResult,
  "file/constraint": ConstraintResult,
  "file/drop": ConstraintResult,
  getConstraints: GetConstraintsResult,
  getEntries: GetEntriesResult,
  getRuns: GetRunsResult,
  getRun: GetRunResult,
  "skill/add": SkillAddResult,
  "skill/remove": StatusOkResult,
  getSkills: GetSkillsResult,
  listSkills: FileList,
  "persona/set": StatusOkResult,
  listPersonas: FileList,
  stream: StatusOkResult,
  "stream/completed": StreamChannelsResult,
  "stream/aborted": StreamChannelsResult,
  "stream/cancel": StreamChannelsResult,
} as const;

export type NotificationName = keyof typeof Notifications;
export type NotificationParams<N extends NotificationName> = z.infer<(typeof Notifications)[N]>;
export type MethodName = keyof typeof Results;
export type MethodResult<M extends MethodName> = z.infer<(typeof Results)[M]>;

export type HelloResult = z.infer<typeof HelloResult>;
export type DiscoverResult = z.infer<typeof DiscoverResult>;
export type EntryRow = z.infer<typeof EntryRow>;
export type RunRow = z.infer<typeof RunRow>;
export type GetRunResult = z.infer<typeof GetRunResult>;
export type HistoryItem = z.infer<typeof HistoryItem>;
export type ResolveResult = z.infer<typeof ResolveResult>;
export type RunSetResult = z.infer<typeof RunSetResult>;
export type RunStateParams = z.infer<typeof RunStateParams>;
export type RunProgressParams = z.infer<typeof RunProgressParams>;
export type RunProposalParams = z.infer<typeof RunProposalParams>;
export type ProposalItem = z.infer<typeof ProposalItem>;
export type UiRenderParams = z.infer<typeof UiRenderParams>;
export type UiNotifyParams = z.infer<typeof UiNotifyParams>;
export type StreamCancelledParams = z.infer<typeof StreamCancelledParams>;
export type RpcErrorObject = z.infer<typeof RpcError>;

/** The error texts 2.0.1 clients match on (codes are rummy's; see the rpc plugin's README). */
export const ERROR_TEXTS = {
  notInitialized: "Project not initialized.",
  runNotFound: (alias: string) => `Run '${alias}' not found.`,
  methodNotFound: (method: string) => `Method '${method}' not found.`,
} as const;
