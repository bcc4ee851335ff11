/**
 * Server-side bookkeeping around the entries: projects, runs, loops, turns,
 * models, file constraints and the RPC log. Plain records, no behaviour
 * beyond the rules the database itself enforces; one module per table family.
 */
export {
  type ConstraintVisibility,
  type FileConstraint,
  FileConstraints,
} from "./records/constraints.js";
export { type LoopRecord, Loops } from "./records/loops.js";
export { type ModelRecord, Models } from "./records/models.js";
export { type ProjectRecord, Projects } from "./records/projects.js";
export { RpcLog, type RpcLogRecord } from "./records/rpc-log.js";
export { type RunRecord, Runs, type RunSummary } from "./records/runs.js";
export { type TurnRecord, Turns, type TurnUsage } from "./records/turns.js";
