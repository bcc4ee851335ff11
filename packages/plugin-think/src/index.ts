import { readToolDoc, definePlugin } from "@rummy/core";

/** `think`: reasoning the model writes down. Recorded in the log by the engine; nothing else happens. */
export default definePlugin({
  name: "think",
  version: "0.1.0",
  setup(ctx) {
    ctx.registerTool({
      name: "think",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
      handler() {
        // The engine already recorded the thought at the command's log path.
      },
    });
  },
});
