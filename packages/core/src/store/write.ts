import { badRequest, RummyError } from "../errors.js";
import { statusOf } from "../status.js";
import {
  type Attributes,
  ENTRY_STATES,
  VISIBILITIES,
  type Visibility,
  type Writer,
} from "../types.js";
import type { StoreContext } from "./context.js";
import {
  checkAttributes,
  checkPath,
  checkWriter,
  forbidden,
  hashOf,
  mergeAttributes,
  parseJson,
  type Row,
  type ViewFields,
} from "./rows.js";
import { get, getOne } from "./read.js";
import type {
  CopyInput,
  Locus,
  RemoveInput,
  SetInput,
  SetPatternInput,
  StoreChange,
  WriteResult,
} from "./types.js";
import { ownViews, share, sharedView } from "./views.js";

/** The write path: one entry, a pattern's worth, removals, copies and bulk views. */

/** Creates or updates one entry (and the run's view of it). */
export function set(ctx: StoreContext, input: SetInput): WriteResult {
  const writer = input.writer ?? "plugin";
  checkWriter(writer);
  const path = checkPath(input.path);
  if (input.state !== undefined && !ENTRY_STATES.includes(input.state)) {
    throw badRequest(`invalid state '${String(input.state)}'`);
  }
  if (input.visibility !== undefined && !VISIBILITIES.includes(input.visibility)) {
    throw badRequest(`invalid visibility '${String(input.visibility)}'`);
  }
  if (input.body !== undefined && typeof input.body !== "string") {
    throw badRequest("body must be a string");
  }
  if (input.append && input.body === undefined) throw badRequest("append needs a body");
  checkAttributes(input.attributes);
  // Visibility is the run's own view of an entry, not its content: changing only that needs no write permission.
  const viewOnly =
    input.runId !== undefined &&
    input.body === undefined &&
    input.attributes === undefined &&
    input.state === undefined &&
    input.outcome === undefined;
  const access = ctx.access(path, viewOnly ? "system" : writer, input);
  if ("denied" in access) return access.denied;
  const { scope, runId } = access;

  const result = ctx.db.transaction((): WriteResult => {
    const row = ctx.stmt.findForRun.get(runId ?? -1, scope, path) as Row | undefined;
    const created = !row;
    const attributes = mergeAttributes(row ? parseJson(row.attributes) : {}, input.attributes);
    const attributesJson = JSON.stringify(attributes);
    let entryId: number;
    if (!row) {
      const body = input.body ?? "";
      entryId = ctx.stmt.insertEntry.get(
        scope,
        path,
        body,
        attributesJson,
        hashOf(body),
        ctx.tokenizer.count(body),
      ) as number;
    } else {
      entryId = row.id;
      if (input.body !== undefined && input.append) {
        ctx.stmt.appendBody.run(
          input.body,
          attributesJson,
          ctx.tokenizer.count(input.body),
          entryId,
        );
      } else if (input.body !== undefined) {
        ctx.stmt.replaceBody.run(
          input.body,
          attributesJson,
          hashOf(input.body),
          ctx.tokenizer.count(input.body),
          entryId,
        );
      } else if (input.attributes !== undefined) {
        ctx.stmt.setAttributes.run(attributesJson, entryId);
      }
    }
    if (runId === undefined) {
      return { ok: true, status: 200, path, entryId, created };
    }
    // The run's view: its own row, else the shared one it inherited (written over on first change).
    const view: ViewFields | undefined =
      row?.run_id != null ? row : row ? sharedView(ctx, runId, entryId) : undefined;
    const state = input.state ?? view?.state ?? "resolved";
    const outcome =
      input.outcome !== undefined
        ? input.outcome
        : input.state !== undefined
          ? null
          : (view?.outcome ?? null);
    const visibility = input.visibility ?? view?.visibility ?? "visible";
    const turn = input.turn ?? view?.turn ?? 0;
    const loopId = input.loopId !== undefined ? input.loopId : (view?.loop_id ?? null);
    if (row?.run_id != null) {
      ctx.stmt.updateView.run(loopId, turn, state, outcome, visibility, writer, runId, entryId);
    } else if (view) {
      ctx.stmt.insertViewCounted.run(
        runId,
        entryId,
        loopId,
        turn,
        state,
        outcome,
        visibility,
        writer,
        view.write_count! + 1,
      );
    } else {
      ctx.stmt.insertView.run(runId, entryId, loopId, turn, state, outcome, visibility, writer);
    }
    return { ok: true, status: statusOf(state, outcome), path, state, outcome, entryId, created };
  })();

  ctx.notify({
    op: "set",
    runId: runId ?? null,
    path,
    scope,
    state: result.state ?? null,
    visibility: input.visibility ?? null,
    created: result.created ?? false,
    appended: Boolean(input.append),
    writer,
  });
  return result;
}

