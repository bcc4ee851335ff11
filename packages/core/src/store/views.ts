import { createHash } from "node:crypto";
import { badRequest } from "../errors.js";
import { schemeOf } from "../paths.js";
import type { Visibility, Writer } from "../types.js";
import type { StoreContext } from "./context.js";
import { checkWriter, type ViewFields } from "./rows.js";
import type { GetQuery } from "./types.js";

/**
 * Shared view sets. A run's first look at many project entries is one set of
 * (entry, visibility) rows that every run given the same look points at, so a
 * new run costs its own views, not the project's size. A run's own row in
 * `run_views` overrides the shared one; the first change to a shared view
 * writes the run a row of its own.
 */

/** The entries a run sees only through its shared views (it has no row of its own for them). */
export function sharedOnly(ctx: StoreContext, runId: number): Set<number> {
  return new Set(ctx.stmt.sharedOnly.all(runId) as number[]);
}

/**
 * Gives a run the shared views another run inherited (a fork's start, or a new run's first look
 * when it is the same as an earlier run's), with the given turn and writer. Views of its own
 * still win over them. False when there is nothing to share or the run already has a shared set.
 */
export function shareViews(
  ctx: StoreContext,
  fromRunId: number,
  toRunId: number,
  turn: number,
  writer: Writer,
): boolean {
  checkWriter(writer);
  // A set holds one project's entries: another project's run must not see them, and caches that
  // follow a project's changes (by the run's project) would miss them.
  if (ctx.projectOf(fromRunId) !== ctx.projectOf(toRunId))
    throw badRequest(`run ${toRunId} cannot share the views of run ${fromRunId}: another project`);
  const link = ctx.stmt.runSet.get(fromRunId) as { set_id: number } | undefined;
  if (!link || ctx.stmt.runSet.get(toRunId)) return false;
  ctx.stmt.link.run(toRunId, link.set_id, turn, writer);
  const runId = toRunId;
  ctx.notify({
    op: "set",
    runId,
    path: "*",
    scope: `run:${runId}`,
    state: null,
    visibility: null,
    created: false,
    appended: false,
    writer,
  });
  return true;
}

export function share(
  ctx: StoreContext,
  runId: number,
  views: readonly { entryId: number; path: string; scope: string; visibility: Visibility }[],
  turn: number,
  writer: Writer,
): void {
  const sorted = [...views].sort((a, b) => a.entryId - b.entryId);
  const scope = sorted[0]!.scope;
  const digest = createHash("sha256")
    .update(sorted.map((v) => `${v.scope}\t${v.entryId}\t${v.visibility}`).join("\n"))
    .digest("hex");
  let setId = ctx.stmt.findSet.get(scope, digest) as number | undefined;
  // Entries leave sets when they are deleted (and ids can be reused): a set still matches only whole.
  if (setId !== undefined && (ctx.stmt.setSize.get(setId) as number) !== sorted.length) {
    ctx.stmt.retireSet.run(setId);
    setId = undefined;
  }
  if (setId === undefined) {
    const schemes = [...new Set(sorted.map((v) => schemeOf(v.path)))];
    setId = ctx.stmt.insertSet.get(scope, digest, JSON.stringify(schemes)) as number;
    for (const v of sorted) ctx.stmt.insertSetRow.run(setId, v.entryId, v.visibility);
  }
  ctx.stmt.link.run(runId, setId, turn, writer);
  for (const v of views) {
    ctx.notify({
      op: "set",
      runId,
      path: v.path,
      scope: v.scope,
      state: "resolved",
      visibility: v.visibility,
      created: false,
      appended: false,
      writer,
    });
  }
}

/** The shared view a run inherited of an entry, in the shape of its own row. */
export function sharedView(
  ctx: StoreContext,
  runId: number,
  entryId: number,
): ViewFields | undefined {
  const shared = ctx.stmt.shared.get(entryId, runId) as
    | { visibility: Visibility; turn: number; writer: Writer | null }
    | undefined;
  if (!shared) return undefined;
  return {
    state: "resolved",
    outcome: null,
    visibility: shared.visibility,
    turn: shared.turn,
    loop_id: null,
    write_count: 1,
  };
}

/** Turns the run's shared views into rows of its own (before it drops one of them). */
export function ownViews(ctx: StoreContext, runId: number): void {
  ctx.stmt.ownCopy.run(runId);
  const setId = ctx.stmt.unlink.get(runId) as number | undefined;
  if (setId !== undefined) ctx.stmt.dropUnusedSet.run(setId, setId);
}

/** Whether a run query may match one of the run's shared views (cheap checks only). */
export function mayInherit(ctx: StoreContext, runId: number, query: GetQuery): boolean {
  const link = ctx.stmt.runSet.get(runId) as { set_id: number } | undefined;
  if (!link) return false;
  if (query.state !== undefined) {
    const states = Array.isArray(query.state) ? query.state : [query.state];
    if (!states.includes("resolved")) return false;
  }
  let schemes = ctx.setSchemes.get(link.set_id);
  if (!schemes) {
    schemes = new Set(JSON.parse(ctx.stmt.setSchemes.get(link.set_id) as string) as string[]);
    if (ctx.setSchemes.size > 1000) ctx.setSchemes.clear();
    ctx.setSchemes.set(link.set_id, schemes);
  }
  const wanted: string[] = [];
  if (query.scheme !== undefined) {
    wanted.push(...(Array.isArray(query.scheme) ? query.scheme : [query.scheme as string]));
    if (!wanted.some((s) => schemes.has(s))) return false;
  }
  if (query.path !== undefined && !schemes.has(schemeOf(query.path))) return false;
  if (query.pattern !== undefined) {
    const literal = /^[^*?[]*/.exec(query.pattern)![0];
    if (literal.includes("://") && !schemes.has(schemeOf(literal))) return false;
  }
  return true;
}
