/**
 * bench/scan: a rescan of an unchanged 5,000-file project (what a turn pays
 * when the scan interval has passed) against the floor measured in the same
 * run — listing the same directories and lstat-ing each file once. Target:
 * ≤ 3× the floor.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, loadPlugins, RummyCore } from "@rummy/core";
import engine from "@rummy/engine";
import file, { scanProject, type StatCache } from "@rummy/plugin-file";
import { type BenchResult, report, timeIt } from "./util.js";

function floor(root: string): void {
  for (const dir of readdirSync(root)) {
    for (const name of readdirSync(join(root, dir))) lstatSync(join(root, dir, name));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchScan(dirs = 50, perDir = 100, rounds = 15): Promise<BenchResult> {
  const home = mkdtempSync(join(tmpdir(), "rummy-bench-scan-"));
  const root = join(home, "project");
  for (let d = 0; d < dirs; d++) {
    mkdirSync(join(root, `dir${d}`), { recursive: true });
    for (let f = 0; f < perDir; f++)
      writeFileSync(
        join(root, `dir${d}`, `file${f}.ts`),
        `export const v${f} = ${f};\n`.repeat(10),
      );
  }
  const core = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
  try {
    await loadPlugins(core, { bundled: [engine, file], pluginDir: join(home, "none") });
    const projectId = core.projects.ensure("bench", root).id;
    const cache: StatCache = new Map();
    const options = { maxFiles: dirs * perDir, maxFileBytes: 1 << 20 };
    const first = timeIt(() => scanProject(core, projectId, root, cache, options));
    const base: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < rounds; i++) {
      base.push(timeIt(() => floor(root)));
      ours.push(timeIt(() => scanProject(core, projectId, root, cache, options)));
    }
    const files = dirs * perDir;
    return report("scan", [
      { label: `list + lstat ${files} files (baseline)`, value: median(base), unit: "ms" },
      { label: `first scan of ${files} files (reads and hashes)`, value: first, unit: "ms" },
      { label: `rescan, nothing changed`, value: median(ours), unit: "ms" },
      {
        label: "ratio rescan/baseline (target ≤ 3)",
        value: median(ours) / median(base),
        unit: "×",
        ratio: true,
        target: { max: 3 },
      },
    ]);
  } finally {
    await core.close();
    rmSync(home, { recursive: true, force: true });
  }
}
