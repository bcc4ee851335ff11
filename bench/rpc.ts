/**
 * bench/rpc: `ping` latency through the rummy server (JSON-RPC envelope,
 * registry lookup, params validation, RPC log write) against a bare ws echo
 * server answering the same frames, in the same run. Target: p50 ≤ 2× baseline.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, loadPlugins, RummyCore } from "@rummy/core";
import engine from "@rummy/engine";
import rpc from "@rummy/plugin-rpc";
import { startServer } from "@rummy/server";
import WebSocket, { WebSocketServer } from "ws";
import { type BenchResult, report } from "./util.js";

async function latencies(url: string, calls: number): Promise<number[]> {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  const out: number[] = [];
  for (let i = 0; i < calls; i++) {
    const frame = JSON.stringify({ jsonrpc: "2.0", id: i, method: "ping", params: {} });
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      socket.once("message", () => resolve());
      socket.send(frame);
    });
    out.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  socket.close();
  return out;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export async function benchRpc(
  calls = Number(process.env.BENCH_CALLS ?? 5000),
): Promise<BenchResult> {
  const home = mkdtempSync(join(tmpdir(), "rummy-bench-rpc-"));
  const core = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
  await loadPlugins(core, { bundled: [engine, rpc], pluginDir: join(home, "none") });
  const server = await startServer({ core, port: 0 });
  const echo = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  echo.on("connection", (s) =>
    s.on("message", (d) =>
      s.send(JSON.stringify({ jsonrpc: "2.0", id: JSON.parse(d.toString()).id, result: {} })),
    ),
  );
  await new Promise((r) => echo.once("listening", r));
  const echoUrl = `ws://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  try {
    await latencies(echoUrl, 300); // warm both paths
    await latencies(server.url, 300);
    const base = await latencies(echoUrl, calls);
    const ours = await latencies(server.url, calls);
    return report("rpc", [
      { label: "bare ws echo p50 (baseline)", value: pct(base, 50), unit: "ms" },
      { label: "bare ws echo p99", value: pct(base, 99), unit: "ms" },
      { label: "rummy ping p50", value: pct(ours, 50), unit: "ms" },
      { label: "rummy ping p99", value: pct(ours, 99), unit: "ms" },
      {
        label: "p50 ratio rummy/echo (target ≤ 2)",
        value: pct(ours, 50) / pct(base, 50),
        unit: "×",
        ratio: true,
        target: { max: 2 },
      },
      {
        label: "p99 ratio rummy/echo",
        value: pct(ours, 99) / pct(base, 99),
        unit: "×",
        ratio: true,
      },
    ]);
  } finally {
    await server.close();
    await new Promise((r) => echo.close(() => r(null)));
    await core.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchRpc();
