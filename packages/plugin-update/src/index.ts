import { readToolDoc, RummyError, definePlugin } from "@rummy/core";

const STATUSES = new Set([102, 200, 204, 422]);

/**
 * `update`: the model's progress and terminal signal. The engine reads the
 * turn's last update for its verdict; this tool checks the status and keeps
 * it on the entry.
 */
export default definePlugin({
  name: "update",
  version: "0.1.0",
  setup(ctx) {
    ctx.registerTool({
      name: "update",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      handler(call, turn) {
        const raw = call.attributes.status ?? "102";
        const status = Number(raw);
        if (!STATUSES.has(status)) {
          throw new RummyError(
            400,
            `<update status="${raw}"> is not a status; use 102 (continue), 200 (done), 204 (done, nothing to say) or 422 (cannot answer)`,
          );
        }
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          attributes: { status },
          writer: "system",
        });
      },
    });
  },
});
