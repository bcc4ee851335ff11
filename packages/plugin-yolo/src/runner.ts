import { type ChildProcess, spawn } from "node:child_process";

/** Variables never handed to a command: credentials and rummy's own configuration. */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION)/i;
const SECRET_PREFIX =
  /^(RUMMY_|OPENAI_|OPENROUTER_|XAI_|ANTHROPIC_|OLLAMA_|AWS_|GOOGLE_|AZURE_|GH_|GITHUB_|NPM_CONFIG_)/i;

/** The environment a command gets: the server's, minus anything that looks like a secret. */
export function scrubbedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || SECRET_NAME.test(key) || SECRET_PREFIX.test(key)) continue;
    out[key] = value;
  }
  return out;
}

export interface RunOptions {
  readonly command: string;
  readonly cwd: string;
  readonly env: Record<string, string>;
  /** Called with batches of output: channel 1 stdout, 2 stderr. */
  readonly onOutput: (chunks: Map<number, string>) => void;
  readonly timeoutMs: number;
  /** Most characters kept per channel; the rest is dropped with a note. */
  readonly maxOutput: number;
  readonly flushMs?: number;
  readonly signal?: AbortSignal;
  /** Run inside bubblewrap: the bwrap executable and its arguments (see `sandboxArgs`). */
  readonly sandbox?: { readonly bwrap: string; readonly args: readonly string[] };
}

export interface RunResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly durationMs: number;
  readonly pid: number | undefined;
}

/**
 * Runs `sh -c command` in its own process group — inside bubblewrap when
 * `sandbox` is given, where killing the group ends the sandbox's pid
 * namespace and so every process in it. Output is buffered and
 * handed over in batches (every `flushMs`, or at 64 KiB), so a chatty
 * command costs a few writes a second, not one per chunk. Timeout or abort
 * kills the whole group: SIGTERM, then SIGKILL after two seconds.
 */
export function runCommand(options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const [file, args] = options.sandbox
    ? [options.sandbox.bwrap, [...options.sandbox.args, "--", "sh", "-c", options.command]]
    : ["sh", ["-c", options.command]];
  const child: ChildProcess = spawn(file, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pending = new Map<number, string>();
  const kept = new Map<number, number>([
    [1, 0],
    [2, 0],
  ]);
  let pendingSize = 0;
  const flush = () => {
    if (pending.size === 0) return;
    const batch = new Map(pending);
    pending.clear();
    pendingSize = 0;
    options.onOutput(batch);
  };
  const take = (channel: number) => (data: Buffer) => {
    const used = kept.get(channel) ?? 0;
    if (used >= options.maxOutput) return;
    let text = data.toString("utf8");
    if (used + text.length > options.maxOutput)
      text = `${text.slice(0, options.maxOutput - used)}\n[output truncated at ${options.maxOutput} characters]\n`;
    kept.set(channel, used + text.length);
    pending.set(channel, (pending.get(channel) ?? "") + text);
    pendingSize += text.length;
    if (pendingSize >= 64 * 1024) flush();
  };
  child.stdout?.on("data", take(1));
  child.stderr?.on("data", take(2));
  const ticker = setInterval(flush, options.flushMs ?? 50);

  let timedOut = false;
  let cancelled = false;
  const killGroup = () => {
    if (child.pid === undefined || child.exitCode !== null) return;
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      return;
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
    }, 2000).unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, options.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    killGroup();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  return new Promise((resolve) => {
    const done = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      clearInterval(ticker);
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      flush();
      resolve({
        exitCode,
        signal,
        timedOut,
        cancelled,
        durationMs: Date.now() - started,
        pid: child.pid,
      });
    };
    child.once("error", (error) => {
      pending.set(2, `${pending.get(2) ?? ""}could not start the command: ${error.message}\n`);
      done(127, null);
    });
    child.once("close", (code, signal) => done(code, signal));
  });
}