/** Changes state, outcome, visibility or attributes of every entry in the run's view matching `pattern`. */
export function setPattern(ctx: StoreContext, input: SetPatternInput): WriteResult {
  const writer = input.writer ?? "plugin";
  checkWriter(writer);
  if (input.runId === undefined) throw badRequest("a pattern set needs a run");
  if (input.state !== undefined && !ENTRY_STATES.includes(input.state)) {
    throw badRequest(`invalid state '${String(input.state)}'`);
  }
  if (input.visibility !== undefined && !VISIBILITIES.includes(input.visibility)) {
    throw badRequest(`invalid visibility '${String(input.visibility)}'`);
  }
  checkAttributes(input.attributes);
  const matches = get(ctx, {
    runId: input.runId,
    pattern: input.pattern,
    includeBody: false,
    ...(input.whereVisibility !== undefined ? { visibility: input.whereVisibility } : {}),
    ...(input.bodyFilter !== undefined ? { bodyFilter: input.bodyFilter } : {}),
  });
  const viewOnly =
    input.state === undefined && input.outcome === undefined && input.attributes === undefined;
  const denied = viewOnly ? undefined : matches.find((e) => !ctx.writable(e.scheme, writer));
  if (denied) {
    return forbidden(denied.path, writer, `cannot write '${denied.path}'`);
  }
  ctx.batch(() => {
    for (const entry of matches) {
      set(ctx, {
        runId: input.runId,
        path: entry.path,
        writer,
        ...(input.state !== undefined ? { state: input.state } : {}),
        ...(input.outcome !== undefined ? { outcome: input.outcome } : {}),
        ...(input.visibility !== undefined ? { visibility: input.visibility } : {}),
        ...(input.attributes !== undefined ? { attributes: input.attributes } : {}),
      });
    }
  });
  return {
    ok: true,
    status: 200,
    path: input.pattern,
    count: matches.length,
    paths: matches.map((e) => e.path),
  };
}

/**
 * Removes entries. Inside a run this removes the run's view; content owned
 * by the run (scope `run:N`) is deleted with it, shared content stays for
 * the other runs and the project.
 */
export function rm(ctx: StoreContext, input: RemoveInput): WriteResult {
  const writer = input.writer ?? "plugin";
  checkWriter(writer);
  if ((input.path === undefined) === (input.pattern === undefined)) {
    throw badRequest("rm takes exactly one of path or pattern");
  }
  const target = input.path !== undefined ? checkPath(input.path) : input.pattern!;
  const matches = get(ctx, {
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
    ...(input.projectId !== undefined ? { projectId: input.projectId } : {}),
    ...(input.path !== undefined ? { path: target } : { pattern: target }),
    ...(input.bodyFilter !== undefined ? { bodyFilter: input.bodyFilter } : {}),
    includeBody: false,
  });
  if (matches.length === 0) {
    return { ok: false, status: 404, path: target, count: 0, error: `no entry at '${target}'` };
  }
  const denied = matches.find((e) => !ctx.writable(e.scheme, writer));
  if (denied) return forbidden(denied.path, writer, `cannot remove '${denied.path}'`);
  const runScope = input.runId !== undefined ? `run:${input.runId}` : undefined;
  const changes: StoreChange[] = [];
  ctx.db.transaction(() => {
    if (input.runId !== undefined && matches.some((e) => e.scope !== runScope)) {
      ownViews(ctx, input.runId);
    }
    for (const entry of matches) {
      if (input.runId !== undefined) ctx.stmt.deleteView.run(input.runId, entry.id);
      if (input.runId === undefined || entry.scope === runScope) {
        ctx.stmt.deleteEntry.run(entry.id);
      }
      changes.push({
        op: "rm",
        runId: input.runId ?? null,
        path: entry.path,
        scope: entry.scope,
        writer,
      });
    }
  })();
  for (const change of changes) ctx.notify(change);
  return {
    ok: true,
    status: 200,
    path: target,
    count: matches.length,
    paths: matches.map((e) => e.path),
  };
}

