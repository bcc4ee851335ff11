import {
  BOOT_CONFIG,
  ConfigError,
  type ConfigSpec,
  type Env,
  errorMessage,
  readConfig,
} from "@rummy/core";
import { parseAllowedOrigins } from "./security.js";

/**
 * The transport's settings, for a distribution to validate up front (the CLI
 * passes them to `validateEnvironment` and `rummy doctor` checks them).
 * `RUMMY_PORT` is the core's (`BOOT_CONFIG`); `PORT` is read only when it is unset.
 */
export const SERVER_CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_HOST",
    type: "string",
    default: "127.0.0.1",
    description: "the address the server listens on; off loopback it needs a token",
  },
  {
    key: "PORT",
    type: "integer",
    default: 3044,
    min: 0,
    max: 65_535,
    description: "the port when RUMMY_PORT is unset, 2.0.1's name for it",
  },
  {
    key: "RUMMY_RPC_TIMEOUT",
    type: "integer",
    default: 30_000,
    min: 0,
    description: "per-call time limit (ms) for methods not marked long-running",
  },
  {
    key: "RUMMY_ALLOWED_ORIGINS",
    type: "string",
    default: "",
    description: "comma-separated browser origins allowed besides the server's own",
  },
  {
    key: "RUMMY_TOKEN",
    type: "string",
    default: "",
    description: "the token clients present (default RUMMY_HOME/token); off turns auth off",
  },
];

const PORT_SPEC = BOOT_CONFIG.filter((spec) => spec.key === "RUMMY_PORT");

export interface ServerSettings {
  readonly host: string;
  readonly port: number;
  readonly callTimeoutMs: number;
  readonly allowedOrigins: ReadonlySet<string>;
}

/**
 * The transport's settings from the environment, or a ConfigError listing
 * every bad one. The port: `RUMMY_PORT`, else `PORT`, else 3044 — `RUMMY_PORT`
 * wins because hosting platforms set `PORT` for other services too.
 */
export function readServerConfig(env: Env): ServerSettings {
  const problems: string[] = [];
  const read = (specs: readonly ConfigSpec[]) => {
    try {
      return readConfig(specs, env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
      return undefined;
    }
  };
  const values = read(SERVER_CONFIG);
  const ownPort = read(PORT_SPEC);
  let allowedOrigins = new Set<string>();
  try {
    allowedOrigins = parseAllowedOrigins(env.RUMMY_ALLOWED_ORIGINS);
  } catch (error) {
    problems.push(errorMessage(error));
  }
  if (problems.length || !values || !ownPort) throw new ConfigError(problems);
  return {
    host: values.RUMMY_HOST as string,
    port: (env.RUMMY_PORT?.trim() ? ownPort.RUMMY_PORT : values.PORT) as number,
    callTimeoutMs: values.RUMMY_RPC_TIMEOUT as number,
    allowedOrigins,
  };
}

/** The port a server on this environment listens on (what a client on the same machine connects to). */
export function serverPort(env: Env): number {
  return readServerConfig(env).port;
}
