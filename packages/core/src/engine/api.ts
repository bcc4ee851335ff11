import type { LoopRecord, RunRecord } from "../records.js";
import type { SchemeDefinition } from "../schemes.js";
import type { WriteResult } from "../store.js";
import type { LoopFlags, Mode } from "../tools.js";
import type { Attributes } from "../types.js";

/**
 * The engine's public surface: what the RPC layer, the CLI and tests call to
 * drive runs. Loops run in the background; progress and outcomes arrive as
 * hook events (below), which the rpc plugin forwards as notifications.
 */
export interface RunRequest {
  readonly projectId: number;
  /** A named run. Absent: a new run with a generated alias. Present and existing: a new loop on it. */
  readonly alias?: string;
  /** A model alias or a literal `provider/model`. */
  readonly model?: string;
  readonly mode: Mode;
  readonly prompt: string;
  readonly flags?: LoopFlags;
  readonly attributes?: Attributes;
}

export interface ProposalResolution {
  readonly decision: "accept" | "reject";
  /** The answer to an `<ask_user>`, or a client's note on a rejection. */
  readonly body?: string;
  readonly attributes?: Attributes;
}

export interface Engine {
  /**
   * Starts a run, or queues a loop (inject/continue) when the alias already exists. Returns at once.
   * Refuses flags this server does not allow, as `checkFlags` does.
   */
  submit(request: RunRequest): { run: RunRecord; loop: LoopRecord };
  /**
   * Throws a RummyError (403) for loop flags this server does not allow: `yolo` (proposals
   * accepted at once, commands run by the server) needs the server's opt-in. The engine holds
   * the opt-in, so every way a loop starts — a client's prompt, a continued run, a queue
   * recovered after a restart — is checked against the same one.
   */
  checkFlags(flags: LoopFlags): void;
  /** A new run that starts from a copy of another run's entries and views. */
  fork(runId: number, alias?: string): RunRecord;
  /** Cancels the running loop (aborting the provider call) and every queued one: the run ends at 499. */
  cancel(runId: number, reason?: string): Promise<void>;
  /** Accepts or rejects a pending proposal; dispatch of the blocked turn continues. */
  resolve(runId: number, path: string, resolution: ProposalResolution): Promise<WriteResult>;
  /** Resolves when the run has no running or queued loop (or is waiting on a proposal). */
  settled(runId: number): Promise<RunRecord>;
  /** True while a loop of the run is running or queued. */
  isActive(runId: number): boolean;
  /**
   * Runs one tool on behalf of a client, outside any turn: the command is
   * recorded in the run's log like the model's, its handler runs, and a
   * proposal it makes is announced (`run.proposal`) for any client to resolve.
   */
  invokeTool(runId: number, command: ToolInvocation): Promise<WriteResult>;
  /**
   * After a restart: runs left mid-loop are marked interrupted (so a new
   * prompt can continue them) unless proposals are pending (then they wait
   * at 202); queued loops — acknowledged prompts — start.
   */
  recover(): { interrupted: number; resumed: number };
  /** Aborts every running loop and waits for them to wind down (the core's closing does this). */
  shutdown(): Promise<void>;
}

/** A client's tool call: a tag name with its attributes and body, as the model would write it. */
export interface ToolInvocation {
  readonly name: string;
  readonly attributes?: Record<string, string>;
  readonly body?: string;
}

/**
 * The schemes the engine writes: every command's record (`log://turn_N/{action}/{slug}`, where tool
 * results and proposals live) and each loop's prompt (`prompt://N`). Tools, the RPC layer and prompt
 * plugins read them, so the core registers them whether or not an engine is loaded.
 */
export const ENGINE_SCHEMES: readonly SchemeDefinition[] = [
  { name: "log", category: "logging", defaultScope: "run", writableBy: ["plugin"] },
  { name: "prompt", category: "prompt", defaultScope: "run", writableBy: ["plugin"] },
];

/** Hook events the engine emits. Every payload names the project so transports can route it. */
export const ENGINE_EVENTS = {
  runState: "run.state",
  runProgress: "run.progress",
  runProposal: "run.proposal",
  turnStarted: "turn.started",
  turnCompleted: "turn.completed",
  proposalAccepted: "proposal.accepted",
  /** A run is being cancelled: stop work started on its behalf (payload: projectId, runId, alias, reason). */
  runCancelling: "run.cancelling",
  proposalRejected: "proposal.rejected",
  /** The next turn stopped waiting for this turn's commands: they still stream (payload: CommandsRunningEvent). */
  commandsRunning: "turn.commands_running",
} as const;

export interface CommandsRunningEvent {
  readonly projectId: number;
  readonly runId: number;
  readonly alias: string;
  readonly loopId: number;
  readonly turn: number;
  /** The data channels still `streaming` (`sh://turn_N/{slug}_1`, …). */
  readonly paths: readonly string[];
  readonly waitedMs: number;
}

/**
 * The proposal lifecycle. A tool handler that needs approval writes its
 * result entry (`call.resultPath`, a `log://turn_N/{action}/{slug}` path)
 * with state `proposed`. After the handler returns, the engine sees the
 * proposed entry: with `yolo` it accepts at once, otherwise it emits
 * `run.proposal` and blocks the turn's dispatch until a client resolves it
 * (`Engine.resolve`, or `set {path, state}` over RPC). On accept it emits
 * `proposal.accepted`, whose subscribers perform the side effect (write the
 * file, start the command, record the answer); a subscriber that throws
 * turns the entry `failed` with the error as outcome. On reject it emits
 * `proposal.rejected`. Pending proposals are entries, so they survive a
 * client disconnect or a restart and any later client can resolve them.
 */
export interface ProposalEvent {
  readonly projectId: number;
  readonly runId: number;
  readonly alias: string;
  readonly loopId: number;
  readonly turn: number;
  readonly path: string;
  readonly action: string;
  readonly attributes: Attributes;
  readonly body: string;
  readonly resolution: ProposalResolution;
}

export interface RunStateEvent {
  readonly projectId: number;
  readonly runId: number;
  readonly alias: string;
  readonly status: number;
  readonly loopId: number | null;
  readonly turn: number | null;
  readonly reason: string | null;
}

export interface RunProgressEvent {
  readonly projectId: number;
  readonly runId: number;
  readonly alias: string;
  readonly loopId: number;
  readonly turn: number;
  readonly phase: "assembling" | "waiting" | "streaming" | "retrying" | "dispatching" | "done";
  /** With `retrying`: why, and how long until the next attempt. */
  readonly retry?: { readonly attempt: number; readonly delayMs: number; readonly error: string };
  /** Text the model just wrote (streaming providers only). */
  readonly content?: string;
  readonly reasoning?: string;
}

export interface RunProposalEvent {
  readonly projectId: number;
  readonly runId: number;
  readonly alias: string;
  readonly loopId: number;
  readonly turn: number;
  /** The proposal's log entry: `log://turn_N/{action}/{slug}`. */
  readonly path: string;
  readonly action: string;
  readonly attributes: Attributes;
  readonly body: string;
}
