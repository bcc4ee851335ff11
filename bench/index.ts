/**
 * `pnpm bench`: runs every benchmark and writes BENCHMARKS.md — ratios
 * against baselines measured in the same run, absolute figures labelled
 * with the machine they came from.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { benchHistory } from "./history.js";
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
  history: () => benchHistory(),
};

const only = process.argv.slice(2);
const results: BenchResult[] = [];
for (const [name, run] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  results.push(await run());
}

function section(r: BenchResult): string[] {
  const lines = [
    `## bench/${r.name}`,
    "",
    "| figure | value | unit | target |",
    "|---|---|---|---|",
  ];
  for (const f of r.figures) {
    const value = f.ratio ? f.value.toFixed(2) : f.value.toFixed(f.value >= 100 ? 0 : 3);
    const target = f.target
      ? `${f.target.min !== undefined ? `≥ ${f.target.min}` : ""}${f.target.max !== undefined ? `≤ ${f.target.max}` : ""} (${meets(f)})`
      : "";
    lines.push(`| ${f.label} | ${value} | ${f.unit} | ${target} |`);
  }
  lines.push("");
  if (r.notes) lines.push(...r.notes, "");
  return lines;
}

const file = new URL("../BENCHMARKS.md", import.meta.url);
const stamp = `${new Date().toISOString().slice(0, 10)}, machine: ${machine()}`;
if (!only.length || !existsSync(file)) {
  const lines = [
    "# Benchmarks",
    "",
    `Written by \`pnpm bench\` on ${stamp}.`,
    "Ratios compare against a baseline measured in the same run and travel between machines; absolute figures are this machine's.",
    "",
  ];
  for (const r of results) lines.push(...section(r));
  writeFileSync(file, lines.join("\n"));
} else {
  // `pnpm bench load`: re-measure one bench and splice its section into the file, the others untouched.
  let text = readFileSync(file, "utf8");
  for (const r of results) {
    const body = [
      ...section(r).slice(0, 1),
      "",
      `Re-measured alone (\`pnpm bench ${r.name}\`) on ${stamp}.`,
      ...section(r).slice(1),
    ].join("\n");
    const at = text.indexOf(`## bench/${r.name}\n`);
    if (at < 0) text = `${text.trimEnd()}\n\n${body}`;
    else {
      const next = text.indexOf("\n## ", at + 1);
      text = `${text.slice(0, at)}${body}${next < 0 ? "\n" : text.slice(next)}`;
    }
  }
  writeFileSync(file, text);
}
