import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type RummyClient, RpcCallError } from "@rummy/client";
import { CliError, EXIT } from "./errors.js";

/** Where this CLI is installed: apps/cli, and the repository around it. */
const CLI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const INSTALL_DIRS = new Set([CLI_DIR, resolve(CLI_DIR, "..", "..")]);

/**
 * The directory the user works in. A package script (`pnpm rummy …` in the
 * rummy checkout, or `pnpm -C <checkout> rummy …`) starts us in the package's
 * own folder; the folder the user typed the command in is INIT_CWD then.
 * Never the CLI's install location unless the user really stands there.
 */
export function workingDirectory(env: Record<string, string | undefined> = process.env): string {
  const cwd = process.cwd();
  const init = env.INIT_CWD;
  if (init && INSTALL_DIRS.has(cwd) && existsSync(init)) return resolve(init);
  return cwd;
}

export interface ProjectDir {
  readonly name: string;
  readonly root: string;
}

/** `--project <dir>` (relative to the working directory), else the working directory itself. */
export function projectDir(
  option: string | undefined,
  env: Record<string, string | undefined> = process.env,
): ProjectDir {
  const base = workingDirectory(env);
  const root = option ? resolve(base, option) : base;
  if (option && !(existsSync(root) && statSync(root).isDirectory()))
    throw new CliError(`--project ${option}: no such directory (${root})`, {
      exitCode: EXIT.usage,
      hint: "--project takes the project's folder; the default is the folder you are in",
    });
  return { name: basename(root) || "root", root };
}

/** The folder's name plus a short hash of its root: the name a folder takes when its plain name is another folder's. */
export function uniqueProjectName(project: ProjectDir): string {
  const hash = createHash("sha256").update(project.root).digest("hex").slice(0, 8);
  return `${project.name}-${hash}`;
}

/**
 * Binds the connection to the folder's project and returns the name it took.
 * Projects are named after their folder; when another folder already holds
 * that name (two `app` folders), this one takes the name plus a short hash of
 * its root, so each folder keeps one project of its own without the user
 * naming it.
 */
export async function bindProject(client: RummyClient, project: ProjectDir): Promise<string> {
  try {
    await client.hello(project.name, project.root);
    return project.name;
  } catch (error) {
    if (!(error instanceof RpcCallError && (error.data as { status?: number })?.status === 409))
      throw error;
    const name = uniqueProjectName(project);
    await client.hello(name, project.root);
    return name;
  }
}
