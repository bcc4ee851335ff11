import { definePlugin, type Entry, hasScheme, type RummyCore, type StoreChange } from "@rummy/core";
import { type StatCache, scanProject } from "./scan.js";

export {
  atomicWrite,
  confine,
  copyInside,
  moveInside,
  realTarget,
  refuseReadonly,
  refuseServerPrivate,
  removeInside,
  serverPrivate,
  writeInside,
} from "./confine.js";
export {
  constraintFor,
  isReadonly,
  type ScanOptions,
  type ScanResult,
  scanProject,
  type StatCache,
} from "./scan.js";

interface TurnStarted {
  readonly projectId: number;
  readonly runId: number;
  readonly loopId: number;
  readonly turn: number;
}

/**
 * `file`: the project's files as entries (bare paths, project scope). At the
 * start of a turn the project root is rescanned — cheaply: unchanged files
 * cost a stat, and runs starting turns within RUMMY_FILE_SCAN_INTERVAL share
 * one scan — and the run gets a summarized view of files it has not seen
 * (unless the loop has `noRepo`), so the model knows they exist and reads
 * them with `<get>`.
 */
export default definePlugin({
  name: "file",
  version: "0.1.0",
  setup(ctx) {
    const config = ctx.readConfig([
      {
        key: "RUMMY_FILE_MAX_FILES",
        type: "integer",
        default: 5000,
        min: 1,
        max: 1_000_000,
        description: "most files scanned per project",
      },
      {
        key: "RUMMY_FILE_MAX_BYTES",
        type: "integer",
        default: 1_048_576,
        min: 1,
        max: 100_000_000,
        description: "largest file read into an entry",
      },
      {
        key: "RUMMY_FILE_SCAN_INTERVAL",
        type: "integer",
        default: 1000,
        min: 0,
        max: 3_600_000,
        description:
          "a turn rescans the project only when its last scan is older than this (ms); concurrent runs share a scan",
      },
      {
        key: "RUMMY_FILE_MAX_VIEWS",
        type: "integer",
        default: 200,
        min: 0,
        max: 1_000_000,
        description:
          "files a run sees as tiles; the rest start archived (still readable with <get>)",
      },
    ]);
    const core = ctx.core;
    const caches = new Map<number, StatCache>();
    ctx.registerScheme({
      name: "file",
      category: "data",
      defaultScope: "project",
      writableBy: ["client"],
      render: { summarized: (e: Entry) => tile(e) },
    });
    // A project's scans are shared: one rescan serves every run whose turn starts within the interval.
    const lastScan = new Map<number, number>();
    // Bumped whenever a file entry is created (by a scan or an accepted proposal); a run whose
    // views were synced at the current generation has nothing new to see.
    const generation = new Map<string, number>();
    const syncedAt = new Map<number, number>();
    const bump = (scope: string) => generation.set(scope, (generation.get(scope) ?? 0) + 1);
    // Every fresh run's first look at an unchanged file set is the same: the first run to take it
    // is remembered, and later ones share its views instead of building them again. Any file
    // created or removed makes the next first look a new one.
    const fileSet = new Map<number, number>();
    const firstLook = new Map<number, { fileSet: number; runId: number }>();
    const changeFileSet = (projectId: number) =>
      fileSet.set(projectId, (fileSet.get(projectId) ?? 0) + 1);
    ctx.on<StoreChange>("entry.changed", (change) => {
      if (change.op === "set" && change.created && change.runId === null && !hasScheme(change.path))
        bump(change.scope);
    });
    // Observed as the write commits (not as a later event), so no first look can slip in between.
    const unobserve = core.store.observe((change) => {
      if (change.runId !== null || hasScheme(change.path) || !change.scope.startsWith("project:"))
        return;
      if ((change.op === "set" && change.created) || change.op === "rm") {
        changeFileSet(Number(change.scope.slice("project:".length)));
      }
    });
    ctx.on("core.closing", () => unobserve());
    ctx.on<TurnStarted>("turn.started", (event) => {
      const root = core.projects.get(event.projectId)?.root;
      if (!root) return;
      let cache = caches.get(event.projectId);
      if (!cache) {
        cache = new Map();
        caches.set(event.projectId, cache);
      }
      const interval = config.RUMMY_FILE_SCAN_INTERVAL as number;
      if (Date.now() - (lastScan.get(event.projectId) ?? Number.NEGATIVE_INFINITY) >= interval) {
        const scan = scanProject(core, event.projectId, root, cache, {
          maxFiles: config.RUMMY_FILE_MAX_FILES as number,
          maxFileBytes: config.RUMMY_FILE_MAX_BYTES as number,
        });
        lastScan.set(event.projectId, Date.now());
        // Counted here too: change events are delivered after this handler returns.
        if (scan.added.length > 0) bump(`project:${event.projectId}`);
      }
      if (core.loops.get(event.loopId)?.flags.noRepo) return;
      const current = generation.get(`project:${event.projectId}`) ?? 0;
      if (syncedAt.get(event.runId) === current) return;
      const look = firstLook.get(event.projectId);
      const version = fileSet.get(event.projectId) ?? 0;
      const fresh = !syncedAt.has(event.runId) && !hasFileViews(core, event.runId);
      if (
        !(
          fresh &&
          look?.fileSet === version &&
          core.store.shareViews(look.runId, event.runId, event.turn, "plugin")
        )
      ) {
        addViews(
          core,
          event.runId,
          event.projectId,
          event.turn,
          config.RUMMY_FILE_MAX_VIEWS as number,
        );
        if (fresh) firstLook.set(event.projectId, { fileSet: version, runId: event.runId });
      }
      syncedAt.set(event.runId, current);
    });
  },
});

function hasFileViews(core: RummyCore, runId: number): boolean {
  return core.store.get({ runId, scheme: "file", includeBody: false, limit: 1 }).length > 0;
}

/** Gives the run a view of project files it has none of: summarized up to the limit, archived beyond. */
function addViews(
  core: RummyCore,
  runId: number,
  projectId: number,
  turn: number,
  maxViews: number,
): void {
  const seen = new Set(
    core.store.get({ runId, scheme: "file", includeBody: false }).map((e) => e.path),
  );
  const files = core.store
    .get({ projectId, scheme: "file", includeBody: false })
    .filter((e) => !seen.has(e.path));
  if (files.length === 0) return;
  let shown = seen.size;
  // One store verb for the lot: a run's first look at the files is shared with every run that got
  // the same one, so a new run does not copy a view row per file.
  core.store.addViews({
    runId,
    views: files.map((file) => ({
      path: file.path,
      visibility: shown++ < maxViews ? "summarized" : "archived",
    })),
    turn,
    writer: "plugin",
  });
}

/** A file as a one-line tile: its size and whether it may be changed. */
function tile(e: Entry): string {
  const lines = e.body ? e.body.split("\n").length : 0;
  const flags = [e.attributes.readonly ? "readonly" : "", e.attributes.binary ? "binary" : ""]
    .filter(Boolean)
    .join(", ");
  return `${lines} lines${flags ? ` (${flags})` : ""}`;
}

export { fileOperation, type FileOperation, registerFileOperationTool } from "./operations.js";
