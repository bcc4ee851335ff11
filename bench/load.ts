/**
 * bench/load: N clients × M runs against the real `rummy serve` (its own
 * process) and the fake LLM. Baseline, same run: `getRun` round trips on the
 * idle server. Figures: RPC p50/p99 under load as ratios of the idle p50, the
 * server's own event-loop delay (`rummy/status`), throughput, runs lost (must be 0).
 */
import { measureLoad, summarize } from "../apps/cli/test/load-suite.js";
import { type BenchResult, report } from "./util.js";

export async function benchLoad(
  clients = Number(process.env.BENCH_CLIENTS ?? 50),
  runsPerClient = Number(process.env.BENCH_RUNS ?? 4),
): Promise<BenchResult> {
  const result = await measureLoad(clients, runsPerClient);
  const f = summarize(result);
  return report("load", [
    { label: `idle getRun p50 (baseline)`, value: f.idleP50, unit: "ms" },
    { label: `idle event-loop delay p99`, value: f.idleLoopP99, unit: "ms" },
    {
      label: `${clients} clients × ${runsPerClient} runs: RPC p50 / idle p50`,
      value: f.loadP50 / f.idleP50,
      unit: "×",
      ratio: true,
    },
    {
      label: `${clients} clients × ${runsPerClient} runs: RPC p99 / idle p50`,
      value: f.loadP99 / f.idleP50,
      unit: "×",
      ratio: true,
    },
    { label: "RPC p50 under load", value: f.loadP50, unit: "ms" },
    { label: "RPC p99 under load", value: f.loadP99, unit: "ms" },
    {
      label: "event-loop delay p99 under load",
      value: f.loadLoopP99,
      unit: "ms",
    },
    {
      label: "event-loop delay max under load",
      value: f.loadLoopMax,
      unit: "ms",
    },
    { label: "server rss after load", value: result.loadStatus.memoryMb.rss, unit: "MiB" },
    { label: "throughput", value: f.runsPerSecond, unit: "runs/s" },
    {
      label: `runs lost (of ${f.runs})`,
      value: f.lost,
      unit: "runs",
      target: { max: 0 },
    },
  ]);
}
