import { readFileSync } from "node:fs";
import { badRequest, RummyError } from "./errors.js";
import type { EntryStore } from "./store.js";
import type { Attributes, Visibility } from "./types.js";

export type Mode = "ask" | "act";

/** Per-loop switches a client sets when it starts or continues a run. */
export interface LoopFlags {
  readonly noInteraction?: boolean;
  readonly noWeb?: boolean;
  readonly noProposals?: boolean;
  readonly noRepo?: boolean;
  readonly yolo?: boolean;
}

/** One command the model emitted, as the parser understood it. */
export interface ToolCall {
  /** The tag name: `get`, `set`, `sh`, … */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly body: string;
  /** Position among the turn's commands (0-based), for ordering and slugs. */
  readonly index: number;
  /** Where the record of this command lives: `log://turn_N/{name}/{slug}`. */
  readonly resultPath: string;
}

/** What a tool handler may use while it handles one command. */
export interface ToolContext {
  readonly runId: number;
  readonly loopId: number;
  readonly turn: number;
  readonly projectId: number;
  readonly projectRoot: string | null;
  readonly mode: Mode;
  readonly flags: LoopFlags;
  /** The store, writing as the model unless a handler says otherwise. */
  readonly store: EntryStore;
  readonly signal: AbortSignal;
}

export type ToolHandler = (call: ToolCall, context: ToolContext) => void | Promise<void>;

export interface ToolDefinition {
  /** The XML tag the model writes. */
  readonly name: string;
  readonly handler: ToolHandler;
  /** Markdown the instructions plugin shows the model; `<!-- … -->` rationale comments are stripped. */
  readonly doc?: string;
  /** Modes the tool is offered in. Default: both. */
  readonly modes?: readonly Mode[];
}

export interface Tool extends ToolDefinition {
  readonly owner: string;
}

const TAG_RE = /^[a-z][a-z0-9_-]*$/;

/** Model-facing tools by tag name. */
export class ToolRegistry {
  readonly #tools = new Map<string, Tool>();

  register(definition: ToolDefinition, owner = "core"): () => void {
    if (!TAG_RE.test(definition.name)) throw badRequest(`invalid tool name '${definition.name}'`);
    if (typeof definition.handler !== "function") {
      throw badRequest(`tool '${definition.name}' needs a handler`);
    }
    const existing = this.#tools.get(definition.name);
    if (existing) {
      throw badRequest(`tool '${definition.name}' is already registered by ${existing.owner}`);
    }
    const tool: Tool = { ...definition, owner };
    this.#tools.set(definition.name, tool);
    return () => {
      if (this.#tools.get(definition.name) === tool) this.#tools.delete(definition.name);
    };
  }

  get(name: string): Tool | undefined {
    return this.#tools.get(name);
  }

  /** Tools offered in a mode, by name. */
  list(mode?: Mode): Tool[] {
    return [...this.#tools.values()]
      .filter((t) => !mode || !t.modes || t.modes.includes(mode))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}

/** Strips `<!-- rationale -->` comments from a tool doc and trims the blank lines they leave. */
export function stripRationale(markdown: string): string {
  return markdown
    .replace(/<!--[\s\S]*?-->/g, "")
    .replace(/[ \t]+$/gm, "")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Reads a markdown tool doc shipped beside a module (`new URL("../doc.md", import.meta.url)`), rationale stripped. */
export function readToolDoc(url: URL): string {
  return stripRationale(readFileSync(url, "utf8"));
}

/** An XML-ish section for assembled prompts: `<tag a="1">body</tag>`, attribute values escaped. */
export function section(
  tag: string,
  attributes: Record<string, string | number | undefined>,
  body: string,
): string {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(
      ([k, v]) =>
        ` ${k}="${String(v).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;")}"`,
    )
    .join("");
  return body ? `<${tag}${attrs}>\n${body}\n</${tag}>` : `<${tag}${attrs}/>`;
}

/**
 * The common end of a tool that writes an entry as the model (`<known>`,
 * `<unknown>`, `<set>` on a scheme path): writes it resolved, then points
 * the command's log entry at it with a one-line reference, so the body is
 * in the context once.
 */
export function recordModelEntry(
  call: ToolCall,
  turn: ToolContext,
  entry: {
    readonly path: string;
    readonly body: string;
    readonly visibility?: Visibility;
    readonly attributes?: Attributes;
  },
): void {
  const result = turn.store.set({
    runId: turn.runId,
    path: entry.path,
    body: entry.body,
    state: "resolved",
    turn: turn.turn,
    loopId: turn.loopId,
    ...(entry.visibility ? { visibility: entry.visibility } : {}),
    ...(entry.attributes ? { attributes: entry.attributes } : {}),
    writer: "model",
  });
  if (!result.ok)
    throw new RummyError(result.status, result.error ?? `could not write ${entry.path}`);
  turn.store.set({
    runId: turn.runId,
    path: call.resultPath,
    body: `wrote ${entry.path}`,
    attributes: { path: entry.path },
    writer: "system",
  });
}