/** A copy (or with `move`, a rename) of an entry to a new path, in one transaction. */
export function copy(ctx: StoreContext, input: CopyInput, move: boolean): WriteResult {
  const writer = input.writer ?? "plugin";
  checkWriter(writer);
  const from = checkPath(input.from);
  const to = checkPath(input.to);
  const locus: Locus = {
    ...(input.runId !== undefined ? { runId: input.runId } : {}),
    ...(input.projectId !== undefined ? { projectId: input.projectId } : {}),
  };
  const source = getOne(ctx, locus, from);
  if (!source) return { ok: false, status: 404, path: from, error: `no entry at '${from}'` };
  if (from === to)
    return { ok: false, status: 409, path: to, error: "source and destination are the same" };
  if (move && !ctx.writable(source.scheme, writer)) {
    return forbidden(from, writer, `cannot move '${from}'`);
  }
  return ctx.batch(() => {
    const existing = getOne(ctx, locus, to);
    const clearAttributes: Attributes = {};
    for (const key of Object.keys(existing?.attributes ?? {})) clearAttributes[key] = null;
    const written = set(ctx, {
      ...locus,
      path: to,
      body: source.body,
      attributes: { ...clearAttributes, ...source.attributes },
      state: "resolved",
      writer,
      ...(input.turn !== undefined ? { turn: input.turn } : {}),
      ...(input.loopId !== undefined ? { loopId: input.loopId } : {}),
      ...(input.visibility !== undefined
        ? { visibility: input.visibility }
        : source.visibility
          ? { visibility: source.visibility }
          : {}),
    });
    if (!written.ok || !move) return written;
    const removed = rm(ctx, { ...locus, path: from, writer });
    if (!removed.ok) throw new RummyError(removed.status, removed.error ?? "move failed");
    return written;
  });
}

/**
 * Gives a run views of many existing project (or global) entries at once, as `set` with only a
 * visibility would for each: state resolved, no outcome, the given turn and writer. A run's first
 * such batch is shared — runs given the same entries with the same visibilities point at one set
 * of rows — so a new run costs its own views, not the project's size. Paths the run already has
 * a view of, or that name no entry, go through `set` one by one.
 */
export function addViews(
  ctx: StoreContext,
  input: {
    readonly runId: number;
    readonly views: readonly { readonly path: string; readonly visibility: Visibility }[];
    readonly turn?: number;
    readonly writer?: Writer;
  },
): WriteResult {
  const writer = input.writer ?? "plugin";
  checkWriter(writer);
  const runId = input.runId;
  const turn = input.turn ?? 0;
  const shareable: { entryId: number; path: string; scope: string; visibility: Visibility }[] = [];
  const rest: { path: string; visibility: Visibility }[] = [];
  const canShare = ctx.stmt.runSet.get(runId) === undefined;
  for (const view of input.views) {
    if (!VISIBILITIES.includes(view.visibility)) {
      throw badRequest(`invalid visibility '${String(view.visibility)}'`);
    }
    const access = ctx.access(checkPath(view.path), "system", { runId });
    if ("denied" in access) return access.denied;
    const row =
      canShare && !access.scope.startsWith("run:")
        ? (ctx.stmt.findForRun.get(runId, access.scope, view.path) as Row | undefined)
        : undefined;
    if (row && row.run_id == null) {
      shareable.push({
        entryId: row.id,
        path: view.path,
        scope: row.scope,
        visibility: view.visibility,
      });
    } else rest.push(view);
  }
  ctx.batch(() => {
    if (shareable.length > 0) share(ctx, runId, shareable, turn, writer);
    for (const view of rest) {
      set(ctx, { runId, path: view.path, visibility: view.visibility, turn, writer });
    }
  });
  return { ok: true, status: 200, path: "*", count: input.views.length };
}
