import { definePlugin } from "@rummy/core";
import { ENGINE_CONFIG } from "./config.js";
import { AgentEngine } from "./engine.js";

/**
 * The engine as a plugin: reads ENGINE_CONFIG (a bad value fails the load
 * with one line per key), installs the agent loop as `core.engine`, and stops
 * every loop when the core closes, before the database does.
 */
export const enginePlugin = definePlugin({
  name: "engine",
  setup(ctx) {
    const engine = new AgentEngine(ctx.core, ctx.readConfig(ENGINE_CONFIG));
    ctx.provideEngine(engine);
    ctx.on("core.closing", () => engine.shutdown(), 0);
  },
});
