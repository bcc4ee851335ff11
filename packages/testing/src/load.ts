import { RummyClient } from "@rummy/client";
import type { FakeReply, RecordedRequest } from "./fake-llm.js";

/**
 * The scripted model for load: turn 1 echoes the prompt into `known://echo`
 * and continues; once that entry is in the context, it answers 200. Each
 * run's answer thus depends only on its own entries — a mix-up shows.
 */
export function loadModel(request: RecordedRequest): FakeReply {
  const user = String((request.body.messages as { content: string }[])[1]?.content ?? "");
  const prompt = /<prompt[^>]*>\n([\s\S]*?)\n<\/prompt>/.exec(user)?.[1] ?? "?";
  if (user.includes('path="known://echo"'))
    return { content: `<update status="200">done ${prompt}</update>`, chunkSize: 24 };
  return {
    content: `<known path="known://echo">${prompt}</known>\n<update status="102">noted</update>`,
    chunkSize: 24,
  };
}

export interface LoadOptions {
  readonly url: string;
  /** The project every client opens (`rummy/hello`). */
  readonly projectRoot: string;
  readonly clients: number;
  readonly runsPerClient: number;
  /** Model alias the runs use; the server must route it to `loadModel`. */
  readonly model: string;
  /** How often each client probes with `getRun` while its run works. Default 20 ms. */
  readonly probeIntervalMs?: number;
  readonly token?: string;
}

export interface LoadReport {
  readonly runs: number;
  readonly completed: number;
  /** Runs whose answer or entries were missing or belonged to another run. */
  readonly lost: number;
  /** What the lost runs ended with: `alias: status reason`. */
  readonly failures: readonly string[];
  /** Every RPC round trip made during the load, in ms. */
  readonly latenciesMs: readonly number[];
  readonly durationMs: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * N clients × M runs each (one after another per client, all clients at
 * once) against a live server, timing every call; then checks each run
 * ended 200 with its own answer and its own `known://echo`.
 */
export async function driveLoad(options: LoadOptions): Promise<LoadReport> {
  const latencies: number[] = [];
  const timed = async <R>(promise: () => Promise<R>): Promise<R> => {
    const start = performance.now();
    try {
      return await promise();
    } finally {
      latencies.push(performance.now() - start);
    }
  };
  const started = performance.now();
  let completed = 0;
  let lost = 0;
  const failures: string[] = [];
  const clients = await Promise.all(
    Array.from({ length: options.clients }, () =>
      RummyClient.connect(options.url, options.token ? { token: options.token } : {}),
    ),
  );
  try {
    await Promise.all(clients.map((c) => c.hello("load", options.projectRoot)));
    await Promise.all(
      clients.map(async (client, i) => {
        for (let j = 0; j < options.runsPerClient; j++) {
          const alias = `load_${i}_${j}`;
          const prompt = `job ${i}.${j}`;
          const ended = client.waitFor<{ run: string; status: number; reason: string }>(
            "run/state",
            (s) => s.run === alias && s.status !== 102 && s.status !== 202,
            120_000,
          );
          await timed(() =>
            client.call("set", {
              path: `run://${alias}`,
              body: prompt,
              attributes: { model: options.model, mode: "ask" },
            }),
          );
          let working = true;
          const probing = (async () => {
            while (working) {
              await timed(() => client.call("getRun", { run: alias }));
              await new Promise((r) => setTimeout(r, options.probeIntervalMs ?? 20));
            }
          })();
          const state = await ended.finally(() => {
            working = false;
          });
          await probing;
          const [echo] = await timed(() =>
            client.call<{ body: string }[]>("getEntries", {
              run: alias,
              pattern: "known://echo",
              withBody: true,
            }),
          );
          if (state.status === 200 && state.reason === `done ${prompt}` && echo?.body === prompt)
            completed++;
          else {
            lost++;
            failures.push(
              `${alias}: ${state.status} ${state.reason}; echo ${JSON.stringify(echo?.body ?? null)}`,
            );
          }
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }
  return {
    runs: options.clients * options.runsPerClient,
    completed,
    lost,
    failures,
    latenciesMs: latencies,
    durationMs: performance.now() - started,
  };
}
