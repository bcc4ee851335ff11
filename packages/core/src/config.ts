import { RummyError } from "./errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

interface BaseSpec {
  readonly key: string;
  readonly description: string;
}
export type ConfigSpec =
  | (BaseSpec & {
      readonly type: "number" | "integer";
      readonly default: number;
      readonly min?: number;
      readonly max?: number;
    })
  | (BaseSpec & { readonly type: "string"; readonly default: string })
  | (BaseSpec & { readonly type: "boolean"; readonly default: boolean })
  | (BaseSpec & {
      readonly type: "enum";
      readonly default: string;
      readonly values: readonly string[];
    });

export type ConfigValues = Record<string, string | number | boolean>;

/** Bad configuration found at boot: every problem at once, each naming its variable. */
export class ConfigError extends RummyError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(400, `invalid configuration:\n  ${problems.join("\n  ")}`, { problems });
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Reads and validates configuration from the environment against specs:
 * unset or empty → the default; anything unparseable or out of range is a
 * ConfigError listing every problem, so a bad value stops the boot instead
 * of surfacing later as odd behaviour.
 */
export function readConfig(specs: readonly ConfigSpec[], env: Env): ConfigValues {
  const values: ConfigValues = {};
  const problems: string[] = [];
  for (const spec of specs) {
    const raw = env[spec.key]?.trim();
    if (raw === undefined || raw === "") {
      values[spec.key] = spec.default;
      continue;
    }
    switch (spec.type) {
      case "number":
      case "integer": {
        const n = Number(raw);
        if (!Number.isFinite(n) || (spec.type === "integer" && !Number.isInteger(n))) {
          problems.push(
            `${spec.key}=${JSON.stringify(raw)}: expected ${spec.type === "integer" ? "a whole number" : "a number"} (${spec.description})`,
          );
        } else if (
          (spec.min !== undefined && n < spec.min) ||
          (spec.max !== undefined && n > spec.max)
        ) {
          problems.push(
            `${spec.key}=${raw}: must be between ${spec.min ?? "-∞"} and ${spec.max ?? "∞"} (${spec.description})`,
          );
        } else values[spec.key] = n;
        break;
      }
      case "boolean": {
        const v = raw.toLowerCase();
        if (["1", "true", "yes", "on"].includes(v)) values[spec.key] = true;
        else if (["0", "false", "no", "off"].includes(v)) values[spec.key] = false;
        else
          problems.push(
            `${spec.key}=${JSON.stringify(raw)}: expected true or false (${spec.description})`,
          );
        break;
      }
      case "enum":
        if (spec.values.includes(raw)) values[spec.key] = raw;
        else
          problems.push(
            `${spec.key}=${JSON.stringify(raw)}: expected one of ${spec.values.join(", ")} (${spec.description})`,
          );
        break;
      case "string":
        values[spec.key] = raw;
        break;
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return values;
}

/** The core's own settings. Plugins declare theirs through `readConfig` in their setup. */
export const CORE_CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_TOKEN_DIVISOR",
    type: "number",
    default: 4,
    min: 0.5,
    max: 100,
    description: "characters per token when no tokenizer is configured",
  },
  {
    key: "RUMMY_LOAD_TIMEOUT_MS",
    type: "integer",
    default: 10_000,
    min: 100,
    max: 600_000,
    description: "time limit for loading and registering one plugin",
  },
  {
    key: "RUMMY_RPC_LOG_ROWS",
    type: "integer",
    default: 100_000,
    min: 100,
    max: 100_000_000,
    description: "how many of the newest calls the RPC log keeps (older rows are deleted)",
  },
];
