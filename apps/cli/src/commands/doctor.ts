import { accessSync, constants, existsSync, statSync } from "node:fs";
import { ConfigError, errorMessage, RummyError } from "@rummy/core";
import { asProviderError } from "@rummy/provider-kit";
import { resolveToken } from "@rummy/server";
import { configProblems } from "../config.js";
import { boot } from "../distribution.js";
import { EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { envModels } from "./models.js";
import { sourceLabel } from "./plugins.js";

type Check = { readonly label: string; readonly ok: boolean; readonly detail: string };

/** Checks what a person can fix: config values, the home folder, the database, plugins, each model's provider. */
export async function doctor(home: Home): Promise<number> {
  const checks: Check[] = [];
  const add = (label: string, ok: boolean, detail: string) => checks.push({ label, ok, detail });
  try {
    accessSync(home.path, constants.W_OK);
    add("home", true, `${home.path} is writable`);
  } catch {
    add("home", false, `${home.path} is not writable`);
  }
  // Where the token is and whether it is private — never the token itself.
  const auth = resolveToken(home.path, home.env, { create: false });
  if (auth.source === "off")
    add("auth", false, "RUMMY_TOKEN=off: any local process can drive the server");
  else if (auth.source === "env") add("auth", true, "token from RUMMY_TOKEN");
  else if (!existsSync(auth.path))
    add("auth", true, `${auth.path} is created on the first \`rummy serve\``);
  else {
    const mode = statSync(auth.path).mode & 0o777;
    add("auth", mode === 0o600, `token in ${auth.path} (mode ${mode.toString(8)})`);
  }
  // The check `main` makes before every command (so a bad value never reaches here from the CLI);
  // plugins check the rest as they load, and a failure shows on the plugins line.
  const problems = configProblems(home.env);
  add(
    "config",
    problems.length === 0,
    problems.length ? problems.join("; ") : "all settings parse",
  );
  let booted: Awaited<ReturnType<typeof boot>> | undefined;
  try {
    booted = await boot(home, { quiet: true });
  } catch (error) {
    // A bad core setting is already on the config line.
    if (!(error instanceof ConfigError && problems.length)) add("boot", false, errorMessage(error));
  }
  if (booted) {
    const { core, report, missing } = booted;
    try {
      const health = core.health();
      add(
        "database",
        health.integrity === "ok",
        `${health.path}: integrity ${health.integrity}, schema v${health.schemaVersion}, journal ${health.journalMode}`,
      );
      add(
        "plugins",
        report.failed.length === 0 && missing.length === 0,
        `${report.loaded.length} loaded${report.failed.length ? `; failed: ${report.failed.map((f) => `${f.name} (${f.error})`).join(", ")}` : ""}${missing.length ? `; missing: ${missing.map((m) => m.name).join(", ")}` : ""}`,
      );
      // Each plugin as a person would look for it: name, version, where it came from.
      for (const p of report.loaded)
        add(`plugin ${p.name}`, true, `${p.version ?? "unversioned"}, ${sourceLabel(p.source)}`);
      for (const f of report.failed)
        add(`plugin ${f.name}`, false, `${sourceLabel(f.source)}: ${f.error}`);
      const aliases = new Set([
        ...envModels(home.env).map((m) => m.alias),
        ...core.models.list().map((m) => m.alias),
      ]);
      if (aliases.size === 0)
        add(
          "models",
          false,
          "no model configured: set RUMMY_MODEL_<alias>=provider/model in .env or run `rummy models add`",
        );
      for (const alias of aliases) {
        try {
          const resolved = core.providers.resolve(alias);
          const signal = AbortSignal.timeout(5000);
          const context = resolved.provider.contextLength
            ? await resolved.provider.contextLength(resolved.model, signal)
            : null;
          add(
            `model ${alias}`,
            true,
            `${resolved.provider.name}/${resolved.model} reachable${context ? `, context ${context} tokens` : ""}`,
          );
        } catch (error) {
          // Configuration errors say what to fix; transport errors become "cannot reach the provider (…)".
          add(
            `model ${alias}`,
            false,
            error instanceof RummyError ? error.message : asProviderError(error).message,
          );
        }
      }
      if (home.env.RUMMY_MODEL && !aliases.has(home.env.RUMMY_MODEL)) {
        add(
          "default model",
          false,
          `RUMMY_MODEL=${home.env.RUMMY_MODEL} names no configured model`,
        );
      }
    } finally {
      await core.close();
    }
  }
  for (const c of checks)
    process.stdout.write(`${c.ok ? "ok  " : "FAIL"}  ${c.label}: ${c.detail}\n`);
  return checks.every((c) => c.ok) ? EXIT.ok : EXIT.failure;
}
