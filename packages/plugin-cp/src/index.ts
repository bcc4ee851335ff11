import { definePlugin, readToolDoc } from "@rummy/core";
import { registerFileOperationTool } from "@rummy/plugin-file";

/** `<cp>`: on entries at once (as the model); on files as a proposal carried out on acceptance. */
export default definePlugin({
  name: "cp",
  version: "0.1.0",
  setup(ctx) {
    registerFileOperationTool(ctx, "cp", readToolDoc(new URL("../doc.md", import.meta.url)));
  },
});
