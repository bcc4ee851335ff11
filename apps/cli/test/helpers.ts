import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveToken } from "@rummy/server";

export const BIN = join(import.meta.dirname, "..", "bin", "rummy.mjs");

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `rummy` binary with a private RUMMY_HOME and no provider keys from the outside. */
export function rummy(
  args: readonly string[],
  options: {
    home: string;
    env?: Record<string, string>;
    input?: string;
    cwd?: string;
    timeoutMs?: number;
  },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !/^(RUMMY_|OPENAI_|OPENROUTER_|XAI_|OLLAMA_)/.test(k)) env[k] = v;
    }
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? defaultCwd(options.home),
      env: { ...env, RUMMY_HOME: options.home, RUMMY_LOG_LEVEL: "warn", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** The token a `rummy serve` on this RUMMY_HOME expects (what the CLI itself reads). */
export function tokenOf(home: string): string {
  const { token } = resolveToken(home, {}, { create: false });
  if (!token) throw new Error(`no token in ${home}: has rummy serve started there?`);
  return token;
}

/**
 * Where a CLI call runs unless told: an empty folder of its own per home (ask/act make the current
 * folder the project, and scanning the shared /tmp makes runs slow and their prompts noisy).
 */
const cwds = new Map<string, string>();
function defaultCwd(home: string): string {
  let cwd = cwds.get(home);
  if (!cwd) {
    cwd = mkdtempSync(join(tmpdir(), "rummy-cli-cwd-"));
    cwds.set(home, cwd);
  }
  return cwd;
}

export function tempHome(): { home: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), "rummy-cli-"));
  return {
    home,
    cleanup: () => {
      rmSync(home, { recursive: true, force: true });
      const cwd = cwds.get(home);
      if (cwd) rmSync(cwd, { recursive: true, force: true });
    },
  };
}

/** Starts `rummy serve` as a child process and resolves once it prints where it listens. */
export function startServe(
  home: string,
  args: readonly string[] = ["--port", "0"],
  env: Record<string, string> = {},
  /**
   * `cpus`: run the server under `taskset -c <cpus>` (util-linux), so a bench measures it on its own
   * core; `nice`: under `nice -n <nice>` (below 0 needs root: the server ahead of other work on a shared
   * machine); `nodeArgs`: flags for the server's node (`--cpu-prof`, which NODE_OPTIONS does not take).
   */
  options: { cpus?: string; nice?: number; nodeArgs?: readonly string[] } = {},
) {
  return new Promise<{
    url: string;
    /** The server's token, read from RUMMY_HOME/token as the CLI does ("" with RUMMY_TOKEN=off). */
    token: string;
    pid: number;
    output: () => string;
    stop: () => Promise<number | null>;
  }>((resolve, reject) => {
    const command = [process.execPath, ...(options.nodeArgs ?? []), BIN, "serve", ...args];
    if (options.cpus) command.unshift("taskset", "-c", options.cpus);
    if (options.nice !== undefined) command.unshift("nice", "-n", String(options.nice));
    const child = spawn(command[0]!, command.slice(1), {
      cwd: tmpdir(),
      env: { ...process.env, RUMMY_HOME: home, RUMMY_LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`serve did not start: ${out}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /rummy listening on (ws:\/\/\S+)/.exec(out);
      // The models line is the last of the startup report.
      if (m && /\nmodels: .*\n/.test(out)) {
        clearTimeout(timer);
        resolve({
          url: m[1]!,
          token:
            resolveToken(home, { RUMMY_TOKEN: env.RUMMY_TOKEN }, { create: false }).token ?? "",
          pid: child.pid!,
          output: () => out,
          stop: () =>
            new Promise((done) => {
              // Already gone (killed by a test): nothing to wait for.
              if (child.exitCode !== null || child.signalCode !== null) return done(child.exitCode);
              child.once("close", (code) => done(code));
              child.kill("SIGTERM");
            }),
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${out}`));
    });
  });
}

/** The environment a test's `rummy` sees: no provider keys or RUMMY_ settings from the outside. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (
      v !== undefined &&
      !/^(RUMMY_|OPENAI_|OPENROUTER_|XAI_|OLLAMA_|NO_COLOR|INIT_CWD|npm_)/.test(k)
    )
      env[k] = v;
  }
  return env;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** True when util-linux `script` can give `rummy` a pseudo-terminal here. */
export const HAS_SCRIPT = (() => {
  try {
    return execFileSync("script", ["--version"], { encoding: "utf8" }).includes("util-linux");
  } catch {
    return false;
  }
})();

export interface PtyRun {
  /** Types into the terminal (`\x03` is Ctrl-C). */
  write(text: string): void;
  /** Everything the terminal showed so far (stdout and stderr, as a person sees them). */
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exit: Promise<number | null>;
  readonly pid: number;
}

/** Runs the real `rummy` in a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
export function rummyPty(
  args: readonly string[],
  options: { home: string; env?: Record<string, string>; cwd?: string },
): PtyRun {
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: options.cwd ?? tmpdir(),
    env: {
      ...cleanEnv(),
      TERM: "xterm-256color",
      RUMMY_HOME: options.home,
      RUMMY_LOG_LEVEL: "warn",
      ...options.env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const exit = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return {
    pid: child.pid!,
    write: (text) => child.stdin.write(text),
    output: () => out,
    exit,
    waitFor: async (pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`terminal never showed ${pattern}; it showed:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return out;
    },
  };
}
