import { RummyCore } from "@rummy/core";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { quietLogger, table } from "../output.js";

interface ModelRow {
  alias: string;
  target: string;
  context: string;
  source: string;
}

/** Models declared in the environment (`RUMMY_MODEL_<alias>`), which the server seeds at boot. */
export function envModels(env: Record<string, string | undefined>): ModelRow[] {
  return Object.entries(env)
    .filter(([key, value]) => key.startsWith("RUMMY_MODEL_") && value)
    .map(([key, value]) => ({
      alias: key.slice("RUMMY_MODEL_".length),
      target: value!,
      context: "",
      source: "env",
    }));
}

export async function models(
  home: Home,
  args: readonly string[],
  options: { context?: string; json?: boolean },
): Promise<number> {
  const [action = "list", ...rest] = args;
  const core = RummyCore.open({ home: home.path, env: home.env, logger: quietLogger() });
  try {
    switch (action) {
      case "list": {
        const rows = new Map<string, ModelRow>();
        for (const m of envModels(home.env)) rows.set(m.alias, m);
        for (const m of core.models.list()) {
          rows.set(m.alias, {
            alias: m.alias,
            target: m.target,
            context: m.contextLength ? String(m.contextLength) : "",
            source: m.source,
          });
        }
        const fallback = home.env.RUMMY_MODEL;
        if (options.json) {
          const list = [...rows.values()].map((r) => ({
            alias: r.alias,
            target: r.target,
            context_length: r.context ? Number(r.context) : null,
            source: r.source,
            default: r.alias === fallback,
          }));
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return EXIT.ok;
        }
        if (rows.size === 0) {
          process.stdout.write(
            "no models: add one with `rummy models add <alias> <provider/model>` or RUMMY_MODEL_<alias> in .env\n",
          );
          return EXIT.ok;
        }
        process.stdout.write(
          table(
            ["alias", "target", "context", "source"],
            [...rows.values()].map((r) => [
              r.alias + (r.alias === fallback ? " *" : ""),
              r.target,
              r.context,
              r.source,
            ]),
          ),
        );
        return EXIT.ok;
      }
      case "add": {
        const [alias, target] = rest;
        if (!alias || !target)
          throw new CliError("usage: rummy models add <alias> <provider/model> [--context N]", {
            exitCode: EXIT.usage,
          });
        const contextLength = options.context === undefined ? null : Number(options.context);
        if (contextLength !== null && !(Number.isInteger(contextLength) && contextLength > 0)) {
          throw new CliError(
            `--context must be a positive whole number of tokens, got '${options.context}'`,
            { exitCode: EXIT.usage },
          );
        }
        try {
          core.models.upsert({ alias, target, contextLength, source: "client" });
        } catch (error) {
          throw new CliError((error as Error).message, { exitCode: EXIT.usage });
        }
        process.stdout.write(`added model ${alias} → ${target}\n`);
        return EXIT.ok;
      }
      case "remove": {
        const [alias] = rest;
        if (!alias)
          throw new CliError("usage: rummy models remove <alias>", { exitCode: EXIT.usage });
        if (!core.models.remove(alias)) {
          throw new CliError(`no model '${alias}' in the database`, {
            hint: envModels(home.env).some((m) => m.alias === alias)
              ? `it comes from RUMMY_MODEL_${alias} in the environment; remove it there`
              : undefined,
          });
        }
        process.stdout.write(`removed model ${alias}\n`);
        return EXIT.ok;
      }
      default:
        throw new CliError(`unknown models action '${action}' (list, add, remove)`, {
          exitCode: EXIT.usage,
        });
    }
  } finally {
    await core.close();
  }
}
