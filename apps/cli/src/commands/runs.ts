import { existsSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { type ProjectRecord, RummyCore, type RunRecord } from "@rummy/core";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { firstLine, quietLogger, table } from "../output.js";
import { workingDirectory } from "../workdir.js";

export async function runs(
  home: Home,
  args: readonly string[],
  options: { project?: string; json?: boolean; entries?: boolean },
): Promise<number> {
  const [action = "list", alias] = args;
  const core = RummyCore.open({ home: home.path, env: home.env, logger: quietLogger() });
  try {
    const named = options.project ? findProject(core, options.project, home.env) : undefined;
    if (action === "list") {
      const projects = options.project ? (named ? [named] : []) : core.projects.list();
      const list = projects.flatMap((p) =>
        core.runs.list(p.id).map((r) => ({
          project: p.name,
          run: r.alias,
          status: r.status,
          model: r.model,
          turns: core.turns.list(r.id).length,
          updated: r.updatedAt,
        })),
      );
      if (options.json) {
        process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        return EXIT.ok;
      }
      if (list.length === 0) {
        process.stdout.write(
          options.project ? `no runs in project '${options.project}'\n` : "no runs yet\n",
        );
        return EXIT.ok;
      }
      process.stdout.write(
        table(
          ["project", "run", "status", "model", "turns", "updated"],
          list.map((r) => [
            r.project,
            r.run,
            String(r.status),
            r.model ?? "",
            String(r.turns),
            r.updated,
          ]),
        ),
      );
      return EXIT.ok;
    }
    if (action !== "show")
      throw new CliError(`unknown runs action '${action}' (list, show)`, { exitCode: EXIT.usage });
    if (options.project && !named)
      throw new CliError(`no project '${options.project}'`, {
        hint: "`rummy runs list` shows the projects and their runs",
      });
    const run = alias ? pickRun(core, alias, named) : latestRun(core, named, home.env);
    if (!run)
      throw new CliError("no runs yet", { hint: 'start one with `rummy ask "…"` or `rummy demo`' });
    const loops = core.loops.list(run.id);
    const turns = core.turns.list(run.id);
    const all = core.store.get({ runId: run.id, order: "id" });
    // The project's files are shared by every run; the run's own entries are what it did.
    const files = all.filter((e) => e.scheme === "file");
    const own = all.filter((e) => e.scheme !== "file");
    const shown = options.entries ? all : own;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ run, loops, turns, entries: shown, files: files.length }, null, 2)}\n`,
      );
      return EXIT.ok;
    }
    const out: string[] = [];
    out.push(
      `run ${run.alias}  status ${run.status}  model ${run.model ?? "-"}  created ${run.createdAt}`,
    );
    out.push("", "loops:");
    for (const l of loops)
      out.push(
        `  #${l.sequence} ${l.mode} ${l.status}${l.reason ? ` (${l.reason})` : ""}  ${firstLine(l.prompt, 70)}`,
      );
    out.push("", "turns:");
    const totals = { prompt: 0, completion: 0, cost: 0 };
    for (const t of turns) {
      totals.prompt += t.promptTokens ?? 0;
      totals.completion += t.completionTokens ?? 0;
      totals.cost += t.cost ?? 0;
      out.push(
        `  turn ${t.sequence}: status ${t.status ?? "-"}, tokens in ${t.promptTokens ?? "-"} out ${t.completionTokens ?? "-"}${t.cost != null ? `, $${t.cost.toFixed(4)}` : ""}`,
      );
    }
    out.push(
      `  total: ${totals.prompt} in, ${totals.completion} out${totals.cost ? `, $${totals.cost.toFixed(4)}` : ""}`,
    );
    const activity = own.filter((e) => e.scheme === "log");
    out.push("", "activity:");
    for (const e of activity) {
      const [, , turnPart = "", action = ""] = e.path.split("/");
      out.push(
        `  ${turnPart.replace("turn_", "turn ")}  ${String(e.attributes.action ?? action).padEnd(8)} ${String(e.status ?? "").padEnd(3)}  ${firstLine(e.body || String(e.attributes.summary ?? e.attributes.path ?? ""), 90)}`,
      );
    }
    const rest = shown.filter((e) => e.scheme !== "log");
    out.push("", options.entries ? "entries:" : "entries (without the project's files):");
    out.push(
      table(
        ["path", "state", "status", "visibility", "tokens", "body"],
        rest.map((e) => [
          e.path,
          e.state ?? "",
          String(e.status ?? ""),
          e.visibility ?? "",
          String(e.tokens),
          firstLine(e.body, 60),
        ]),
      )
        .replace(/^/gm, "  ")
        .trimEnd(),
    );
    if (!options.entries)
      out.push(
        "",
        `files: ${files.length} project file${files.length === 1 ? "" : "s"} (--entries lists them)`,
      );
    process.stdout.write(`${out.join("\n")}\n`);
    return EXIT.ok;
  } finally {
    await core.close();
  }
}

/** `--project` names a project folder (as ask/act take it) or a project by name. */
function findProject(
  core: RummyCore,
  given: string,
  env: Record<string, string | undefined>,
): ProjectRecord | undefined {
  const dir = resolve(workingDirectory(env), given);
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    const byRoot = core.projects.list().find((p) => p.root === dir);
    if (byRoot) return byRoot;
  }
  return core.projects.byName(given) ?? core.projects.byName(basename(dir));
}

function pickRun(core: RummyCore, alias: string, project: ProjectRecord | undefined): RunRecord {
  const candidates = (project ? [project] : core.projects.list())
    .map((p) => core.runs.byAlias(p.id, alias))
    .filter((r) => r !== undefined);
  if (candidates.length === 0)
    throw new CliError(`no run '${alias}'`, { hint: "`rummy runs list` shows the runs" });
  if (candidates.length > 1)
    throw new CliError(`run '${alias}' exists in several projects`, {
      exitCode: EXIT.usage,
      hint: "name one with --project",
    });
  return candidates[0]!;
}

/** No alias: the most recently active run of this folder's projects (the demo's among them), else of any project. */
function latestRun(
  core: RummyCore,
  project: ProjectRecord | undefined,
  env: Record<string, string | undefined>,
): RunRecord | undefined {
  const here = resolve(workingDirectory(env));
  const local = project ? [project] : core.projects.list().filter((p) => p.root === here);
  const newest = (list: readonly RunRecord[]) =>
    [...list].sort((a, b) => a.updatedAt.localeCompare(b.updatedAt) || a.id - b.id).at(-1);
  const runsOf = (projects: readonly ProjectRecord[]) =>
    projects.flatMap((p) => core.runs.list(p.id));
  return newest(runsOf(local)) ?? newest(runsOf(core.projects.list()));
}
