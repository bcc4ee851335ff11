import { definePlugin, type PluginContext } from "@rummy/core";
import { registerConstraints } from "./constraints.js";
import { registerHandshake } from "./handshake.js";
import { registerModels, seedModels } from "./models.js";
import { registerNotifications } from "./notifications.js";
import { registerPrimitives } from "./primitives.js";
import { registerQueries } from "./queries.js";
import { registerRuns } from "./runs.js";
import { readShared, type RpcShared } from "./shared.js";
import { registerTools } from "./tools.js";

export { RUMMY_PROTOCOL_VERSION } from "./handshake.js";
export { allowedProjectParents, resolveProjectRoot } from "./project-root.js";

/** The areas of the protocol, each registering its own methods (the README's "Layout" says which). */
const AREAS: readonly ((ctx: PluginContext, shared: RpcShared) => void)[] = [
  registerHandshake,
  registerPrimitives,
  registerRuns,
  registerModels,
  registerConstraints,
  registerQueries,
  registerNotifications,
  registerTools,
];

/**
 * The rpc plugin: every method a 2.0 client uses, registered through the
 * core's RPC registry (the transport serves whatever is registered), plus
 * the mapping of engine events onto the notifications clients listen for.
 */
export default definePlugin({
  name: "rpc",
  version: "0.1.0",
  setup(ctx) {
    seedModels(ctx);
    const shared = readShared(ctx.core.env);
    for (const register of AREAS) register(ctx, shared);
  },
});
