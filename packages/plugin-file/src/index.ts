import { type Entry, definePlugin, type RummyCore } from "@rummy/core";
import { type StatCache, scanProject } from "./scan.js";

export { atomicWrite, confine } from "./confine.js";
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
 * start of every turn the project root is rescanned — cheaply: unchanged
 * files cost a stat — and the run gets a summarized view of files it has
 * not seen (unless the loop has `noRepo`), so the model knows they exist and
 * reads them with `<get>`.
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
    ctx.on<TurnStarted>("turn.started", (event) => {
      const root = core.projects.get(event.projectId)?.root;
      if (!root) return;
      let cache = caches.get(event.projectId);
      if (!cache) {
        cache = new Map();
        caches.set(event.projectId, cache);
      }
      scanProject(core, event.projectId, root, cache, {
        maxFiles: config.RUMMY_FILE_MAX_FILES as number,
        maxFileBytes: config.RUMMY_FILE_MAX_BYTES as number,
      });
      if (core.loops.get(event.loopId)?.flags.noRepo) return;
      addViews(
        core,
        event.runId,
        event.projectId,
        event.turn,
        config.RUMMY_FILE_MAX_VIEWS as number,
      );
    });
  },
});

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
  core.store.batch(() => {
    for (const file of files) {
      core.store.set({
        runId,
        path: file.path,
        visibility: shown++ < maxViews ? "summarized" : "archived",
        turn,
        writer: "plugin",
      });
    }
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
