import { realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, isAbsolute, relative, sep } from "node:path";
import { type ProjectRecord, RummyError, type RummyCore } from "@rummy/core";

/**
 * The parents a project root may live under (`RUMMY_PROJECT_ROOTS`, separated
 * like PATH — `:` on POSIX), each resolved through symlinks; null when unset
 * (any directory but `/` and the home directory itself).
 */
export function allowedProjectParents(raw: string | undefined): string[] | null {
  const items = (raw ?? "")
    .split(delimiter)
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) return null;
  return items.map((item) => {
    if (!isAbsolute(item))
      throw new RummyError(400, `RUMMY_PROJECT_ROOTS: ${JSON.stringify(item)} is not absolute`);
    try {
      return realpathSync(item);
    } catch {
      throw new RummyError(400, `RUMMY_PROJECT_ROOTS: ${JSON.stringify(item)} does not exist`);
    }
  });
}

/**
 * A project root as the server will use it: an existing directory, resolved
 * through symlinks, inside an allowed parent. `/` and the user's home
 * directory are refused unless listed themselves — a project there exposes
 * every file the user has. `name` is what the refusals call the root (the
 * method and parameter it came from).
 */
export function resolveProjectRoot(
  root: string,
  allowed: readonly string[] | null,
  name = "rummy/hello: projectRoot",
): string {
  if (!isAbsolute(root)) throw new RummyError(400, `${name} must be an absolute path`);
  let real: string;
  try {
    real = realpathSync(root);
  } catch {
    throw new RummyError(400, `${name} ${root} does not exist`);
  }
  if (!statSync(real).isDirectory())
    throw new RummyError(400, `${name} ${root} is not a directory`);
  const listed = allowed?.includes(real) ?? false;
  if (!listed && (real === sep || real === realHome())) {
    throw new RummyError(
      403,
      `${name} ${real} is refused (the filesystem root or your home directory); open a project folder, or list it in RUMMY_PROJECT_ROOTS`,
    );
  }
  if (allowed && !allowed.some((parent) => within(parent, real))) {
    throw new RummyError(
      403,
      `${name} ${real} is outside RUMMY_PROJECT_ROOTS (${allowed.join(delimiter)})`,
    );
  }
  return real;
}

/**
 * Binds a hello to its project. A new project takes the root; an existing
 * one keeps the root it was created with — another root is a 409 naming
 * both, unless the client asks to `move` it and none of its runs is working,
 * queued or waiting on a proposal (whose writes belong to the old root).
 */
export function bindProject(
  core: RummyCore,
  name: string,
  root: string,
  move: boolean,
): ProjectRecord {
  const project = core.projects.ensure(name, root);
  if (project.root === null || sameDirectory(project.root, root)) return project;
  if (!move) {
    throw new RummyError(
      409,
      `rummy/hello: project '${name}' is rooted at ${project.root}, not ${root}; open it with its own root, use another name, or pass move: true to re-root it`,
    );
  }
  const busy = busyRuns(core, project.id);
  if (busy.length > 0) {
    throw new RummyError(
      409,
      `rummy/hello: cannot move project '${name}' from ${project.root} to ${root} while run(s) ${busy.join(", ")} are active or waiting on a proposal`,
    );
  }
  core.log.info(`project '${name}' moved from ${project.root} to ${root}`);
  return core.projects.moveRoot(project.id, root);
}

const IDLE = new Set([200, 204, 413, 422, 499, 500]);

function busyRuns(core: RummyCore, projectId: number): string[] {
  return core.runs
    .list(projectId)
    .filter(
      (run) =>
        core.engine.isActive(run.id) ||
        !IDLE.has(run.status) ||
        core.loops.next(run.id) !== undefined ||
        core.store.get({ runId: run.id, state: "proposed", includeBody: false }).length > 0,
    )
    .map((run) => run.alias);
}

function sameDirectory(stored: string, real: string): boolean {
  if (stored === real) return true;
  try {
    return realpathSync(stored) === real;
  } catch {
    return false;
  }
}

function within(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function realHome(): string {
  try {
    return realpathSync(homedir());
  } catch {
    return homedir();
  }
}
