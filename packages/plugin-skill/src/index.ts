import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { definePlugin, runForCall, RummyError } from "@rummy/core";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * `skill`: markdown files in `RUMMY_HOME/skills` attached to a run as
 * `skill://<name>` entries the model sees like any other (full when visible,
 * nothing when summarized).
 */
export default definePlugin({
  name: "skill",
  version: "0.1.0",
  setup(ctx) {
    const core = ctx.core;
    const dir = join(core.home, "skills");
    ctx.registerScheme({
      name: "skill",
      category: "data",
      defaultScope: "run",
      writableBy: ["plugin"],
      render: { summarized: () => "" },
    });
    const runParam = { run: { type: "string", required: true, description: "run alias" } } as const;
    const nameParam = {
      name: {
        type: "string",
        required: true,
        maxLength: 100,
        description: "skill name (file name without .md)",
      },
    } as const;
    ctx.registerRpc("skill/add", {
      description: "Attach RUMMY_HOME/skills/<name>.md to a run as skill://<name>.",
      params: { ...runParam, ...nameParam },
      handler: (params: { run: string; name: string }, call) => {
        const run = runForCall(core.runs, call, params.run);
        const file = join(dir, `${checkName(params.name)}.md`);
        let body: string;
        try {
          body = readFileSync(file, "utf8");
        } catch {
          throw new RummyError(404, `no skill '${params.name}' (looked for ${file})`);
        }
        core.store.set({
          runId: run.id,
          path: `skill://${params.name}`,
          body,
          state: "resolved",
          visibility: "visible",
          turn: 0,
          attributes: { name: params.name, source: file },
        });
        return { status: "ok", skill: params.name, path: `skill://${params.name}` };
      },
    });
    ctx.registerRpc("skill/remove", {
      description: "Detach a skill from a run.",
      params: { ...runParam, ...nameParam },
      handler: (params: { run: string; name: string }, call) => {
        const run = runForCall(core.runs, call, params.run);
        const result = core.store.rm({ runId: run.id, path: `skill://${checkName(params.name)}` });
        if (!result.ok)
          throw new RummyError(404, `skill '${params.name}' is not attached to ${params.run}`);
        return { status: "ok" };
      },
    });
    ctx.registerRpc("getSkills", {
      description: "Skills attached to a run: [{ name, status, path }].",
      params: runParam,
      handler: (params: { run: string }, call) => {
        const run = runForCall(core.runs, call, params.run);
        return core.store.get({ runId: run.id, scheme: "skill", includeBody: false }).map((e) => ({
          name: e.path.slice("skill://".length),
          status: e.status ?? 200,
          path: e.path,
        }));
      },
    });
    ctx.registerRpc("listSkills", {
      description: "Skill files available in RUMMY_HOME/skills: [{ name, path }].",
      requiresInit: false,
      handler: () => {
        try {
          return readdirSync(dir)
            .filter((f) => f.endsWith(".md"))
            .sort()
            .map((f) => ({ name: f.slice(0, -3), path: join(dir, f) }));
        } catch {
          return [];
        }
      },
    });
  },
});

function checkName(name: string): string {
  if (!NAME_RE.test(name))
    throw new RummyError(400, `invalid skill name '${name}': letters, digits, '_', '.', '-' only`);
  return name;
}
