import { spawn } from "node:child_process";
import { RummyClient } from "@rummy/client";
import { errorMessage } from "@rummy/core";
import { resolveToken } from "@rummy/server";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { bindProject, projectDir } from "../workdir.js";

/**
 * The web page's address for this folder's project, with the server's token
 * in the fragment (a fragment never reaches the server or a Referer; the page
 * reads it and presents it on its WebSocket). Checks that a server answers,
 * and binds the folder's project first, so the page gets the same project
 * `ask`/`act` use in this folder (`<name>-<hash>` when the name is taken).
 */
export async function web(
  home: Home,
  options: { project?: string; open?: boolean },
): Promise<number> {
  const port = home.env.RUMMY_PORT?.trim() || "3044";
  const origin = `http://127.0.0.1:${port}`;
  const { token } = resolveToken(home.path, home.env, { create: false });
  try {
    const res = await fetch(`${origin}/`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok)
      throw new CliError(`the server on port ${port} did not serve the page (HTTP ${res.status})`, {
        hint: "is @rummy/web loaded? `rummy serve` bundles it; RUMMY_PLUGIN_WEB=off turns it off",
      });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`no rummy server answers on ${origin}`, {
      hint: "start one with `rummy serve` (or give its port with --port)",
    });
  }
  const folder = projectDir(undefined, home.env);
  const project = options.project ?? (await projectName(`ws://127.0.0.1:${port}`, token, folder));
  const fragment = new URLSearchParams({
    ...(token ? { token } : {}),
    project,
    root: folder.root,
  });
  const url = `${origin}/#${fragment.toString()}`;
  process.stdout.write(`${url}\n`);
  if (options.open) openInBrowser(url);
  return EXIT.ok;
}

/** The name the folder's project has (or takes) on the server. */
async function projectName(
  url: string,
  token: string | null,
  folder: ReturnType<typeof projectDir>,
): Promise<string> {
  let client: RummyClient | undefined;
  try {
    client = await RummyClient.connect(url, token ? { token } : {});
    return await bindProject(client, folder);
  } catch (error) {
    throw new CliError(
      `the server at ${url} did not take this folder's project: ${errorMessage(error)}`,
      {
        hint: "is the token right? `rummy token` prints this RUMMY_HOME's token",
      },
    );
  } finally {
    await client?.close();
  }
}

function openInBrowser(url: string): void {
  const [command, ...args] =
    process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  const child = spawn(command!, args, { stdio: "ignore", detached: true });
  child.on("error", () =>
    process.stderr.write("rummy: could not open a browser; open the URL above\n"),
  );
  child.unref();
}
