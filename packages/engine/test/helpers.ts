import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, RummyCore } from "@rummy/core";
import engine from "../src/index.js";

/** A core on a real SQLite file in a fresh temporary home with the engine loaded and the test schemes. */
export async function tempCore(env: Record<string, string> = {}): Promise<{
  core: RummyCore;
  home: string;
  cleanup: () => Promise<void>;
}> {
  const home = mkdtempSync(join(tmpdir(), "rummy-engine-"));
  const core = RummyCore.open({ home, env: { ...env }, logger: createLogger("silent") });
  const loaded = await core.use(engine);
  if ("error" in loaded) throw new Error(loaded.error);
  core.schemes.register({
    name: "known",
    category: "data",
    defaultScope: "run",
    writableBy: ["model"],
  });
  core.schemes.register({
    name: "file",
    category: "data",
    defaultScope: "project",
    writableBy: ["client"],
  });
  return {
    core,
    home,
    cleanup: async () => {
      await core.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export function newRun(core: RummyCore, project = "demo", alias?: string) {
  const p = core.projects.ensure(project, "/tmp/demo");
  return core.runs.create({ projectId: p.id, ...(alias ? { alias } : {}) });
}
