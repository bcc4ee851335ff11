import { CORE_CONFIG, ConfigError, type ConfigSpec, type Env, readConfig } from "./config.js";

/** Settings read outside any plugin (the logger, the transport), validated with the core's own. */
export const BOOT_CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_LOG_LEVEL",
    type: "enum",
    default: "info",
    values: ["debug", "info", "warn", "error", "silent"],
    description: "how much the server logs",
  },
  {
    key: "RUMMY_PORT",
    type: "integer",
    default: 3044,
    min: 0,
    max: 65_535,
    description: "the port the server listens on; 0 picks a free one",
  },
];

const MODEL_TARGET = /^[^/\s]+\/\S+$/;

/**
 * Every problem with the environment the core and the transport read, at
 * once, one line per bad key naming the key, the value and the expected
 * form: the core's and the boot settings, each `RUMMY_MODEL_<alias>` (a
 * `provider/model` target), and `extra` — the settings of plugins a
 * distribution wants refused at boot too (the CLI passes the engine's
 * `ENGINE_CONFIG` and the provider kit's `HTTP_PROVIDER_CONFIG`). Other plugins validate their own keys when they
 * load. Throws a ConfigError; returns nothing when all is well.
 */
export function validateEnvironment(env: Env, extra: readonly ConfigSpec[] = []): void {
  const problems: string[] = [];
  for (const specs of [CORE_CONFIG, BOOT_CONFIG, extra]) {
    try {
      readConfig(specs, env);
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else throw error;
    }
  }
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith("RUMMY_MODEL_") || raw === undefined || raw.trim() === "") continue;
    const value = raw.trim();
    if (!MODEL_TARGET.test(value))
      problems.push(
        `${key}=${JSON.stringify(raw)}: expected provider/model, e.g. openai/${value.replace(/\s+/g, "-") || "gpt-4o-mini"} (the model alias ${key.slice("RUMMY_MODEL_".length)})`,
      );
  }
  if (problems.length) throw new ConfigError(problems);
}
