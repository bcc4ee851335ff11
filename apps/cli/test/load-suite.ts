import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { RummyClient } from "@rummy/client";
import { driveLoad, type LoadReport, loadModel, percentile, startFakeLlm } from "@rummy/testing";
import { startServe, tempHome } from "./helpers.js";

export interface ServerStatus {
  connections: number;
  memoryMb: { rss: number; heapUsed: number };
  eventLoopDelayMs: { p50: number; p99: number; max: number; windowSeconds: number };
}

export interface LoadResult {
  readonly load: LoadReport;
  /** `getRun` round trips on an idle server, in the same run: the baseline. */
  readonly idleLatenciesMs: readonly number[];
  readonly idleStatus: ServerStatus;
  readonly loadStatus: ServerStatus;
  /**
   * With `probe`: `getRun` round trips from a lone client in its own process,
   * idle (the same calls as `idleLatenciesMs`) and during the load.
   */
  readonly probe?: { readonly idleMs: readonly number[]; readonly loadMs: readonly number[] };
  /** The driving process's own event-loop delay under the load, ms: the clients' share of the latencies. */
  readonly clientLoopMs: { readonly p50: number; readonly p99: number };
}

/**
 * Starts the real `rummy serve` (its own process, so its event loop is
 * measured alone) against the fake LLM, measures an idle baseline, then
 * drives N clients × M runs and reads the server's own status.
 */
export interface MeasureOptions {
  /** Pin the server to these cpus (`taskset -c`), so its figures are its own. */
  readonly serverCpus?: string;
  /** Run the server at this niceness (`nice -n`; below 0 needs root). */
  readonly serverNice?: number;
  /** Write the server's V8 CPU profile (`--cpu-prof`) into this folder when it stops. */
  readonly cpuProfileDir?: string;
  /** Also time the server from a lone client in a process of its own (load-probe.ts). */
  readonly probe?: boolean;
}

/** Starts load-probe.ts and returns a way to give it a command and await its answer. */
function startProbe(): { ask: (command: unknown) => Promise<unknown>; child: ChildProcess } {
  const child = fork(join(import.meta.dirname, "load-probe.ts"), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ask = (command: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      child.once("message", resolve);
      child.once("exit", (code) => reject(new Error(`the load probe exited with ${code}`)));
      child.send(command as object);
    });
  return { ask, child };
}

export async function measureLoad(
  clients: number,
  runsPerClient: number,
  options: MeasureOptions = {},
): Promise<LoadResult> {
  const { home, cleanup } = tempHome();
  // A small project of its own: the home (with the database) is not what the runs look at.
  const project = join(home, "project");
  mkdirSync(join(project, "src"), { recursive: true });
  writeFileSync(join(project, "README.md"), "# load\n");
  writeFileSync(join(project, "src", "index.ts"), "export const answer = 42;\n");
  const llm = await startFakeLlm({ handler: loadModel });
  const server = await startServe(
    home,
    ["--port", "0"],
    {
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: "sk-test",
      RUMMY_MODEL_fake: "openai/fake-model",
      // Default retries, as a user runs it: a pooled connection the fake LLM closes just as a
      // request goes out is retried, not counted as a lost run.
    },
    {
      ...(options.serverCpus ? { cpus: options.serverCpus } : {}),
      ...(options.serverNice !== undefined ? { nice: options.serverNice } : {}),
      ...(options.cpuProfileDir
        ? {
            nodeArgs: [
              "--cpu-prof",
              `--cpu-prof-dir=${options.cpuProfileDir}`,
              "--cpu-prof-interval=250",
            ],
          }
        : {}),
    },
  );
  try {
    const probe = await RummyClient.connect(server.url, { token: server.token });
    await probe.hello("load", project);
    // A finished run to read, so the idle baseline does the same work as the load probes.
    const warm = await driveLoad({
      url: server.url,
      token: server.token,
      projectRoot: project,
      clients: 1,
      runsPerClient: 1,
      model: "fake",
    });
    if (warm.completed !== 1) throw new Error("the warm-up run did not complete");
    const lone = options.probe ? startProbe() : undefined;
    let loneIdle: number[] = [];
    if (lone) {
      await lone.ask({ url: server.url, token: server.token, project, run: "load_0_0" });
      loneIdle = ((await lone.ask({ idle: 300 })) as { latencies: number[] }).latencies;
    }
    await probe.call("rummy/status", { reset: true });
    const idleLatenciesMs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const start = performance.now();
      await probe.call("getRun", { run: "load_0_0" });
      idleLatenciesMs.push(performance.now() - start);
      await new Promise((r) => setTimeout(r, 2));
    }
    const idleStatus = await probe.call<ServerStatus>("rummy/status", { reset: true });
    const clientLoop = monitorEventLoopDelay({ resolution: 10 });
    clientLoop.enable();
    const loneLoad = lone?.ask({ load: true });
    const load = await driveLoad({
      url: server.url,
      token: server.token,
      projectRoot: project,
      clients,
      runsPerClient,
      model: "fake",
    });
    clientLoop.disable();
    lone?.child.send("stop");
    const loneLoadMs = loneLoad ? ((await loneLoad) as { latencies: number[] }).latencies : [];
    lone?.child.kill();
    const loadStatus = await probe.call<ServerStatus>("rummy/status", { reset: true });
    await probe.close();
    // The histogram counts whole sampling intervals: the delay is what exceeds the resolution.
    const late = (ns: number) => Math.max(0, ns / 1e6 - 10);
    const clientLoopMs = {
      p50: late(clientLoop.percentile(50)),
      p99: late(clientLoop.percentile(99)),
    };
    return {
      load,
      idleLatenciesMs,
      idleStatus,
      loadStatus,
      clientLoopMs,
      ...(lone ? { probe: { idleMs: loneIdle, loadMs: loneLoadMs } } : {}),
    };
  } finally {
    await server.stop();
    await llm.close();
    cleanup();
  }
}

export function summarize(result: LoadResult) {
  const { load, idleLatenciesMs, idleStatus, loadStatus } = result;
  return {
    runs: load.runs,
    completed: load.completed,
    lost: load.lost,
    calls: load.latenciesMs.length,
    idleP50: percentile(idleLatenciesMs, 50),
    loadP50: percentile(load.latenciesMs, 50),
    loadP99: percentile(load.latenciesMs, 99),
    idleLoopP99: idleStatus.eventLoopDelayMs.p99,
    loadLoopP99: loadStatus.eventLoopDelayMs.p99,
    loadLoopMax: loadStatus.eventLoopDelayMs.max,
    clientLoopP99: result.clientLoopMs.p99,
    probeIdleP50: result.probe ? percentile(result.probe.idleMs, 50) : Number.NaN,
    probeLoadP50: result.probe ? percentile(result.probe.loadMs, 50) : Number.NaN,
    probeLoadP99: result.probe ? percentile(result.probe.loadMs, 99) : Number.NaN,
    runsPerSecond: load.runs / (load.durationMs / 1000),
  };
}
