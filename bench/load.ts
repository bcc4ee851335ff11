/**
 * bench/load: N clients × M runs against the real `rummy serve` (its own
 * process) and the fake LLM. Baseline, same run: `getRun` round trips on the
 * idle server. Figures: RPC p50/p99 under load as ratios of the idle p50, the
 * server's own event-loop delay (`rummy/status`), throughput, runs lost (must be 0).
 */
import { percentile } from "@rummy/testing";
import { measureLoad } from "../apps/cli/test/load-suite.js";
import { type BenchResult, report } from "./util.js";

export async function benchLoad(
  clients = Number(process.env.BENCH_CLIENTS ?? 50),
  runsPerClient = Number(process.env.BENCH_RUNS ?? 4),
): Promise<BenchResult> {
  const { load, idleLatenciesMs, idleStatus, loadStatus } = await measureLoad(
    clients,
    runsPerClient,
  );
  const idleP50 = percentile(idleLatenciesMs, 50);
  const loadP50 = percentile(load.latenciesMs, 50);
  const loadP99 = percentile(load.latenciesMs, 99);
  return report("load", [
    { label: `idle getRun p50 (baseline)`, value: idleP50, unit: "ms" },
    { label: `idle event-loop delay p99`, value: idleStatus.eventLoopDelayMs.p99, unit: "ms" },
    {
      label: `${clients} clients × ${runsPerClient} runs: RPC p50 / idle p50`,
      value: loadP50 / idleP50,
      unit: "×",
      ratio: true,
    },
    {
      label: `${clients} clients × ${runsPerClient} runs: RPC p99 / idle p50`,
      value: loadP99 / idleP50,
      unit: "×",
      ratio: true,
    },
    { label: "RPC p50 under load", value: loadP50, unit: "ms" },
    { label: "RPC p99 under load", value: loadP99, unit: "ms" },
    {
      label: "event-loop delay p99 under load",
      value: loadStatus.eventLoopDelayMs.p99,
      unit: "ms",
    },
    {
      label: "event-loop delay max under load",
      value: loadStatus.eventLoopDelayMs.max,
      unit: "ms",
    },
    { label: "server rss after load", value: loadStatus.memoryMb.rss, unit: "MiB" },
    { label: "throughput", value: load.runs / (load.durationMs / 1000), unit: "runs/s" },
    {
      label: `runs lost (of ${load.runs})`,
      value: load.lost,
      unit: "runs",
      target: { max: 0 },
    },
  ]);
}
