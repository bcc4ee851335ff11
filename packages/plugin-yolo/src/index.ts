import {
  type ConfigSpec,
  type ConfigValues,
  definePlugin,
  ENGINE_EVENTS,
  logPathToDataBase,
  type ProposalEvent,
  type RummyCore,
  RummyError,
} from "@rummy/core";
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { finish } from "@rummy/plugin-stream";
import { type RunOptions, runCommand, scrubbedEnv } from "./runner.js";
import { findBwrap, INSTALL_BWRAP, sandboxArgs } from "./sandbox.js";

export { type RunOptions, type RunResult, runCommand, scrubbedEnv } from "./runner.js";
export { findBwrap, INSTALL_BWRAP, type SandboxPolicy, sandboxArgs } from "./sandbox.js";

/** How the server confines the commands it runs itself. */
export interface SandboxSettings {
  /** "bwrap" (the default) or "off" (commands run unconfined). */
  readonly mode: "bwrap" | "off";
  /** The bwrap executable, or null when it is not installed. */
  readonly bwrap: string | null;
  readonly network: boolean;
}

const SHELL_ACTIONS = new Set(["sh", "env"]);

/** The settings of every command the server runs itself (yolo, or a transport that runs approved commands). */
export const SERVER_SHELL_CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_SHELL_TIMEOUT",
    type: "integer",
    default: 300_000,
    min: 100,
    max: 86_400_000,
    description: "longest a server-run command may take (ms)",
  },
  {
    key: "RUMMY_SHELL_OUTPUT_MAX",
    type: "integer",
    default: 10_000_000,
    min: 1000,
    max: 1_000_000_000,
    description: "most characters kept per output channel",
  },
  {
    key: "RUMMY_SANDBOX",
    type: "enum",
    values: ["bwrap", "off"],
    default: "bwrap",
    description:
      "how server-run commands are confined: bwrap (bubblewrap; required unless off) or off (unconfined, warned at every start)",
  },
  {
    key: "RUMMY_SANDBOX_NETWORK",
    type: "boolean",
    default: false,
    description: "whether sandboxed commands may use the network",
  },
];

/** What `runApproved` needs: limits and the sandbox, read once from `SERVER_SHELL_CONFIG` values. */
export interface ServerShellLimits {
  readonly timeoutMs: number;
  readonly maxOutput: number;
  readonly sandbox: SandboxSettings;
}

export function serverShellLimits(config: ConfigValues): ServerShellLimits {
  return {
    timeoutMs: config.RUMMY_SHELL_TIMEOUT as number,
    maxOutput: config.RUMMY_SHELL_OUTPUT_MAX as number,
    sandbox: {
      mode: config.RUMMY_SANDBOX as "bwrap" | "off",
      bwrap: findBwrap(),
      network: config.RUMMY_SANDBOX_NETWORK as boolean,
    },
  };
}

/**
 * `yolo`: for loops started with `yolo`, the engine accepts proposals at
 * once; this plugin then runs accepted `<sh>`/`<env>` commands on the
 * server, streaming their output into the channels the sh/env plugins
 * created, and waits for them so the next turn sees the result. It runs only
 * what an accepted proposal of that run recorded — nothing else.
 */
export default definePlugin({
  name: "yolo",
  version: "0.1.0",
  setup(ctx) {
    const limits = serverShellLimits(ctx.readConfig(SERVER_SHELL_CONFIG));
    const core = ctx.core;
    const { sandbox } = limits;
    if (sandbox.mode === "off")
      ctx.log.warn(
        "RUMMY_SANDBOX=off: yolo commands run unconfined, with the server's own access to files, processes and network",
      );
    else if (!sandbox.bwrap) ctx.log.warn(`yolo commands will be refused: ${INSTALL_BWRAP}`);
    const running = new Map<string, AbortController>();

    ctx.on<ProposalEvent>(
      ENGINE_EVENTS.proposalAccepted,
      async (event) => {
        if (!SHELL_ACTIONS.has(event.action)) return;
        const loop = core.loops.get(event.loopId);
        if (!loop?.flags.yolo) return; // a client that accepted runs the command itself
        await runApproved(core, event.runId, event.path, running, limits);
      },
      50,
    );
    ctx.on<{ runId: number; reason?: string }>("run.cancelling", ({ runId }) => {
      for (const [key, controller] of running)
        if (key.startsWith(`${runId}:`)) controller.abort(new Error("run cancelled"));
    });
    ctx.on<{ runId: number; path: string }>("stream.cancelled", ({ runId, path }) => {
      running.get(`${runId}:${path}`)?.abort(new Error("stream cancelled"));
    });
    ctx.on("core.closing", () => {
      for (const controller of running.values())
        controller.abort(new Error("server shutting down"));
    });
  },
});

