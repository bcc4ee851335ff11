import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RummyClient } from "@rummy/client";
import {
  createLogger,
  type LoadReport,
  loadPlugins,
  type PluginDefinition,
  RummyCore,
} from "@rummy/core";
import { resolveToken, type RummyServer, startServer } from "@rummy/server";
import { type FakeLlm, startFakeLlm } from "./fake-llm.js";
import { withEngine } from "./with-engine.js";

export interface RummyHarnessOptions {
  /** Plugins to load (the rpc plugin, engine plugins, a provider…); the engine itself goes first unless given. */
  readonly plugins: readonly PluginDefinition[];
  /** Extra environment. With `fakeLlm`, OPENAI_BASE_URL/OPENAI_API_KEY and RUMMY_MODEL_fake point at it. */
  readonly env?: Record<string, string>;
  /** Start a fake LLM and point provider-openai at it. Default true. */
  readonly fakeLlm?: boolean;
  /** Project the client says hello for. Default "test" rooted at the temp home. */
  readonly project?: string;
}

export interface RummyHarness {
  readonly core: RummyCore;
  readonly server: RummyServer;
  readonly client: RummyClient;
  readonly llm: FakeLlm | null;
  readonly home: string;
  readonly projectId: number;
  readonly report: LoadReport;
  /** The server's token (from the temp home's `token` file), which every client presents. */
  readonly token: string;
  /** Another client, already past rummy/hello for the same project. */
  connect(): Promise<RummyClient>;
  close(): Promise<void>;
}

/**
 * A whole rummy on ephemeral loopback ports for tests: a core on a fresh
 * temporary home, the given plugins, the server on 127.0.0.1:0, a client
 * that has said hello, and (by default) a fake LLM wired in as model `fake`.
 */
export async function startRummy(options: RummyHarnessOptions): Promise<RummyHarness> {
  const home = mkdtempSync(join(tmpdir(), "rummy-harness-"));
  const llm = options.fakeLlm === false ? null : await startFakeLlm();
  const core = RummyCore.open({
    home,
    logger: createLogger("silent"),
    env: {
      ...(llm
        ? {
            OPENAI_BASE_URL: llm.url,
            OPENAI_API_KEY: "sk-harness",
            RUMMY_MODEL_fake: "openai/fake-model",
            RUMMY_RETRY_ATTEMPTS: "1",
          }
        : {}),
      ...options.env,
    },
  });
  const report = await loadPlugins(core, {
    bundled: withEngine(options.plugins),
    pluginDir: join(home, "no-plugins"),
  });
  // Secure like a real start: the server makes the home's token and clients present it.
  const server = await startServer({ core, host: "127.0.0.1", port: 0 });
  const token = resolveToken(home, core.env, { create: false }).token ?? "";
  const project = options.project ?? "test";
  const clients: RummyClient[] = [];
  const connect = async () => {
    const c = await RummyClient.connect(server.url, { token });
    clients.push(c);
    await c.hello(project, home);
    return c;
  };
  const client = await connect();
  const projectId = core.projects.byName(project)!.id;
  return {
    core,
    server,
    client,
    llm,
    home,
    projectId,
    report,
    token,
    connect,
    close: async () => {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      await core.close();
      await llm?.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
