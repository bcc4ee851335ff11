import type { PluginContext } from "@rummy/core";
import { projectOf, type RpcShared } from "./shared.js";

/** Project-level file constraints: `file/constraint`, `file/drop`, `getConstraints`. */
export function registerConstraints(ctx: PluginContext, _shared: RpcShared): void {
  const core = ctx.core;
  ctx.registerRpc("file/constraint", {
    description:
      "Set a project-level file constraint: active | readonly | ignore. Patterns may be globs; constraints persist across runs.",
    params: {
      pattern: {
        type: "string",
        required: true,
        maxLength: 2048,
        description: "file path or glob",
      },
      visibility: {
        type: "string",
        required: true,
        enum: ["active", "readonly", "ignore"],
        description: "active | readonly | ignore",
      },
    },
    handler: (params: { pattern: string; visibility: "active" | "readonly" | "ignore" }, call) => {
      const pattern = normalizePattern(params.pattern);
      core.fileConstraints.set(projectOf(call), pattern, params.visibility);
      return { ok: true, pattern };
    },
  });
  ctx.registerRpc("file/drop", {
    description: "Remove a project-level file constraint.",
    params: {
      pattern: {
        type: "string",
        required: true,
        maxLength: 2048,
        description: "file path or glob",
      },
    },
    handler: (params: { pattern: string }, call) => {
      const pattern = normalizePattern(params.pattern);
      core.fileConstraints.remove(projectOf(call), pattern);
      return { ok: true, pattern };
    },
  });
  ctx.registerRpc("getConstraints", {
    description: "The project's file constraints: [{ pattern, visibility }].",
    handler: (_params, call) => core.fileConstraints.list(projectOf(call)),
  });
}

/** `./src/` and `src` name the same constraint. */
function normalizePattern(pattern: string): string {
  return pattern.trim().replace(/^\.\//, "").replace(/\/+$/, "");
}
