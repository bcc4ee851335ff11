import { readToolDoc, type TurnContext, definePlugin } from "@rummy/core";

/**
 * `instructions`: the body of the system prompt — how the store and the
 * turn work — followed by the docs of every tool offered in this mode,
 * rationale comments stripped.
 */
export default definePlugin({
  name: "instructions",
  version: "0.1.0",
  setup(ctx) {
    const intro = readToolDoc(new URL("../instructions.md", import.meta.url));
    ctx.filter<string, TurnContext>(
      "assembly.system",
      (text, turn) => {
        const docs = turn.tools.filter((t) => t.doc).map((t) => t.doc!.trim());
        const mode =
          turn.mode === "ask"
            ? "This is an ask loop: answer from what you can read. You cannot change files or run commands with side effects."
            : "This is an act loop: you may change files and run commands; each change waits for the user's approval.";
        const parts = [intro, mode, docs.length ? `# Tools\n\n${docs.join("\n\n")}` : ""].filter(
          Boolean,
        );
        return `${text ? `${text}\n\n` : ""}${parts.join("\n\n")}`;
      },
      20,
    );
  },
});
