/**
 * bench/history-calls: the `getRuns` / `getRun` half of bench/history on a history built once.
 * The first time, it builds HISTORY_FILES files and HISTORY_RUNS scripted runs into
 * HISTORY_HOME (kept); after that it only starts `rummy serve` on that home and times
 * `ping`, `getRuns` and `getRun` (server CPU per call from /proc). HISTORY_PROFILE=<dir>
 * writes the server's CPU profile there and prints its summary.
 *
 *   node --import tsx bench/history-calls.ts
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { RummyClient } from "../packages/client/src/index.js";
import { percentile, startFakeLlm } from "@rummy/testing";
import { startServe } from "../apps/cli/test/helpers.js";
import { askRun, cpuMs, historyModel, makeProject } from "./history.js";
import { profileMarkdown, summarizeProfile } from "./profile.js";

const files = Number(process.env.HISTORY_FILES ?? 500);
const runs = Number(process.env.HISTORY_RUNS ?? 1000);
const home = process.env.HISTORY_HOME ?? `/tmp/rummy-history-${files}-${runs}`;
const profileDir = process.env.HISTORY_PROFILE;
const calls = Number(process.env.HISTORY_CALLS ?? 300);

const project = join(home, "project");
const llm = await startFakeLlm({ handler: historyModel });
const env = {
  OPENAI_BASE_URL: llm.url,
  OPENAI_API_KEY: "sk-test",
  RUMMY_MODEL_fake: "openai/fake-model",
};
if (!existsSync(join(home, "rummy.db"))) {
  mkdirSync(home, { recursive: true });
  makeProject(project, files);
  const server = await startServe(home, ["--port", "0"], env);
  const client = await RummyClient.connect(server.url, { token: server.token });
  await client.hello("history", project);
  for (let n = 1; n <= runs; n++) {
    await askRun(client, `h_${n}`, `question ${n}`);
    if (n % 100 === 0) console.log(`built run ${n}`);
  }
  await client.close();
  await server.stop();
}

const server = await startServe(
  home,
  ["--port", "0"],
  env,
  profileDir
    ? {
        nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=250"],
      }
    : {},
);
const client = await RummyClient.connect(server.url, { token: server.token });
await client.hello("history", project);
const time = async (method: string, params: object, count: number) => {
  const xs: number[] = [];
  const cpuStart = cpuMs(server.pid);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await client.call(method, params);
    xs.push(performance.now() - start);
  }
  const cpu = (cpuMs(server.pid) - cpuStart) / count;
  return { p50: percentile(xs, 50), cpu };
};
// Warm the server up (the full bench's server has run the whole history first).
const warmup = Number(process.env.HISTORY_WARMUP ?? 500);
await time("ping", {}, warmup);
await time("getRuns", {}, warmup);
await time("getRun", { run: `h_${Math.ceil(runs / 2)}` }, warmup);
const fmt = (r: { p50: number; cpu: number }) =>
  `p50 ${r.p50.toFixed(3)} ms, server CPU ${r.cpu.toFixed(2)} ms/call`;
const ping = await time("ping", {}, calls);
const getRuns = await time("getRuns", {}, calls);
const getRun = await time("getRun", { run: `h_${Math.ceil(runs / 2)}` }, calls);
console.log(`${files} files, ${runs} runs (${home})`);
console.log(`  ping    ${fmt(ping)}`);
console.log(`  getRuns ${fmt(getRuns)}  (${(getRuns.p50 / ping.p50).toFixed(2)}× ping)`);
console.log(`  getRun  ${fmt(getRun)}  (${(getRun.p50 / ping.p50).toFixed(2)}× ping)`);
await client.close();
await server.stop();
await llm.close();
if (profileDir) {
  const newest = readdirSync(profileDir)
    .filter((f) => f.endsWith(".cpuprofile") && f.includes(`.${server.pid}.0.`))
    .at(0)!;
  console.log(profileMarkdown(summarizeProfile(join(profileDir, newest), 25, 3)).join("\n"));
}
