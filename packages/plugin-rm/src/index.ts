import { definePlugin, readToolDoc } from "@rummy/core";
import { registerFileOperationTool } from "@rummy/plugin-file";

/** `<rm>`: on entries at once (as the model); on files as a proposal carried out on acceptance. */
export default definePlugin({
  name: "rm",
  version: "0.1.0",
  setup(ctx) {
    registerFileOperationTool(ctx, "rm", readToolDoc(new URL("../doc.md", import.meta.url)));
  },
});
