import { hasScheme, type Tool, type ToolCall, type ToolContext, definePlugin } from "@rummy/core";

const FILE_CHANGES = new Set(["set", "rm", "mv", "cp"]);
const WEB = new Set(["search", "fetch"]);

/**
 * `policy`: what a loop may do, by mode and flags. Ask mode runs no `<sh>`
 * and changes no files; `noInteraction` forbids `<ask_user>`; `noWeb`
 * forbids web tools. A refusal is a 403 the model sees as an error.
 */
export default definePlugin({
  name: "policy",
  version: "0.1.0",
  setup(ctx) {
    ctx.filter<string | null, { call: ToolCall; tool: Tool; context: ToolContext }>(
      "dispatch.policy",
      (refusal, { call, context }) => refusal ?? decide(call, context),
      10,
    );
  },
});

/** Why this command may not run in this loop, or null when it may. */
export function decide(call: ToolCall, context: ToolContext): string | null {
  if (context.mode === "ask") {
    if (call.name === "sh")
      return "<sh> has side effects and ask mode allows none; use <env> for read-only commands";
    if (FILE_CHANGES.has(call.name)) {
      const targets = [call.attributes.path, call.attributes.to].filter(
        (p): p is string => typeof p === "string" && p.length > 0,
      );
      if (targets.some((p) => !hasScheme(p)))
        return `<${call.name}> would change project files, which ask mode does not allow`;
    }
  }
  if (context.flags.noInteraction && call.name === "ask_user")
    return "this run does not ask the user questions (noInteraction)";
  if (context.flags.noWeb && WEB.has(call.name))
    return `<${call.name}> reaches the web, which this run does not allow (noWeb)`;
  return null;
}
