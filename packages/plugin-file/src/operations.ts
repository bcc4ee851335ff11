import { existsSync, lstatSync } from "node:fs";
import {
  ENGINE_EVENTS,
  hasScheme,
  isGlob,
  type PluginContext,
  type ProposalEvent,
  type RummyCore,
  RummyError,
  type ToolCall,
  type ToolContext,
} from "@rummy/core";
import {
  confine,
  copyInside,
  moveInside,
  realTarget,
  refuseReadonly,
  refuseServerPrivate,
  removeInside,
} from "./confine.js";
import { constraintMatcher } from "./scan.js";

export type FileOperation = "rm" | "cp" | "mv";

/** One source → destination step of an operation (`to` is null for rm). */
export type OperationStep = readonly [from: string, to: string | null];

/**
 * Refuses a step that leaves the project or changes a readonly file (403).
 * Checked when proposed and again when accepted,
 * since constraints or links may change in between.
 */
function checkStep(
  home: string,
  root: string,
  readonly: (path: string) => boolean,
  op: FileOperation,
  [from, to]: OperationStep,
): void {
  confine(root, from);
  if (to !== null) confine(root, to);
  if (op !== "cp") refuseServerPrivate(home, root, from);
  if (to !== null) refuseServerPrivate(home, root, to);
  // rm and mv act on a final symlink itself; a destination is written through it.
  if (op !== "cp") refuseReadonly(readonly, root, from, { followLast: false });
  if (to !== null) refuseReadonly(readonly, root, to);
}

function readonlyIn(core: RummyCore, projectId: number): (path: string) => boolean {
  const constraintOf = constraintMatcher(core.fileConstraints.list(projectId));
  return (path) => constraintOf(path)?.visibility === "readonly";
}

/** Performs an accepted file operation's steps on disk inside the project, bringing the file entries along. */
export function fileOperation(
  core: RummyCore,
  projectId: number,
  op: FileOperation,
  steps: readonly OperationStep[],
): void {
  const root = core.projects.get(projectId)?.root;
  if (!root) throw new RummyError(400, "the project has no root");
  const readonly = readonlyIn(core, projectId);
  for (const step of steps) {
    const [from, to] = step;
    checkStep(core.home, root, readonly, op, step);
    const source = realTarget(root, from, { followLast: op === "cp" });
    if (!lstatSync(source, { throwIfNoEntry: false }))
      throw new RummyError(404, `${from} does not exist`);
    // Each helper resolves the destination again, component by component, as it writes.
    if (op === "rm") {
      removeInside(root, from);
      core.store.rm({ projectId, path: from, writer: "plugin" });
      continue;
    }
    if (op === "cp") copyInside(root, from, to!);
    else moveInside(root, from, to!);
    const entry = core.store.getOne({ projectId }, from);
    if (entry)
      core.store.set({
        projectId,
        path: to!,
        body: entry.body,
        attributes: entry.attributes,
        writer: "plugin",
      });
    if (op === "mv") core.store.rm({ projectId, path: from, writer: "plugin" });
  }
}

/**
 * The part of a glob before its first wildcard segment (`src/**\/*.ts` → `src/`):
 * a glob cp/mv keeps each match's path below it, under the destination directory.
 */
export function globBase(pattern: string): string {
  const segments = pattern.split("/");
  const literal: string[] = [];
  for (const segment of segments.slice(0, -1)) {
    if (isGlob(segment)) break;
    literal.push(segment);
  }
  return literal.length > 0 ? `${literal.join("/")}/` : "";
}

/**
 * The steps of `op` for the paths a (possibly glob) source matched. A glob
 * cp/mv needs a destination directory (ending in `/`).
 */
export function planSteps(
  op: FileOperation,
  from: string,
  to: string | null,
  matches: readonly string[],
): OperationStep[] {
  if (op === "rm") return matches.map((path) => [path, null]);
  if (!isGlob(from)) return matches.map((path) => [path, to]);
  if (!to?.endsWith("/"))
    throw new RummyError(
      400,
      `<${op}> of a glob needs a destination directory ending in "/" (got "${to}")`,
    );
  const base = globBase(from);
  return matches.map((path) => [path, `${to}${path.slice(base.length)}`]);
}

function describe(op: FileOperation, steps: readonly OperationStep[]): string {
  return steps.map(([from, to]) => `${op} ${from}${to ? ` → ${to}` : ""}`).join("\n");
}

