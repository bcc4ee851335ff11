import { enginePlugin } from "./plugin.js";

export { ENGINE_CONFIG } from "./config.js";
export { AgentEngine } from "./engine.js";
export { Pacer } from "./pacer.js";
export { parseModelOutput } from "./parser.js";
export { enginePlugin };

/** The plugin that installs the agent loop: load it first (`loadPlugins(core, { bundled: [engine, …] })`). */
export default enginePlugin;
