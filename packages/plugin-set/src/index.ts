import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import {
  definePlugin,
  ENGINE_EVENTS,
  hasScheme,
  type ProposalEvent,
  readToolDoc,
  recordModelEntry,
  RummyError,
  type Visibility,
} from "@rummy/core";
import {
  confine,
  isReadonly,
  refuseReadonly,
  refuseServerPrivate,
  writeInside,
} from "@rummy/plugin-file";
import { createTwoFilesPatch } from "diff";
import { applyEdit, type ParsedEdit, parseEdit } from "@rummy/plugin-hedberg";

const VISIBILITY = new Set(["visible", "summarized", "archived"]);

/**
 * `<set>`: entries are written directly (as the model, so scheme
 * permissions apply); file paths become proposals carrying the new content
 * and a unified diff, written to disk atomically when accepted — never for
 * readonly files or paths outside the project.
 */
export default definePlugin({
  name: "set",
  version: "0.1.0",
  setup(ctx) {
    const core = ctx.core;
    ctx.registerTool({
      name: "set",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      handler(call, turn) {
        const path = call.attributes.path?.trim();
        if (!path)
          throw new RummyError(400, '<set> needs a path: <set path="known://topic">…</set>');
        const visibility = call.attributes.visibility;
        if (visibility !== undefined && !VISIBILITY.has(visibility))
          throw new RummyError(400, `visibility must be visible, summarized or archived`);
        if (hasScheme(path)) {
          recordModelEntry(call, turn, {
            path,
            body: call.body,
            ...(visibility ? { visibility: visibility as Visibility } : {}),
            ...(call.attributes.summary !== undefined
              ? { attributes: { summary: call.attributes.summary } }
              : {}),
          });
          return;
        }
        // A file: compute the new content now, so the user reviews exactly what will be written.
        if (!turn.projectRoot)
          throw new RummyError(400, "this project has no root, so files cannot be edited");
        const absolute = confine(turn.projectRoot, path);
        refuseServerPrivate(core.home, turn.projectRoot, path);
        const relativePath = relative(turn.projectRoot, absolute).split("\\").join("/");
        refuseReadonly((p) => isReadonly(core, turn.projectId, p), turn.projectRoot, path);
        const exists = existsSync(absolute);
        const before = exists ? readFileSync(absolute, "utf8") : "";
        const edit = parseEdit(call.body, call.attributes);
        if (edit.content === undefined && !exists) {
          throw new RummyError(
            404,
            `${relativePath} does not exist; write the whole file instead of an edit`,
          );
        }
        const after = applyEdit(before, edit);
        const patch = createTwoFilesPatch(
          `a/${relativePath}`,
          `b/${relativePath}`,
          before,
          after,
          "",
          "",
          { context: 3 },
        );
        // 2.0.1's names: the file, a unified diff (`patch`) and SEARCH/REPLACE blocks (`merge`).
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          body: after,
          state: "proposed",
          attributes: {
            path: relativePath,
            file: relativePath,
            patch,
            merge: mergeBlocks(edit, after),
            created: !exists,
          },
          writer: "plugin",
        });
      },
    });
    ctx.on<ProposalEvent>(ENGINE_EVENTS.proposalAccepted, (event) => {
      if (event.action !== "set" || typeof event.attributes.patch !== "string") return;
      const relativePath = String(event.attributes.path);
      const root = core.projects.get(event.projectId)?.root;
      if (!root) throw new RummyError(400, "the project has no root");
      // Checked again at acceptance: constraints or links may have changed since the proposal.
      confine(root, relativePath);
      refuseServerPrivate(core.home, root, relativePath);
      refuseReadonly((p) => isReadonly(core, event.projectId, p), root, relativePath);
      writeInside(root, relativePath, event.body);
      core.store.set({
        projectId: event.projectId,
        path: relativePath,
        body: event.body,
        writer: "plugin",
      });
      core.store.set({
        runId: event.runId,
        path: relativePath,
        visibility: "visible",
        turn: event.turn,
        writer: "plugin",
      });
      // A file the model wrote stays in play (2.0.1 adds an "active" constraint); a rule already set stands.
      const constrained = core.fileConstraints
        .list(event.projectId)
        .some((c) => c.pattern === relativePath);
      if (!constrained) core.fileConstraints.set(event.projectId, relativePath, "active");
    });
  },
});

/** The edit as SEARCH/REPLACE blocks (2.0.1's `merge`); a whole-file write has an empty SEARCH. */
function mergeBlocks(edit: ParsedEdit, after: string): string {
  const block = (search: string, replace: string) =>
    `<<<<<<< SEARCH\n${search}${search ? "\n" : ""}=======\n${replace}\n>>>>>>> REPLACE`;
  if (edit.replacements?.length)
    return edit.replacements.map((r) => block(r.search, r.replace)).join("\n");
  return block("", edit.content ?? after);
}
