/**
 * bench/store: entry writes per second through the store API against raw
 * better-sqlite3 upserts of the same rows (entries + run_views, one
 * transaction per write) on a file with the same settings, in one run.
 * Target: ratio ≥ 0.5.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, RummyCore } from "@rummy/core";
import Database from "better-sqlite3";
import { type BenchResult, report, timeIt } from "./util.js";

export async function benchStore(
  writes = Number(process.env.BENCH_WRITES ?? 20_000),
): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "rummy-bench-store-"));
  try {
    // Both files get their schema and pragmas from the core, so settings match exactly.
    const storeCore = RummyCore.open({
      home: join(dir, "a"),
      env: {},
      logger: createLogger("silent"),
    });
    storeCore.schemes.register({ name: "known", writableBy: ["model"] });
    const project = storeCore.projects.ensure("bench", null);
    const run = storeCore.runs.create({ projectId: project.id });
    const rawCore = RummyCore.open({
      home: join(dir, "b"),
      env: {},
      logger: createLogger("silent"),
    });
    const rawProject = rawCore.projects.ensure("bench", null);
    const rawRun = rawCore.runs.create({ projectId: rawProject.id });
    await rawCore.close();

    const raw = new Database(join(dir, "b", "rummy.db"));
    raw.pragma("journal_mode = WAL");
    raw.pragma("synchronous = NORMAL");
    raw.pragma("foreign_keys = ON");
    const upsertEntry = raw
      .prepare(
        `INSERT INTO entries (scope, path, body, attributes, tokens) VALUES (?, ?, ?, '{}', ?)
         ON CONFLICT (scope, path) DO UPDATE SET body = excluded.body, tokens = excluded.tokens
         RETURNING id`,
      )
      .pluck();
    const upsertView = raw.prepare(
      `INSERT INTO run_views (run_id, entry_id, turn, state, visibility) VALUES (?, ?, 1, 'resolved', 'visible')
       ON CONFLICT (run_id, entry_id) DO UPDATE SET write_count = write_count + 1`,
    );
    const rawWrite = raw.transaction((i: number, body: string) => {
      const id = upsertEntry.get(
        `run:${rawRun.id}`,
        `known://k${i % 5000}`,
        body,
        Math.ceil(body.length / 4),
      );
      upsertView.run(rawRun.id, id);
    });

    const body = "x".repeat(200);
    const baselineMs = timeIt(() => {
      for (let i = 0; i < writes; i++) rawWrite(i, body);
    });
    const storeMs = timeIt(() => {
      for (let i = 0; i < writes; i++) {
        storeCore.store.set({
          runId: run.id,
          path: `known://k${i % 5000}`,
          body,
          turn: 1,
          writer: "model",
        });
      }
    });
    raw.close();
    await storeCore.close();

    const baseline = writes / (baselineMs / 1000);
    const store = writes / (storeMs / 1000);
    return report("store", [
      { label: "raw better-sqlite3 upserts (baseline)", value: baseline, unit: "writes/s" },
      { label: "store.set through the API", value: store, unit: "writes/s" },
      {
        label: "ratio store/baseline (target ≥ 0.5)",
        value: store / baseline,
        unit: "×",
        ratio: true,
        target: { min: 0.5 },
      },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchStore();
