import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RummyCore, createLogger } from "../src/index.js";

/** The schemes most tests use: run-scoped `known`, project `file`, global `skill`. */
export function registerTestSchemes(core: RummyCore): void {
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
  core.schemes.register({
    name: "skill",
    category: "data",
    defaultScope: "global",
    writableBy: ["system"],
  });
}

/** A core on a real SQLite file in a fresh temporary home, with the schemes most tests use. */
export function tempCore(env: Record<string, string> = {}): {
  core: RummyCore;
  home: string;
  cleanup: () => Promise<void>;
} {
  const home = mkdtempSync(join(tmpdir(), "rummy-core-"));
  const core = RummyCore.open({ home, env: { ...env }, logger: createLogger("silent") });
  registerTestSchemes(core);
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
