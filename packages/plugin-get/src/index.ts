import {
  definePlugin,
  type Entry,
  isGlob,
  readToolDoc,
  RummyError,
  type ToolContext,
} from "@rummy/core";
import { isTextual, mimetypeOf } from "./mimetype.js";

export { isTextual, mimetypeOf } from "./mimetype.js";

/**
 * `<get>`: read entries of any scheme by path, glob and body filter. Without
 * `lines` the matches are promoted to visible (they appear in full in
 * `<context>` next turn); with `lines` only that range is returned, line-
 * numbered, in the command's log entry, and nothing is promoted. Binary
 * mimetypes get a soft 405.
 */
export default definePlugin({
  name: "get",
  version: "0.1.0",
  setup(ctx) {
    ctx.registerTool({
      name: "get",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      handler(call, turn) {
        const path = call.attributes.path?.trim();
        if (!path) throw new RummyError(400, '<get> needs a path: <get path="known://topic"/>');
        const filter = call.body.trim();
        const matches = find(turn, path, filter);
        if (matches.length === 0)
          throw new RummyError(
            404,
            `nothing matches '${path}'${filter ? ` containing '${filter}'` : ""}`,
          );
        const range = call.attributes.lines;
        if (range !== undefined) {
          if (matches.length > 1)
            throw new RummyError(
              400,
              `lines="${range}" reads one entry, but '${path}' matches ${matches.length}`,
            );
          return readLines(turn, call.resultPath, matches[0]!, range);
        }
        const binary = matches.filter((e) => !isTextual(mimetypeOf(e.path, e.attributes)));
        turn.store.batch(() => {
          for (const e of matches) {
            if (binary.includes(e)) continue;
            const shown = turn.store.set({
              runId: turn.runId,
              path: e.path,
              visibility: "visible",
              turn: turn.turn,
              writer: "model",
            });
            if (!shown.ok)
              throw new RummyError(shown.status, shown.error ?? `could not show ${e.path}`);
          }
        });
        const readable = matches.filter((e) => !binary.includes(e));
        const lines = [
          ...readable.map((e) => `${e.path} (${e.tokens} tokens) is now visible`),
          ...binary.map((e) => `${e.path}: ${mimetypeOf(e.path, e.attributes)} fetch unsupported`),
        ];
        const soft405 = readable.length === 0;
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          body: lines.join("\n"),
          ...(soft405 ? { outcome: "405" } : {}),
          attributes: {
            matches: matches.length,
            ...(matches.length === 1
              ? { mimetype: mimetypeOf(matches[0]!.path, matches[0]!.attributes) }
              : {}),
          },
          writer: "system",
        });
      },
    });
  },
});

/** The run's entries matching a path or glob (and a body filter), plus project/global ones it has no view of yet. */
function find(turn: ToolContext, path: string, filter: string): Entry[] {
  const query = {
    ...(isGlob(path) ? { pattern: path } : { path }),
    ...(filter ? { bodyFilter: filter } : {}),
    order: "path" as const,
  };
  const inRun = turn.store.get({ runId: turn.runId, ...query });
  const seen = new Set(inRun.map((e) => e.path));
  const shared = turn.store
    .get({ projectId: turn.projectId, ...query })
    .filter((e) => !seen.has(e.path));
  return [...inRun, ...shared];
}

/** Writes the requested lines, numbered by their place in the whole body, into the log entry. */
function readLines(turn: ToolContext, resultPath: string, entry: Entry, range: string): void {
  const mimetype = mimetypeOf(entry.path, entry.attributes);
  if (!isTextual(mimetype)) {
    turn.store.set({
      runId: turn.runId,
      path: resultPath,
      body: `${mimetype} fetch unsupported`,
      outcome: "405",
      attributes: { mimetype },
      writer: "system",
    });
    return;
  }
  const all = entry.body.split("\n");
  if (all.length > 1 && all.at(-1) === "") all.pop();
  const m = /^\s*(\d+)?\s*-\s*(\d+)?\s*$|^\s*(\d+)\s*$/.exec(range);
  if (!m)
    throw new RummyError(
      400,
      `lines="${range}" is not a range; use "10-40", "-40" (the last 40) or "12"`,
    );
  let first: number;
  let last: number;
  if (m[3] !== undefined) first = last = Number(m[3]);
  else if (m[1] === undefined && m[2] !== undefined) {
    last = all.length;
    first = Math.max(1, all.length - Number(m[2]) + 1);
  } else {
    first = Number(m[1] ?? 1);
    last = m[2] !== undefined ? Number(m[2]) : all.length;
  }
  first = Math.max(1, first);
  last = Math.min(all.length, last);
  const body =
    first > last
      ? `(no lines ${range}; ${entry.path} has ${all.length})`
      : all
          .slice(first - 1, last)
          .map((line, i) => `${first + i}:\t${line}`)
          .join("\n");
  turn.store.set({
    runId: turn.runId,
    path: resultPath,
    body,
    attributes: { mimetype, of: entry.path, lines: `${first}-${last}`, total: all.length },
    writer: "system",
  });
}
