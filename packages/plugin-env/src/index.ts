import { definePlugin, readToolDoc } from "@rummy/core";
import { registerShellTool } from "@rummy/plugin-sh";

/** `<env>`: read-only commands, offered in both modes; same proposal and streaming flow as `<sh>`. */
export default definePlugin({
  name: "env",
  version: "0.1.0",
  setup(ctx) {
    registerShellTool(ctx, {
      name: "env",
      doc: readToolDoc(new URL("../doc.md", import.meta.url)),
    });
  },
});
