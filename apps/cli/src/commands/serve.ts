import { errorMessage } from "@rummy/core";
import { resolveToken, serverPort, startServer } from "@rummy/server";
import { boot, refuseBrokenPlugins } from "../distribution.js";
import { CliError } from "../errors.js";
import type { Home } from "../home.js";

/** Starts the server with the default plugins and runs until SIGINT/SIGTERM. Returns -1: the process stays up. */
export async function serve(
  home: Home,
  options: { allowBrokenPlugins?: boolean } = {},
): Promise<number> {
  const booted = await boot(home);
  const { core, report, missing } = booted;
  // Without the protocol plugin (e.g. a bad RUMMY_PROJECT_ROOTS) there is nothing safe to serve, flag or not.
  const protocol = report.failed.find((f) => f.name === "rpc");
  if (protocol) {
    await core.close();
    throw new CliError(`cannot serve: the rpc plugin failed to load: ${protocol.error}`);
  }
  await refuseBrokenPlugins(
    booted,
    options.allowBrokenPlugins,
    "fix the plugin (or its configuration), or start anyway with --allow-broken-plugins",
  );
  let server: Awaited<ReturnType<typeof startServer>>;
  let auth: ReturnType<typeof resolveToken>;
  try {
    auth = resolveToken(home.path, home.env);
    server = await startServer({ core });
  } catch (error) {
    await core.close();
    const err = error as NodeJS.ErrnoException;
    if (err.code === "EADDRINUSE") {
      throw new CliError(`port ${serverPort(home.env)} is already in use`, {
        hint: "another rummy may be running; choose another port with RUMMY_PORT=… or --port …",
      });
    }
    throw new CliError(errorMessage(error));
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`rummy listening on ${server.url}`);
  out(`home: ${home.path}`);
  out(
    auth.source === "off"
      ? "auth: OFF (RUMMY_TOKEN=off) — WARNING: any process on this machine can drive this server"
      : `auth: token ${auth.source === "env" ? "from RUMMY_TOKEN" : `in ${auth.path}`}${auth.created ? " (created)" : ""}; clients present it (rummy ask/act read it themselves)`,
  );
  out(`plugins: ${report.loaded.map((p) => p.name).join(", ") || "none"}`);
  for (const f of report.failed) out(`plugin FAILED: ${f.name}: ${f.error}`);
  for (const m of missing) out(`plugin MISSING: ${m.name}: ${m.error}`);
  const models = core.models.list();
  out(
    `models: ${models.map((m) => `${m.alias}=${m.target}`).join(", ") || "none (set RUMMY_MODEL_<alias>=provider/model)"}`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    out(`${signal}: shutting down`);
    await server.close();
    await core.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  return -1;
}
