import { copyFileSync, existsSync, mkdirSync, renameSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
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
import { confine } from "./confine.js";
import { isReadonly } from "./scan.js";

export type FileOperation = "rm" | "cp" | "mv";

/** Performs an accepted file operation on disk inside the project, then brings the file entries along. */
export function fileOperation(
  core: RummyCore,
  projectId: number,
  op: FileOperation,
  from: string,
  to: string | null,
): void {
  const root = core.projects.get(projectId)?.root;
  if (!root) throw new RummyError(400, "the project has no root");
  const source = confine(root, from);
  if (op !== "cp" && isReadonly(core, projectId, from))
    throw new RummyError(403, `${from} is readonly`);
  if (!existsSync(source)) throw new RummyError(404, `${from} does not exist`);
  if (op === "rm") {
    unlinkSync(source);
    core.store.rm({ projectId, path: from, writer: "plugin" });
    return;
  }
  const target = confine(root, to!);
  if (isReadonly(core, projectId, to!)) throw new RummyError(403, `${to} is readonly`);
  mkdirSync(dirname(target), { recursive: true });
  if (op === "cp") copyFileSync(source, target);
  else renameSync(source, target);
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

/**
 * Registers `<rm path>`, `<cp path to>` or `<mv path to>`: on entries (paths
 * with a scheme; globs for rm) the store verb runs at once as the model; on
 * files the operation is checked now (confinement, readonly, existence) and
 * proposed, and it happens on disk only when accepted.
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
      const to = call.attributes.to?.trim() ?? null;
      if (!from) throw new RummyError(400, `<${op}> needs a path`);
      if (op !== "rm" && !to)
        throw new RummyError(400, `<${op} path="…" to="…"/> needs a destination`);
      if (hasScheme(from) || (to !== null && hasScheme(to))) {
        const result =
          op === "rm"
            ? turn.store.rm({
                runId: turn.runId,
                ...(isGlob(from) ? { pattern: from } : { path: from }),
                writer: "model",
              })
            : turn.store[op]({
                runId: turn.runId,
                from,
                to: to!,
                turn: turn.turn,
                loopId: turn.loopId,
                writer: "model",
              });
        if (!result.ok) throw new RummyError(result.status, result.error ?? `<${op}> failed`);
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          body: `${op} ${result.paths?.join(", ") ?? from}${to ? ` → ${to}` : ""}`,
          writer: "system",
        });
        return;
      }
      if (!turn.projectRoot)
        throw new RummyError(400, "this project has no root, so files cannot be changed");
      const source = confine(turn.projectRoot, from);
      if (to !== null) confine(turn.projectRoot, to);
      if (!existsSync(source)) throw new RummyError(404, `${from} does not exist`);
      if (op !== "cp" && isReadonly(core, turn.projectId, from))
        throw new RummyError(403, `${from} is readonly`);
      if (to !== null && isReadonly(core, turn.projectId, to))
        throw new RummyError(403, `${to} is readonly`);
      turn.store.set({
        runId: turn.runId,
        path: call.resultPath,
        body: `${op} ${from}${to ? ` → ${to}` : ""}`,
        state: "proposed",
        attributes: { path: from, ...(to ? { to } : {}), file: true },
        writer: "plugin",
      });
    },
  });
  ctx.on<ProposalEvent>(ENGINE_EVENTS.proposalAccepted, (event) => {
    if (event.action !== op || event.attributes.file !== true) return;
    fileOperation(
      core,
      event.projectId,
      op,
      String(event.attributes.path),
      typeof event.attributes.to === "string" ? event.attributes.to : null,
    );
  });
}
