/**
 * `pnpm bench`: runs every benchmark and writes BENCHMARKS.md — ratios
 * against baselines measured in the same run, absolute figures labelled
 * with the machine they came from.
 */
import { writeFileSync } from "node:fs";
import { benchLoad } from "./load.js";
import { benchRpc } from "./rpc.js";
import { benchScan } from "./scan.js";
import { benchStore } from "./store.js";
import { benchStream } from "./stream.js";
import { benchTurn } from "./turn.js";
import { type BenchResult, machine, meets } from "./util.js";

const benches: Record<string, () => Promise<BenchResult>> = {
  store: () => benchStore(),
  turn: () => benchTurn(),
  rpc: () => benchRpc(),
  stream: () => benchStream(),
  scan: () => benchScan(),
  load: () => benchLoad(),
};

const only = process.argv.slice(2);
const results: BenchResult[] = [];
for (const [name, run] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  results.push(await run());
}

const lines = [
  "# Benchmarks",
  "",
  `Written by \`pnpm bench\` on ${new Date().toISOString().slice(0, 10)}, machine: ${machine()}.`,
  "Ratios compare against a baseline measured in the same run and travel between machines; absolute figures are this machine's.",
  "",
];
for (const r of results) {
  lines.push(`## bench/${r.name}`, "", "| figure | value | unit | target |", "|---|---|---|---|");
  for (const f of r.figures) {
    const value = f.ratio ? f.value.toFixed(2) : f.value.toFixed(f.value >= 100 ? 0 : 3);
    const target = f.target
      ? `${f.target.min !== undefined ? `≥ ${f.target.min}` : ""}${f.target.max !== undefined ? `≤ ${f.target.max}` : ""} (${meets(f)})`
      : "";
    lines.push(`| ${f.label} | ${value} | ${f.unit} | ${target} |`);
  }
  lines.push("");
}
if (!only.length) writeFileSync(new URL("../BENCHMARKS.md", import.meta.url), lines.join("\n"));
