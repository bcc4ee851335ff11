import type { RummyCore } from "../core.js";
import type { LoopRecord, RunRecord } from "../records.js";
import type { LoopFlags, Mode, Tool } from "../tools.js";
import type { Entry } from "../types.js";

/** What assembly filters and the verdict see about the turn being built. */
export interface TurnContext {
  readonly core: RummyCore;
  readonly run: RunRecord;
  readonly loop: LoopRecord;
  readonly turn: number;
  readonly mode: Mode;
  readonly flags: LoopFlags;
  /** The run's visible and summarized entries, oldest first: all the model will see. */
  readonly entries: readonly Entry[];
  /** Tools offered in this loop's mode. */
  readonly tools: readonly Tool[];
  readonly firstTurnOfLoop: boolean;
  readonly budget: { readonly contextLength: number; readonly ceiling: number };
  /** An entry as the model sees it at its visibility (the scheme's renderer, or its body). */
  render(entry: Entry): string;
}

/** The end-of-turn ruling; plugins may adjust it through the `turn.verdict` filter. */
export interface Verdict {
  readonly continue: boolean;
  readonly status: number;
  readonly reason: string | null;
}

export interface VerdictContext {
  readonly turn: TurnContext;
  /** The last `<update>` of the turn, if any. */
  readonly update: { status: number; body: string } | null;
  readonly failures: number;
  readonly cycle: boolean;
  readonly strikes: number;
}

/** An entry as the model sees it at its visibility: the scheme's renderer, else the body (visible) or nothing (summarized). */
export function renderEntry(core: Pick<RummyCore, "schemes">, entry: Entry): string {
  const scheme = core.schemes.get(entry.scheme);
  if (entry.visibility === "summarized") {
    const render = scheme?.render.summarized;
    return render
      ? render(entry)
      : typeof entry.attributes.summary === "string"
        ? entry.attributes.summary
        : "";
  }
  const render = scheme?.render.visible;
  return render ? render(entry) : entry.body;
}