/**
 * Runs the command an accepted proposal of this run recorded, in the
 * project root, inside the sandbox: the project is writable only for `<sh>`
 * in act mode. Refuses anything that is not an accepted sh/env proposal of
 * this run: the approval must name exactly this command. Without bwrap (and
 * RUMMY_SANDBOX not off) the command does not run: the channels fail with
 * the sentence saying how to install it.
 */
export async function runApproved(
  core: RummyCore,
  runId: number,
  path: string,
  running: Map<string, AbortController>,
  limits: ServerShellLimits,
): Promise<void> {
  const run = core.runs.get(runId);
  const entry = core.store.getOne({ runId }, path);
  const base = logPathToDataBase(path);
  if (!run || !entry || !base || !SHELL_ACTIONS.has(String(entry.attributes.action)))
    throw new RummyError(403, `no shell proposal at ${path} in this run`);
  if (entry.state !== "resolved")
    throw new RummyError(403, `${path} is not an accepted proposal (state ${entry.state})`);
  const command = String(entry.attributes.command ?? "");
  if (!command) throw new RummyError(403, `${path} names no command`);
  const cwd = core.projects.get(run.projectId)?.root;
  if (!cwd) throw new RummyError(400, "the project has no root to run commands in");
  const confinement = confinementFor(core, entry, cwd, limits.sandbox);
  if (typeof confinement === "string") {
    core.store.set({ runId, path: `${base}_2`, body: `${confinement}\n`, append: true });
    finish(core, run, path, { state: "failed", outcome: "sandbox:503" }, `not run: ${confinement}`);
    return;
  }
  const controller = new AbortController();
  const key = `${runId}:${path}`;
  running.set(key, controller);
  try {
    const result = await runCommand({
      command,
      cwd,
      ...confinement,
      timeoutMs: limits.timeoutMs,
      maxOutput: limits.maxOutput,
      signal: controller.signal,
      onOutput: (chunks) => {
        core.store.batch(() => {
          for (const [channel, text] of chunks)
            core.store.set({ runId, path: `${base}_${channel}`, body: text, append: true });
        });
      },
    });
    const duration = `${(result.durationMs / 1000).toFixed(1)}s`;
    if (result.cancelled)
      finish(
        core,
        run,
        path,
        { state: "cancelled", outcome: "cancelled" },
        `cancelled (${duration})`,
      );
    else if (result.timedOut)
      finish(
        core,
        run,
        path,
        { state: "failed", outcome: "timeout:504" },
        `timed out after ${limits.timeoutMs} ms`,
      );
    else {
      const exit = result.exitCode ?? 128;
      finish(
        core,
        run,
        path,
        exit === 0
          ? { state: "resolved", outcome: null }
          : { state: "failed", outcome: `exit:${exit}` },
        `exit=${exit} (${duration})`,
      );
    }
  } finally {
    running.delete(key);
  }
}

/**
 * The environment and sandbox of one command, or the sentence refusing it.
 * The project is writable only for `<sh>` in an act-mode loop.
 */
function confinementFor(
  core: RummyCore,
  entry: { readonly attributes: Record<string, unknown>; readonly loopId: number | null },
  root: string,
  settings: SandboxSettings,
): Pick<RunOptions, "env" | "sandbox"> | string {
  const env = scrubbedEnv(process.env);
  if (settings.mode === "off") return { env };
  if (!settings.bwrap) return INSTALL_BWRAP;
  const home = realOr(core.home);
  if (realOr(root) === home)
    return `the project's root is RUMMY_HOME itself (${home}); commands there would see the server's database and keys, so the server does not run them — use a project folder outside RUMMY_HOME`;
  // The loop that proposed the command decides; unknown means read-only.
  const mode = entry.loopId === null ? undefined : core.loops.get(entry.loopId)?.mode;
  const writable = entry.attributes.action === "sh" && mode === "act";
  return {
    env: { ...env, HOME: "/tmp", TMPDIR: "/tmp" },
    sandbox: {
      bwrap: settings.bwrap,
      args: sandboxArgs({
        root,
        writable,
        network: settings.network,
        hidden: [core.home, homedir()],
      }),
    },
  };
}

function realOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
