import { definePlugin, readToolDoc } from "@rummy/core";
import { registerFileOperationTool } from "@rummy/plugin-file";

/** `<mv>`: on entries at once (as the model); on files as a proposal carried out on acceptance. */
export default definePlugin({
  name: "mv",
  version: "0.1.0",
  setup(ctx) {
    registerFileOperationTool(ctx, "mv", readToolDoc(new URL("../doc.md", import.meta.url)));
  },
});
