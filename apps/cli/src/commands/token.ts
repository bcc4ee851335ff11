import { resolveToken, rotateToken } from "@rummy/server";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";

/**
 * `rummy token [--rotate]`: prints the server's token (for a browser client
 * or another machine's `--connect`); `--rotate` replaces RUMMY_HOME/token so
 * the old one stops working for new connections.
 */
export async function token(home: Home, args: readonly string[]): Promise<number> {
  const [action] = args;
  if (action !== undefined && action !== "--rotate" && action !== "rotate")
    throw new CliError(`unknown token action '${action}'`, {
      exitCode: EXIT.usage,
      hint: "usage: rummy token [--rotate]",
    });
  const current = resolveToken(home.path, home.env, { create: false });
  if (current.source === "off")
    throw new CliError("auth is off (RUMMY_TOKEN=off): this server has no token", {
      hint: "unset RUMMY_TOKEN to use the token in RUMMY_HOME/token",
    });
  if (action !== undefined) {
    const fresh = rotateToken(home.path);
    process.stderr.write(
      `new token written to ${fresh.path}; running servers refuse the old one on new connections\n`,
    );
    if (current.source === "env")
      process.stderr.write("note: RUMMY_TOKEN is set and overrides the file\n");
    process.stdout.write(`${fresh.token}\n`);
    return EXIT.ok;
  }
  const effective = resolveToken(home.path, home.env);
  process.stdout.write(`${effective.token}\n`);
  return EXIT.ok;
}
