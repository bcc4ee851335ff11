/**
 * bench/turn: engine time per turn with a null model (an in-process provider
 * that answers at once) when the run holds 1k, 10k and 100k entries, with the
 * same 40 visible each time. Cost must follow what is visible, not the run's
 * size. Target: t(10k)/t(1k) and t(100k)/t(1k) ≤ 2.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, loadPlugins, RummyCore } from "@rummy/core";
import { ENGINE_PLUGINS } from "@rummy/integration";
import { type CpuProfile, profileMarkdown, summarizeProfile } from "./profile.js";
import { type BenchResult, report } from "./util.js";

const VISIBLE = 40;

/** `profile`: also take a CPU profile of the timed turns (in this process: the engine runs here). */
async function perTurnMs(
  total: number,
  turns: number,
  profile?: (p: CpuProfile) => void,
  plugins = ENGINE_PLUGINS,
): Promise<number> {
  const home = mkdtempSync(join(tmpdir(), "rummy-bench-turn-"));
  const core = RummyCore.open({
    home,
    env: { RUMMY_MAX_TURNS: "1000" },
    logger: createLogger("silent"),
  });
  try {
    await loadPlugins(core, { bundled: plugins, pluginDir: join(home, "none") });
    core.providers.register({
      name: "null",
      async complete() {
        return {
          content: `<update status="200">ok</update>`,
          reasoning: null,
          usage: null,
          cost: null,
          finishReason: "stop",
          model: "null",
        };
      },
      async contextLength() {
        return 1_000_000;
      },
    });
    const project = core.projects.ensure("bench", home);
    const run = core.runs.create({ projectId: project.id, alias: "bench", model: "null/model" });
    const body = "a fact worth keeping around for the benchmark ".repeat(4);
    core.store.batch(() => {
      for (let i = 0; i < total; i++) {
        core.store.set({
          runId: run.id,
          path: `known://fact/${i}`,
          body,
          visibility: i < VISIBLE ? "visible" : "archived",
          writer: "model",
        });
      }
    });
    // Warm up, then time whole loops of one turn each (assembly → model → parse → dispatch → verdict).
    for (let i = 0; i < 3; i++) {
      core.engine.submit({ projectId: project.id, alias: "bench", mode: "ask", prompt: "warm" });
      await core.engine.settled(run.id);
    }
    const session = profile ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 250 });
      await session.post("Profiler.start");
    }
    const start = process.hrtime.bigint();
    for (let i = 0; i < turns; i++) {
      core.engine.submit({ projectId: project.id, alias: "bench", mode: "ask", prompt: `q${i}` });
      await core.engine.settled(run.id);
    }
    const ms = Number(process.hrtime.bigint() - start) / 1e6 / turns;
    if (session) {
      const { profile: taken } = await session.post("Profiler.stop");
      session.disconnect();
      profile!(taken as unknown as CpuProfile);
    }
    return ms;
  } finally {
    await core.close();
    rmSync(home, { recursive: true, force: true });
  }
}

export async function benchTurn(
  turns = Number(process.env.BENCH_TURNS ?? 40),
): Promise<BenchResult> {
  // A pass to warm the process (the JIT, the statement caches) first, so the first size timed does
  // not carry the warm-up the others are spared; its figure is discarded.
  await perTurnMs(1_000, turns);
  const t1k = await perTurnMs(1_000, turns);
  const t10k = await perTurnMs(10_000, turns);
  const t100k = await perTurnMs(100_000, turns);
  // The same turns without the audit record: the engine's own share, and whether it is flat.
  const withoutTelemetry = ENGINE_PLUGINS.filter((p) => p.name !== "telemetry");
  const bare1k = await perTurnMs(1_000, turns, undefined, withoutTelemetry);
  const bare100k = await perTurnMs(100_000, turns, undefined, withoutTelemetry);
  // A separate short pass, so the profiler's overhead stays out of the figures.
  let profile: CpuProfile | undefined;
  await perTurnMs(100_000, 5, (p) => {
    profile = p;
  });
  const summary = profile ? summarizeProfile(profile, 12, 1) : undefined;
  const telemetry = summary?.stretches[0]?.chain.find((f) => f.name.includes("plugin-telemetry"));
  const notes = summary
    ? [
        ...(telemetry && telemetry.share > 0.25
          ? [
              `What still blocks: ${(telemetry.share * 100).toFixed(0)}% of the turns' time is plugin-telemetry's \`turn.response\` handler, which reads every archived entry of the run (\`store.get\` with \`visibility: "archived"\`) and writes them all into \`audit://turn_N\` \`attributes.context.entries\` — work that grows with the run, not with what is visible. Flat turns need that record to stop listing archived entries one by one (a count and token sum instead, or the list written only when it changes); that changes what the record holds, so it is left to a decision on the audit format.`,
              "",
            ]
          : []),
        ...profileMarkdown(
          summary,
          250,
          "CPU profile of 5 turns at 100k entries (this process, where the engine runs; inspector, 250 µs sampling)",
          "Where the turns' time went (the bench never idles, so this is the whole profiled pass):",
        ),
      ]
    : [];
  return report(
    "turn",
    [
      {
        label: `per-turn engine time, 1k entries (${VISIBLE} visible)`,
        value: t1k,
        unit: "ms",
        target: { max: 2 },
      },
      { label: `per-turn engine time, 10k entries (${VISIBLE} visible)`, value: t10k, unit: "ms" },
      {
        label: `per-turn engine time, 100k entries (${VISIBLE} visible)`,
        value: t100k,
        unit: "ms",
      },
      {
        label: "per-turn engine time without plugin-telemetry, 1k entries",
        value: bare1k,
        unit: "ms",
      },
      {
        label: "per-turn engine time without plugin-telemetry, 100k entries",
        value: bare100k,
        unit: "ms",
      },
      {
        label: "without plugin-telemetry: t(100k)/t(1k)",
        value: bare100k / bare1k,
        unit: "×",
        ratio: true,
      },
      {
        label: "t(10k)/t(1k) (target ≤ 2)",
        value: t10k / t1k,
        unit: "×",
        ratio: true,
        target: { max: 2 },
      },
      {
        label: "t(100k)/t(1k) (target ≤ 2)",
        value: t100k / t1k,
        unit: "×",
        ratio: true,
        target: { max: 2 },
      },
    ],
    notes,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await benchTurn();
