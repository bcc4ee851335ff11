/**
 * bench/history: what a run costs in a long-lived project. A 500-file (and a
 * 5,000-file) project on the real `rummy serve` (its own process) and the
 * fake LLM; N ask runs one after another, each the same three-turn script
 * (`<set known://…>` + `<get src/…>`, `<set known://…>`, `<update 200>`).
 * Per-run time (from `set run://` to the terminal `run/state`) at run 1, 10,
 * 100 and 1,000, the ratio t(last)/t(first) (target ≤ 1.5), database bytes
 * per run, and `getRuns`/`getRun` p50 once the history is there, next to
 * `ping` measured in the same run (target ≤ 2 ms). Wall times on a shared machine swing with its
 * load, so the server's own CPU time per run (from /proc) is reported next to them: its ratio
 * between late and early runs is the figure that load does not move.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { RummyClient } from "../packages/client/src/index.js";
import { type FakeReply, percentile, type RecordedRequest, startFakeLlm } from "@rummy/testing";
import Database from "better-sqlite3";
import { startServe, tempHome } from "../apps/cli/test/helpers.js";
import { type BenchResult, type Figure, report } from "./util.js";

/** The scripted model: what it says depends only on what the run's own context already holds. */
export function historyModel(request: RecordedRequest): FakeReply {
  const messages = request.body.messages as { content: string }[];
  const context = messages.map((m) => String(m.content)).join("\n");
  if (context.includes('path="known://second"'))
    return { content: `<update status="200">done</update>` };
  if (context.includes('path="known://first"'))
    return { content: `<set path="known://second">the second fact</set>` };
  return {
    content: `<set path="known://first">the first fact</set>\n<get path="src/d0/f1.js"/>`,
  };
}

export function makeProject(root: string, files: number): void {
  const perDir = 100;
  for (let i = 0; i < files; i++) {
    const dir = join(root, "src", `d${Math.floor(i / perDir)}`);
    if (i % perDir === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i % perDir}.js`), `export const v${i} = ${i};\n`.repeat(8));
  }
}

/** CPU time (user + system) the server process has used so far, in ms — robust on a loaded machine. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime (fields 14 and 15 of stat), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface HistoryResult {
  readonly files: number;
  readonly runs: number;
  /** ms per run, in order. */
  readonly perRunMs: readonly number[];
  /** Server CPU ms per run, in order (10 ms ticks: read it over windows). */
  readonly perRunCpuMs: readonly number[];
  readonly getRunsCpuMs: number;
  readonly dbBytes: number;
  readonly viewRows: number;
  readonly entryRows: number;
  readonly pingP50: number;
  readonly getRunsP50: number;
  readonly getRunP50: number;
  readonly failed: number;
}

/** Starts an ask run with the scripted model and waits for its terminal run/state. */
export async function askRun(
  client: RummyClient,
  alias: string,
  question: string,
): Promise<{ run: string; status: number }> {
  const ended = client.waitFor<{ run: string; status: number }>(
    "run/state",
    (s) => s.run === alias && s.status !== 102 && s.status !== 202 && s.status !== 100,
    120_000,
  );
  await client.call("set", {
    path: `run://${alias}`,
    body: question,
    attributes: { model: "fake", mode: "ask" },
  });
  return ended;
}

export async function measureHistory(
  files: number,
  runs: number,
  options: {
    env?: Record<string, string>;
    onRun?: (n: number, ms: number) => void;
    /** Sees the database file once the server has stopped (profiling, query plans). */
    inspect?: (dbPath: string) => void;
  } = {},
): Promise<HistoryResult> {
  const { home, cleanup } = tempHome();
  const project = join(home, "project");
  makeProject(project, files);
  const llm = await startFakeLlm({ handler: historyModel });
  const server = await startServe(home, ["--port", "0"], {
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: "sk-test",
    RUMMY_MODEL_fake: "openai/fake-model",
    ...options.env,
  });
  let failed = 0;
  const perRunMs: number[] = [];
  const perRunCpuMs: number[] = [];
  const linux = existsSync(`/proc/${server.pid}/stat`);
  const cpu = () => (linux ? cpuMs(server.pid) : Number.NaN);
  try {
    const client = await RummyClient.connect(server.url, { token: server.token });
    await client.hello("history", project);
    for (let n = 1; n <= runs; n++) {
      const alias = `h_${n}`;
      const start = performance.now();
      const cpuStart = cpu();
      const state = await askRun(client, alias, `question ${n}`);
      const ms = performance.now() - start;
      perRunMs.push(ms);
      perRunCpuMs.push(cpu() - cpuStart);
      if (state.status !== 200) failed++;
      options.onRun?.(n, ms);
    }
    const timeCalls = async (method: string, params: object, count: number) => {
      const xs: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await client.call(method, params);
        xs.push(performance.now() - start);
      }
      return percentile(xs, 50);
    };
    await timeCalls("ping", {}, 50);
    const pingP50 = await timeCalls("ping", {}, 300);
    const getRunsCpuStart = cpu();
    const getRunsP50 = await timeCalls("getRuns", {}, 100);
    const getRunsCpuMs = (cpu() - getRunsCpuStart) / 100;
    const getRunP50 = await timeCalls("getRun", { run: `h_${Math.ceil(runs / 2)}` }, 300);
    await client.close();
    await server.stop();
    const dbPath = join(home, "rummy.db");
    options.inspect?.(dbPath);
    const db = new Database(dbPath, { readonly: true });
    const viewRows = db.prepare("SELECT count(*) FROM run_views").pluck().get() as number;
    const entryRows = db.prepare("SELECT count(*) FROM entries").pluck().get() as number;
    db.close();
    const size = (p: string) => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    const dbBytes = size(dbPath) + size(`${dbPath}-wal`);
    return {
      files,
      runs,
      perRunMs,
      perRunCpuMs,
      getRunsCpuMs,
      dbBytes,
      viewRows,
      entryRows,
      pingP50,
      getRunsP50,
      getRunP50,
      failed,
    };
  } finally {
    await server.stop();
    await llm.close();
    cleanup();
  }
}

