import { ConfigError, type ConfigSpec, type Env, validateEnvironment } from "@rummy/core";
import { ENGINE_CONFIG } from "@rummy/engine";
import { SERVER_SHELL_CONFIG } from "@rummy/plugin-yolo";
import { HTTP_PROVIDER_CONFIG } from "@rummy/provider-kit";
import { readServerConfig } from "@rummy/server";

/**
 * The settings every command checks before it starts, besides the core's own:
 * the engine's limits, the bundled HTTP providers' shared settings and the
 * commands the server runs itself; the transport's are read by
 * `readServerConfig` below. Other bundled plugins check their own keys as
 * they load (a bad one fails that plugin).
 */
export const CHECKED_CONFIG: readonly ConfigSpec[] = [
  ...ENGINE_CONFIG,
  ...HTTP_PROVIDER_CONFIG,
  ...SERVER_SHELL_CONFIG,
];

/** Every problem with those settings, one line per bad key (none: all is well). */
export function configProblems(env: Env): string[] {
  const problems = new Set<string>();
  const collect = (check: () => unknown) => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) problems.add(problem);
    }
  };
  collect(() => validateEnvironment(env, CHECKED_CONFIG));
  // The transport's settings (SERVER_CONFIG, each allowed origin's form, which port wins), read as
  // the server reads them.
  collect(() => readServerConfig(env));
  return [...problems];
}

/** Refuses a bad environment with one ConfigError listing every bad key. */
export function checkConfiguration(env: Env): void {
  const problems = configProblems(env);
  if (problems.length) throw new ConfigError(problems);
}
