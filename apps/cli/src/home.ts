import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parseDotenv } from "./dotenv.js";
import { ENV_EXAMPLE } from "./env-example.js";

export type Environment = Record<string, string | undefined>;

export interface Home {
  /** Absolute path of RUMMY_HOME. */
  readonly path: string;
  /** The effective environment: `<home>/.env` under the shell's (the shell wins). */
  readonly env: Environment;
  /** True when this call created the home. */
  readonly created: boolean;
}

/** RUMMY_HOME from the shell, `~` expanded; default `~/.rummy`. */
export function resolveHomePath(shellEnv: Environment): string {
  const raw = shellEnv.RUMMY_HOME?.trim();
  if (!raw) return join(homedir(), ".rummy");
  if (raw === "~" || raw.startsWith("~/")) return join(homedir(), raw.slice(1));
  return resolve(raw);
}

/**
 * Opens (creating on first use) the rummy home: its folders for plugins,
 * skills and personas, a commented `.env.example`, and the effective
 * environment — `<home>/.env` overrides the defaults, the shell overrides both.
 */
export function openHome(shellEnv: Environment = process.env): Home {
  const path = resolveHomePath(shellEnv);
  const created = !existsSync(path);
  // The home holds the token and the database: a folder made here is the user's alone.
  for (const dir of [path, join(path, "plugins"), join(path, "skills"), join(path, "personas")]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const example = join(path, ".env.example");
  if (!existsSync(example)) writeFileSync(example, ENV_EXAMPLE);
  const dotenvPath = join(path, ".env");
  const fromFile = existsSync(dotenvPath)
    ? parseDotenv(readFileSync(dotenvPath, "utf8"), dotenvPath)
    : {};
  const env: Environment = { ...fromFile };
  for (const [key, value] of Object.entries(shellEnv)) if (value !== undefined) env[key] = value;
  env.RUMMY_HOME = path;
  return { path, env, created };
}