function wantsPreview(call: ToolCall): boolean {
  const value = call.attributes.preview;
  return value !== undefined && value !== "false";
}

/**
 * Registers `<rm path>`, `<cp path to>` or `<mv path to>`. Paths may be globs
 * (`*` crosses `/`). On entries (paths with a scheme) the store verbs run at
 * once as the model; on files every step is checked now (confinement,
 * readonly, existence) and the whole set is proposed — the proposal's body
 * lists each step — and happens on disk only when accepted. With `preview`
 * the steps are listed in the log and nothing happens.
 */
export function registerFileOperationTool(
  ctx: PluginContext,
  op: FileOperation,
  doc: string,
): void {
  const core = ctx.core;
  ctx.registerTool({
    name: op,
    doc,
    handler(call: ToolCall, turn: ToolContext) {
      const from = call.attributes.path?.trim();
      const to = call.attributes.to?.trim() || null;
      if (!from) throw new RummyError(400, `<${op}> needs a path`);
      if (op !== "rm" && !to)
        throw new RummyError(400, `<${op} path="…" to="…"/> needs a destination`);
      const onEntries = hasScheme(from) || (to !== null && hasScheme(to));
      const matches = onEntries ? matchEntries(turn, from) : matchFiles(core, turn, from);
      if (matches.length === 0)
        throw new RummyError(404, `nothing matches ${from}${onEntries ? "" : " in the project"}`);
      const steps = planSteps(op, from, to, matches);
      if (wantsPreview(call)) {
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          body: `preview (nothing changed):\n${describe(op, steps)}`,
          attributes: { preview: true, count: steps.length },
          writer: "system",
        });
        return;
      }
      if (onEntries) return runOnEntries(op, steps, call, turn);
      if (!turn.projectRoot)
        throw new RummyError(400, "this project has no root, so files cannot be changed");
      const readonly = readonlyIn(core, turn.projectId);
      for (const step of steps) checkStep(core.home, turn.projectRoot, readonly, op, step);
      turn.store.set({
        runId: turn.runId,
        path: call.resultPath,
        body: describe(op, steps),
        state: "proposed",
        attributes: {
          path: from,
          ...(to ? { to } : {}),
          file: true,
          steps: steps.map(([a, b]) => (b === null ? [a] : [a, b])),
        },
        writer: "plugin",
      });
    },
  });
  ctx.on<ProposalEvent>(ENGINE_EVENTS.proposalAccepted, (event) => {
    if (event.action !== op || event.attributes.file !== true) return;
    const steps = Array.isArray(event.attributes.steps)
      ? (event.attributes.steps as unknown[][])
      : [[event.attributes.path, event.attributes.to]];
    fileOperation(
      core,
      event.projectId,
      op,
      steps.map(([from, to]) => [String(from), typeof to === "string" ? to : null]),
    );
  });
}

function matchEntries(turn: ToolContext, from: string): string[] {
  if (!isGlob(from)) return turn.store.getOne({ runId: turn.runId }, from) ? [from] : [];
  return turn.store
    .get({ runId: turn.runId, pattern: from, includeBody: false })
    .map((entry) => entry.path);
}

/** Files come from the project's file entries (the scan honors .gitignore and constraints); a plain path must exist on disk. */
function matchFiles(core: RummyCore, turn: ToolContext, from: string): string[] {
  if (!isGlob(from)) {
    if (!turn.projectRoot) return [from];
    return existsSync(confine(turn.projectRoot, from)) ? [from] : [];
  }
  return core.store
    .get({ projectId: turn.projectId, pattern: from, scheme: "file", includeBody: false })
    .map((entry) => entry.path);
}

function runOnEntries(
  op: FileOperation,
  steps: readonly OperationStep[],
  call: ToolCall,
  turn: ToolContext,
): void {
  for (const [from, to] of steps) {
    const result =
      op === "rm"
        ? turn.store.rm({ runId: turn.runId, path: from, writer: "model" })
        : turn.store[op]({
            runId: turn.runId,
            from,
            to: to!,
            turn: turn.turn,
            loopId: turn.loopId,
            writer: "model",
          });
    if (!result.ok) throw new RummyError(result.status, result.error ?? `<${op}> ${from} failed`);
  }
  turn.store.set({
    runId: turn.runId,
    path: call.resultPath,
    body: describe(op, steps),
    writer: "system",
  });
}
