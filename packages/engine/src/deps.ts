import type { ConfigValues, RummyCore } from "@rummy/core";
import type { Budgets } from "./budget.js";
import type { Pacer } from "./pacer.js";
import type { Proposals } from "./proposals.js";
import type { ShownEntries } from "./shown.js";

/** What every loop of one engine shares: the core, its settings, the pacer, pending proposals, budgets, shown entries. */
export interface LoopDeps {
  readonly core: RummyCore;
  /** ENGINE_CONFIG's values. */
  readonly config: Readonly<ConfigValues>;
  /** One synchronous stretch of a turn (assembly; recording; dispatch) per event-loop turn across all runs. */
  readonly pacer: Pacer;
  readonly proposals: Proposals;
  readonly budgets: Budgets;
  /** The runs' visible and summarized entries, kept up to date between turns. */
  readonly shown: ShownEntries;
}
