import assert from "node:assert/strict";
import { RummyClient } from "@rummy/client";
import type { FakeLlm } from "@rummy/testing";
import { rummy, startServe, tokenOf } from "./helpers.js";

/** A small seeded generator (mulberry32), so a kill schedule can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Where a kill lands: after the n-th notification of a kind for the run under test. */
export interface KillPoint {
  readonly on: "run/progress" | "run/changed" | "run/proposal";
  readonly after: number;
}

export function killPoints(count: number, seed: number): KillPoint[] {
  const random = seeded(seed);
  const kinds = ["run/progress", "run/changed", "run/proposal"] as const;
  return Array.from({ length: count }, () => {
    const on = kinds[Math.floor(random() * kinds.length)]!;
    return { on, after: on === "run/proposal" ? 1 : 1 + Math.floor(random() * 8) };
  });
}

export interface ChaosReport {
  kills: number;
  acknowledged: number;
  lost: number;
  proposalsResolvedAfterRestart: number;
  runsContinued: number;
}

type Serve = Awaited<ReturnType<typeof startServe>>;

async function connect(url: string, home: string): Promise<RummyClient> {
  const client = await RummyClient.connect(url, { token: tokenOf(home) });
  await client.hello("chaos", home);
  return client;
}

/**
 * For each kill point: a scripted three-turn run (streamed replies, an
 * `<ask_user>` proposal the client answers) while the client keeps making
 * acknowledged writes; the server is killed with SIGKILL at the point and
 * restarted on the same home. Then: every acknowledged write must be there,
 * pending proposals must resolve, a new prompt must take the run to 200, and
 * the database must pass its integrity check.
 */
export async function randomKills(options: {
  home: string;
  llm: FakeLlm;
  env: Record<string, string>;
  points: readonly KillPoint[];
}): Promise<ChaosReport> {
  const { home, llm, env, points } = options;
  const report: ChaosReport = {
    kills: 0,
    acknowledged: 0,
    lost: 0,
    proposalsResolvedAfterRestart: 0,
    runsContinued: 0,
  };
  const serve = () => startServe(home, ["--port", "0"], env);
  let server: Serve = await serve();
  try {
    for (const [i, point] of points.entries()) {
      const alias = `rk${i}`;
      llm.clear();
      llm.setHandler(undefined);
      const stream = { chunkSize: 12, chunkDelayMs: 5 };
      llm.enqueue(
        {
          content: `<known path="known://${alias}/t1">first turn of ${alias}</known>\n<ask_user>continue?</ask_user>\n<update status="102">asking</update>`,
          ...stream,
        },
        {
          content: `<known path="known://${alias}/t2">second turn</known>\n<update status="102">more</update>`,
          ...stream,
        },
        { content: `<update status="200">finished ${alias}</update>`, ...stream },
      );
      const client = await connect(server.url, home);
      const answer = (params: { run?: string; proposed?: { path: string }[] }) => {
        for (const p of params.proposed ?? [])
          client
            .call("set", { run: alias, path: p.path, state: "resolved", body: "yes" })
            .catch(() => {});
      };
      let seen = 0;
      const killed = new Promise<void>((resolve) => {
        client.on(point.on, (params: { run?: string; proposed?: { path: string }[] }) => {
          if (params.run !== alias) return;
          if (++seen === point.after) resolve();
          // At a proposal kill point the proposal stays pending; otherwise the client answers.
          else if (point.on === "run/proposal") answer(params);
        });
        if (point.on !== "run/proposal")
          client.on("run/proposal", (params: { run?: string }) => {
            if (params.run === alias) answer(params);
          });
      });
      await client.call("set", {
        path: `run://${alias}`,
        body: `chaos ${i}`,
        attributes: { model: "fake", mode: "act" },
      });
      const acked: string[] = [];
      let writing = true;
      const writer = (async () => {
        for (let k = 0; writing; k++) {
          const path = `known://ack/${alias}/${k}`;
          try {
            await client.call("set", { run: alias, path, body: `ack ${k}` });
            acked.push(path);
          } catch {
            return; // the server died under this call: it was never acknowledged
          }
        }
      })();
      // A run that finishes before its kill point is killed afterwards: still a valid crash.
      await Promise.race([killed, new Promise((r) => setTimeout(r, 5_000))]);
      process.kill(server.pid, "SIGKILL");
      report.kills++;
      writing = false;
      await writer;
      await client.close().catch(() => {});

      server = await serve();
      llm.clear();
      llm.setHandler(() => ({ content: `<update status="200">recovered</update>` }));
      const after = await connect(server.url, home);
      try {
        const present = new Set(
          (
            await after.call<{ path: string }[]>("getEntries", {
              run: alias,
              pattern: `known://ack/${alias}/*`,
            })
          ).map((e) => e.path),
        );
        report.acknowledged += acked.length;
        const missing = acked.filter((p) => !present.has(p));
        report.lost += missing.length;
        assert.deepEqual(missing, [], `kill ${i} (${point.on} #${point.after}): lost writes`);

        const pending = await after.call<{ path: string }[]>("getEntries", {
          run: alias,
          state: "proposed",
        });
        for (const p of pending) {
          const resolved = await after.call<{ ok: boolean }>("set", {
            run: alias,
            path: p.path,
            state: "resolved",
            body: "yes",
          });
          assert.equal(resolved.ok, true, `pending ${p.path} resolves after the restart`);
          report.proposalsResolvedAfterRestart++;
        }
        await settle(after, alias);
        const done = after.waitFor<{ run: string; status: number }>(
          "run/state",
          (s) => s.run === alias && s.status === 200,
          20_000,
        );
        await after.call("set", {
          path: `run://${alias}`,
          body: "go on",
          attributes: { mode: "act" },
        });
        await done;
        report.runsContinued++;
      } finally {
        await after.close();
      }
    }
  } finally {
    await server.stop();
  }
  const doctor = await rummy(["doctor"], { home, env });
  assert.match(doctor.stdout, /integrity ok/, doctor.stdout + doctor.stderr);
  return report;
}

/** Waits until the run is neither running nor waiting on a proposal. */
async function settle(client: RummyClient, alias: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { status } = await client.call<{ status: number }>("getRun", { run: alias });
    if (status !== 102 && status !== 202) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${alias} did not settle`);
}
