/**
 * Reads a V8 `.cpuprofile` (`node --cpu-prof`) and says where the time went:
 * the functions with the most self time, and the longest synchronous
 * stretches — runs of consecutive samples with no idle between them, which is
 * how long the event loop could not answer anyone.
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface FunctionTime {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

export interface Stretch {
  readonly ms: number;
  /** Samples taken in it: × the interval is time on the cpu (the rest, the OS gave to others). */
  readonly samples: number;
  /** Where the stretch spent its own time, heaviest first. */
  readonly self: readonly FunctionTime[];
  /** The project's frames on the stretch's stacks, by inclusive time: the call chain that held the loop. */
  readonly chain: readonly FunctionTime[];
}

export interface ProfileSummary {
  /** Busy time in startup (module loading, boot), left out of the rest. */
  readonly startupMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly self: readonly FunctionTime[];
  readonly stretches: readonly Stretch[];
}

const IDLE = "(idle)";

function frameName(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  const file = frame.url
    .replace(/^file:\/\//, "")
    .replace(/^.*\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, "")
    .replace(/^.*\/(packages|apps)\//, "$1/");
  // tsx-compiled sources carry no useful line numbers in the profile: name the file alone.
  return /\.[cm]?ts$/.test(file) ? `${name} ${file}` : `${name} ${file}:${frame.lineNumber + 1}`;
}

const ours = (frame: CallFrame) =>
  /\/(packages|apps)\//.test(frame.url) && !frame.url.includes("node_modules");

/** Startup (module loading, `main`, opening the store): not the load, reported apart. */
const STARTUP =
  /apps\/cli\/bin\/rummy\.mjs|apps\/cli\/src\/main\.ts|node:internal\/modules\/(esm|cjs)\//;

/** `path`: a `.cpuprofile` file, or the profile itself (the inspector's `Profiler.stop`). */
export function summarizeProfile(
  path: string | CpuProfile,
  top = 12,
  stretches = 5,
): ProfileSummary {
  const profile =
    typeof path === "string" ? (JSON.parse(readFileSync(path, "utf8")) as CpuProfile) : path;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = new Map<number, ProfileNode[]>();
  const stack = (id: number): ProfileNode[] => {
    let s = stackOf.get(id);
    if (!s) {
      s = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at))
        s.push(byId.get(at)!);
      stackOf.set(id, s);
    }
    return s;
  };
  const selfMs = new Map<string, number>();
  let busyMs = 0;
  let idleMs = 0;
  let startupMs = 0;
  const atStartup = (id: number) => stack(id).some((n) => STARTUP.test(n.callFrame.url));
  const found: { ms: number; samples: { id: number; ms: number }[] }[] = [];
  let current: { ms: number; samples: { id: number; ms: number }[] } | undefined;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    // timeDeltas[i] is the time before sample i; the time sample i stands for is the next delta.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === IDLE) {
      idleMs += ms;
      if (current) found.push(current);
      current = undefined;
      continue;
    }
    if (atStartup(id)) {
      startupMs += ms;
      if (current) found.push(current);
      current = undefined;
      continue;
    }
    busyMs += ms;
    const name = frameName(node.callFrame);
    selfMs.set(name, (selfMs.get(name) ?? 0) + ms);
    current ??= { ms: 0, samples: [] };
    current.ms += ms;
    current.samples.push({ id, ms });
  }
  if (current) found.push(current);
  const ranked = (times: Map<string, number>, total: number, n: number) =>
    [...times]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, ms, share: total ? ms / total : 0 }));
  return {
    startupMs,
    busyMs,
    idleMs,
    self: ranked(selfMs, busyMs, top),
    stretches: found
      .sort((a, b) => b.ms - a.ms)
      .slice(0, stretches)
      .map((s) => {
        const self = new Map<string, number>();
        const inclusive = new Map<string, number>();
        for (const { id, ms } of s.samples) {
          const name = frameName(byId.get(id)!.callFrame);
          self.set(name, (self.get(name) ?? 0) + ms);
          const seen = new Set<string>();
          for (const frame of stack(id)) {
            if (!ours(frame.callFrame)) continue;
            const f = frameName(frame.callFrame);
            if (seen.has(f)) continue;
            seen.add(f);
            inclusive.set(f, (inclusive.get(f) ?? 0) + ms);
          }
        }
        return {
          ms: s.ms,
          samples: s.samples.length,
          self: ranked(self, s.ms, 4),
          chain: ranked(inclusive, s.ms, 6),
        };
      }),
  };
}

/** The summary as markdown lines for BENCHMARKS.md. */
export function profileMarkdown(
  summary: ProfileSummary,
  intervalUs = 250,
  what = "Server CPU profile under the same load (`--cpu-prof`, 250 µs sampling)",
  stretchesTitle = "Longest synchronous stretches (consecutive samples without idle — the loop answered no one; wall time, with the samples × interval that were on the cpu):",
): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `${what}: busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms, startup (module loading, boot; left out below) ${summary.startupMs.toFixed(0)} ms.`,
    "",
    "| top self time | ms | share of busy |",
    "|---|---|---|",
    ...summary.self.map((f) => `| \`${f.name}\` | ${f.ms.toFixed(1)} | ${pct(f.share)} |`),
    "",
    stretchesTitle,
    "",
  ];
  for (const s of summary.stretches) {
    lines.push(
      `- **${s.ms.toFixed(1)} ms** (${((s.samples * intervalUs) / 1000).toFixed(1)} ms sampled) — self: ${s.self.map((f) => `\`${f.name}\` ${pct(f.share)}`).join(", ")}`,
      `  - our frames (inclusive): ${s.chain.map((f) => `\`${f.name}\` ${pct(f.share)}`).join(" · ") || "none"}`,
    );
  }
  lines.push("");
  return lines;
}
