import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RummyClient } from "@rummy/client";
import {
  createLogger,
  loadPlugins,
  type PluginDefinition,
  RummyCore,
  TERMINAL_RUN_STATUSES,
} from "@rummy/core";
import engine from "@rummy/engine";
import budget from "@rummy/plugin-budget";
import error from "@rummy/plugin-error";
import instructions from "@rummy/plugin-instructions";
import known from "@rummy/plugin-known";
import log from "@rummy/plugin-log";
import persona from "@rummy/plugin-persona";
import policy from "@rummy/plugin-policy";
import prompt from "@rummy/plugin-prompt";
import rpc from "@rummy/plugin-rpc";
import env from "@rummy/plugin-env";
import sh from "@rummy/plugin-sh";
import skill from "@rummy/plugin-skill";
import stream from "@rummy/plugin-stream";
import yolo from "@rummy/plugin-yolo";
import telemetry from "@rummy/plugin-telemetry";
import think from "@rummy/plugin-think";
import unknown from "@rummy/plugin-unknown";
import update from "@rummy/plugin-update";
import openai from "@rummy/provider-openai";
import { type FakeLlm, startFakeLlm } from "@rummy/testing";

/** The engine and the plugins its turns are made of, as the distribution bundles them (the engine first). */
export const ENGINE_PLUGINS: readonly PluginDefinition[] = [
  engine,
  persona,
  instructions,
  prompt,
  log,
  error,
  budget,
  policy,
  telemetry,
  update,
  think,
  known,
  unknown,
];

/** Shell, streaming and skills, as the distribution bundles them. */
export const SHELL_PLUGINS: readonly PluginDefinition[] = [stream, sh, env, yolo, skill];

export interface Rig {
  readonly core: RummyCore;
  readonly llm: FakeLlm;
  readonly home: string;
  /** The project's root: its own folder, outside RUMMY_HOME (commands never see the home). */
  readonly root: string;
  readonly projectId: number;
  close(): Promise<void>;
}

/** A core on a temp home with the engine plugins, rpc and provider-openai pointed at a fresh fake LLM. */
export async function rig(
  env: Record<string, string> = {},
  extra: readonly PluginDefinition[] = [],
): Promise<Rig> {
  const home = mkdtempSync(join(tmpdir(), "rummy-it-"));
  const root = mkdtempSync(join(tmpdir(), "rummy-it-project-"));
  const llm = await startFakeLlm();
  const core = RummyCore.open({
    home,
    logger: createLogger("silent"),
    env: {
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: "sk-fake-test-key",
      RUMMY_MODEL_fake: "openai/fake-model",
      RUMMY_RETRY_ATTEMPTS: "1",
      RUMMY_FETCH_TIMEOUT: "5000",
      ...env,
    },
  });
  const report = await loadPlugins(core, {
    bundled: [...ENGINE_PLUGINS, rpc, openai, ...extra],
    pluginDir: join(home, "none"),
  });
  if (report.failed.length)
    throw new Error(
      `plugins failed: ${report.failed.map((f) => `${f.name}: ${f.error}`).join("; ")}`,
    );
  const project = core.projects.ensure("it", root);
  return {
    core,
    llm,
    home,
    root,
    projectId: project.id,
    close: async () => {
      await core.close();
      await llm.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A run's terminal `run/state`, as the wire tests read it. */
export interface TerminalState {
  readonly run: string;
  readonly status: number;
  readonly reason: string | null;
}

/** A `run/proposal` notification; `attributes` is the JSON string 2.0.1 sends. */
export interface ProposalNotice {
  readonly run: string;
  readonly proposed: { path: string; action: string; attributes: string }[];
}

export interface RunOnWire {
  start(alias: string, mode: "ask" | "act", extra?: Record<string, unknown>): Promise<unknown>;
  proposal(alias: string): Promise<ProposalNotice>;
  /** `on`: another connected client to wait on (default: the test's client). */
  terminal(alias: string, on?: RummyClient): Promise<TerminalState>;
}

/**
 * The three moves every wire test makes on a connected client: start a run,
 * wait for its next proposal, wait for its terminal state. `client` is read
 * at each call, so a test may (re)connect in `before`.
 */
export function runOnWire(client: () => RummyClient, timeoutMs: number): RunOnWire {
  return {
    start: (alias: string, mode: "ask" | "act", extra: Record<string, unknown> = {}) =>
      client().call("set", {
        path: `run://${alias}`,
        body: "do it",
        attributes: { model: "fake", mode, ...extra },
      }),
    proposal: (alias: string): Promise<ProposalNotice> =>
      client().waitFor<ProposalNotice>("run/proposal", (p) => p.run === alias, timeoutMs),
    terminal: (alias: string, on: RummyClient = client()): Promise<TerminalState> =>
      on.waitFor<TerminalState>(
        "run/state",
        (p) => p.run === alias && TERMINAL_RUN_STATUSES.has(p.status),
        timeoutMs,
      ),
  };
}