/** The median of the nine runs around run `n` (1-based), so one noisy run does not make the figure. */
function around(perRunMs: readonly number[], n: number): number {
  const from = Math.max(0, Math.min(n - 5, perRunMs.length - 9));
  return percentile(perRunMs.slice(from, from + 9), 50);
}

function figuresFor(r: HistoryResult, checkpoints: readonly number[]): Figure[] {
  const p = `${r.files.toLocaleString("en-US")} files`;
  const first = around(r.perRunMs, 1);
  const last = around(r.perRunMs, r.runs);
  const median = percentile(r.perRunMs, 50);
  const spikes = r.perRunMs.filter((ms) => ms > 3 * median).length;
  // Mean over nine runs (the counter ticks in 10 ms); never run 1, which also reads the whole project.
  const cpuAround = (n: number) => {
    const from = Math.max(1, Math.min(n - 5, r.perRunCpuMs.length - 9));
    const window = r.perRunCpuMs.slice(from, from + 9);
    return window.reduce((a, b) => a + b, 0) / window.length;
  };
  return [
    ...checkpoints.map((n) => ({
      label: `${p}: time of run ${n.toLocaleString("en-US")}`,
      value: around(r.perRunMs, n),
      unit: "ms",
    })),
    ...checkpoints.map((n) => ({
      label: `${p}: server CPU per run around run ${n.toLocaleString("en-US")}`,
      value: cpuAround(n),
      unit: "ms",
    })),
    {
      label: `${p}: server CPU, run ${r.runs.toLocaleString("en-US")} / run 1 (target ≤ 1.5)`,
      value: cpuAround(r.runs) / cpuAround(1),
      unit: "×",
      ratio: true,
      target: { max: 1.5 },
    },
    {
      label: `${p}: t(run ${r.runs.toLocaleString("en-US")})/t(run 1) (target ≤ 1.5)`,
      value: last / first,
      unit: "×",
      ratio: true,
      target: { max: 1.5 },
    },
    {
      label: `${p}: p99 / p50 of all ${r.runs} runs`,
      value: percentile(r.perRunMs, 99) / median,
      unit: "×",
      ratio: true,
    },
    { label: `${p}: runs slower than 3× the median`, value: spikes, unit: "runs" },
    { label: `${p}: database size per run`, value: r.dbBytes / r.runs / 1024, unit: "KiB" },
    { label: `${p}: run_views rows per run`, value: r.viewRows / r.runs, unit: "rows" },
    { label: `${p}: ping p50 at ${r.runs} runs (baseline)`, value: r.pingP50, unit: "ms" },
    {
      label: `${p}: getRuns p50 at ${r.runs} runs (target ≤ 2 ms)`,
      value: r.getRunsP50,
      unit: "ms",
      target: { max: 2 },
    },
    { label: `${p}: getRuns / ping`, value: r.getRunsP50 / r.pingP50, unit: "×", ratio: true },
    {
      label: `${p}: server CPU per getRuns at ${r.runs} runs`,
      value: r.getRunsCpuMs,
      unit: "ms",
    },
    {
      label: `${p}: getRun p50 at ${r.runs} runs (target ≤ 2 ms)`,
      value: r.getRunP50,
      unit: "ms",
      target: { max: 2 },
    },
    { label: `${p}: getRun / ping`, value: r.getRunP50 / r.pingP50, unit: "×", ratio: true },
    { label: `${p}: runs not ending 200`, value: r.failed, unit: "runs", target: { max: 0 } },
  ];
}

export async function benchHistory(
  smallRuns = Number(process.env.BENCH_HISTORY_RUNS ?? 1000),
  largeRuns = Number(process.env.BENCH_HISTORY_LARGE_RUNS ?? 100),
): Promise<BenchResult> {
  const checkpoints = (runs: number) => [1, 10, 100, 1000].filter((n) => n < runs).concat(runs);
  const progress = (files: number) => (n: number, ms: number) => {
    if (n % 100 === 0) console.log(`  ${files} files: run ${n}: ${ms.toFixed(1)} ms`);
  };
  const loadBefore = loadavg()[0]!;
  const small = await measureHistory(500, smallRuns, { onRun: progress(500) });
  const large = await measureHistory(5000, largeRuns, { onRun: progress(5000) });
  const load = [
    {
      label: "machine load average (1 min) before the bench",
      value: loadBefore,
      unit: `on ${cpus().length} shared cores`,
    },
    {
      label: "machine load average (1 min) after the bench",
      value: loadavg()[0]!,
      unit: `on ${cpus().length} shared cores`,
    },
  ];
  const figures = [
    ...load,
    ...figuresFor(small, checkpoints(smallRuns)),
    ...figuresFor(large, checkpoints(largeRuns)),
    {
      label:
        "5,000 files: runs measured (fewer checkpoints: 1,000 runs would take too long on 2 shared cores)",
      value: largeRuns,
      unit: "runs",
    },
  ];
  const result = report("history", figures);
  console.log(
    `  (5,000 files: ${largeRuns} runs, not 1,000, to keep the bench's wall time sane; each time is the median of the 9 runs around it)`,
  );
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchHistory();
