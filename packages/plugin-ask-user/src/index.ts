import { definePlugin, readToolDoc, RummyError } from "@rummy/core";

/**
 * `<ask_user>`: a question as a proposal. The client resolves it with the
 * answer as its body (`set {run, path, state: "resolved", body}`); the answer
 * lands in the entry's body and shows in the model's log next turn.
 */
export default definePlugin({
  name: "ask_user",
  version: "0.1.0",
  setup(ctx) {
    ctx.registerTool({
      name: "ask_user",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      handler(call, turn) {
        const question = call.body.trim();
        if (!question) throw new RummyError(400, "<ask_user> needs the question as its body");
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          body: question,
          state: "proposed",
          attributes: { question },
          writer: "plugin",
        });
      },
    });
    ctx.on<{ action: string; runId: number; path: string; attributes: Record<string, unknown> }>(
      "proposal.accepted",
      (event) => {
        if (event.action !== "ask_user") return;
        const answer =
          typeof event.attributes.resolution === "string" ? event.attributes.resolution : "";
        ctx.store.set({
          runId: event.runId,
          path: event.path,
          body: `Q: ${String(event.attributes.question ?? "")}\nA: ${answer || "(no answer)"}`,
        });
      },
    );
  },
});
