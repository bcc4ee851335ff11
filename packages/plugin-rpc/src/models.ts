import { type PluginContext, RummyError } from "@rummy/core";
import { limitParams, page, type RpcShared } from "./shared.js";

/** The models table: `getModels`, `addModel`, `removeModel`, and the aliases seeded from the environment. */
export function registerModels(ctx: PluginContext, _shared: RpcShared): void {
  const core = ctx.core;
  ctx.registerRpc("getModels", {
    description: "List the models: [{ alias, actual, context_length }].",
    requiresInit: false,
    params: limitParams,
    handler: (params: { limit?: number; offset?: number }) =>
      page(core.models.list(), params).map((m) => ({
        alias: m.alias,
        actual: m.target,
        context_length: m.contextLength,
      })),
  });
  ctx.registerRpc("addModel", {
    description: "Add or update a model alias. Returns { alias }.",
    requiresInit: false,
    params: {
      alias: { type: "string", required: true, maxLength: 200, description: "short name" },
      actual: { type: "string", required: true, maxLength: 500, description: "provider/model" },
      contextLength: { type: "integer", min: 1, description: "context window in tokens" },
    },
    handler: (params: { alias: string; actual: string; contextLength?: number }) => {
      const m = core.models.upsert({
        alias: params.alias,
        target: params.actual,
        contextLength: params.contextLength ?? null,
        source: "client",
      });
      return { alias: m.alias, actual: m.target };
    },
  });
  ctx.registerRpc("removeModel", {
    description: "Remove a model alias.",
    requiresInit: false,
    params: { alias: { type: "string", required: true, description: "model alias" } },
    handler: (params: { alias: string }) => {
      if (!core.models.remove(params.alias))
        throw new RummyError(404, `no model '${params.alias}'`);
      return { status: "ok" };
    },
  });
}

/**
 * Seeds `RUMMY_MODEL_<alias>="provider/model"` from the environment into the models table.
 * Runs first at setup, so a bad variable stops the server before anything is registered.
 */
export function seedModels(ctx: PluginContext): void {
  for (const [key, value] of Object.entries(ctx.env)) {
    if (!key.startsWith("RUMMY_MODEL_") || !value) continue;
    const alias = key.slice("RUMMY_MODEL_".length);
    try {
      ctx.core.models.upsert({ alias, target: value.trim(), contextLength: null, source: "env" });
    } catch (error) {
      throw new RummyError(400, `${key}=${value}: ${(error as Error).message}`);
    }
  }
}
