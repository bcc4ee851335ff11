import { basename } from "node:path";
import { RummyCore } from "@rummy/core";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { firstLine, quietLogger, table } from "../output.js";

export async function runs(
  home: Home,
  args: readonly string[],
  options: { project?: string; json?: boolean },
): Promise<number> {
  const [action = "list", alias] = args;
  const core = RummyCore.open({ home: home.path, env: home.env, logger: quietLogger() });
  try {
    const projectName = options.project ?? basename(process.cwd());
    const project = core.projects.byName(projectName);
    if (action === "list") {
      const projects = options.project ? (project ? [project] : []) : core.projects.list();
      const rows = projects.flatMap((p) =>
        core.runs
          .list(p.id)
          .map((r) => [
            p.name,
            r.alias,
            String(r.status),
            r.model ?? "",
            String(core.turns.list(r.id).length),
            r.updatedAt,
          ]),
      );
      if (rows.length === 0) {
        process.stdout.write(
          options.project ? `no runs in project '${projectName}'\n` : "no runs yet\n",
        );
        return EXIT.ok;
      }
      process.stdout.write(table(["project", "run", "status", "model", "turns", "updated"], rows));
      return EXIT.ok;
    }
    if (action !== "show")
      throw new CliError(`unknown runs action '${action}' (list, show)`, { exitCode: EXIT.usage });
    if (!alias)
      throw new CliError("usage: rummy runs show <alias> [--project name]", {
        exitCode: EXIT.usage,
      });
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
    const run = candidates[0]!;
    const loops = core.loops.list(run.id);
    const turns = core.turns.list(run.id);
    const entries = core.store.get({ runId: run.id, order: "id" });
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ run, loops, turns, entries }, null, 2)}\n`);
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
    out.push("", "entries:");
    out.push(
      table(
        ["path", "state", "status", "visibility", "tokens", "body"],
        entries.map((e) => [
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
    process.stdout.write(`${out.join("\n")}\n`);
    return EXIT.ok;
  } finally {
    await core.close();
  }
}
