import { spawn } from "node:child_process";
import { RummyClient } from "@rummy/client";
import { errorMessage } from "@rummy/core";
import { resolveToken, serverPort } from "@rummy/server";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { bindProject, projectDir } from "../workdir.js";

/**
 * The web page's address for this folder's project (or `--project <dir>`'s),
 * with the server's token in the fragment (a fragment never reaches the server
 * or a Referer; the page reads it and presents it on its WebSocket). Checks
 * that a server answers, and binds the folder's project first, so the page
 * gets the same project `ask`/`act` use for that folder (`<name>-<hash>` when
 * the name is taken).
 */
export async function web(
  home: Home,
  options: { project?: string; open?: boolean },
): Promise<number> {
  // The port `rummy serve` on this environment listens on (--port sets RUMMY_PORT).
  const port = serverPort(home.env);
  const folder = projectDir(options.project, home.env);
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
  const project = await projectName(`ws://127.0.0.1:${port}`, token, folder);
  const fragment = new URLSearchParams({
    ...(token ? { token } : {}),
    project,
    root: folder.root,
  });
  const url = `${origin}/#${fragment.toString()}`;
  process.stdout.write(`${url}\n`);
  if (options.open) await openInBrowser(url);
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

/** How long an opener gets to fail before we leave it running (xdg-open can wait for the browser). */
const OPENER_GRACE_MS = 2000;

/**
 * Hands the URL to the platform's opener. One that is missing, or that
 * gives up at once (xdg-open with no browser), gets a line on stderr; the
 * URL is already printed above it.
 */
async function openInBrowser(url: string): Promise<void> {
  const [command, ...args] =
    process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  const failure = await new Promise<string | null>((resolve) => {
    const child = spawn(command!, args, { stdio: "ignore", detached: true });
    const timer = setTimeout(() => {
      child.unref();
      resolve(null);
    }, OPENER_GRACE_MS);
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === "ENOENT" ? `${command} not found` : errorMessage(error));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(
        code === 0 ? null : `${command} ${signal ? `stopped by ${signal}` : `exited with ${code}`}`,
      );
    });
  });
  if (failure)
    process.stderr.write(`rummy: could not open a browser (${failure}); open the URL above\n`);
}
