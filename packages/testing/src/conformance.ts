import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  type CompletionResult,
  createLogger,
  definePlugin,
  type Entry,
  loadPlugins,
  type PluginDefinition,
  type RunRecord,
  RummyCore,
} from "@rummy/core";
import { withEngine } from "./with-engine.js";

export interface TestPluginOptions {
  /** Plugins loaded before the one under test (schemes or sections it builds on), after the engine. Default none. */
  readonly companions?: readonly PluginDefinition[];
  /** Settings for the core and the plugin (`RUMMY_*`, the plugin's own). */
  readonly env?: Readonly<Record<string, string>>;
  /** The tags (tool names) the plugin must register and document. Default: whatever it registers. */
  readonly tags?: readonly string[];
  /** The plugin's README: it must have the standard sections and mention each tag. */
  readonly readme?: string | URL;
  /** Per-run time limit for the hostile-body runs. Default 20 s. */
  readonly runTimeoutMs?: number;
}

/** The sections every rummy plugin README has ("Tags and sections" when it registers tags). */
export const README_SECTIONS = ["How it plugs in", "Config", "Tags and sections"] as const;

/** Tag bodies and attributes no plugin may crash on. */
export function hostileCommands(tag: string): string[] {
  const big = "A".repeat(200_000);
  return [
    `<${tag}></${tag}>`,
    `<${tag}/>`,
    `<${tag}>${big}</${tag}>`,
    `<${tag}>unclosed`,
    `<${tag}><${tag}>nested</${tag}></${tag}>`,
    `<${tag}></${tag}></${tag}></${tag}>`,
    `<${tag}>\u0000\u0007\u001b[31m\u0008 control characters\u007f</${tag}>`,
    `<${tag} path="../../../../etc/passwd">../../../../etc/passwd</${tag}>`,
    `<${tag} path="/dev/zero" status="NaN" x="${"y".repeat(10_000)}">"'><script>alert(1)</script>&amp;&lt;&#0;&#x110000;&bogus;</${tag}>`,
    `<${tag}>🙂 \u202e مرحبا 𝕏 \ud800 lone surrogate</${tag}>`,
    `<${tag}><![CDATA[ ]]> ]]> <!-- --> <?xml?></${tag}>`,
    `<${tag} ${Array.from({ length: 200 }, (_, i) => `a${i}="${i}"`).join(" ")}>many attributes</${tag}>`,
  ];
}

/** A scripted provider for the suite: each call answers the next queued reply. */
function scriptedModel() {
  const queue: string[] = [];
  const plugin = definePlugin({
    name: "conformance-model",
    setup(ctx) {
      ctx.registerProvider({
        name: "conformance",
        async complete(): Promise<CompletionResult> {
          const content = queue.shift() ?? "";
          return {
            content,
            reasoning: null,
            usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 },
            cost: 0,
            finishReason: "stop",
            model: "script",
          };
        },
        async contextLength() {
          return 1_000_000;
        },
      });
    },
  });
  return { plugin, enqueue: (...replies: string[]) => queue.push(...replies) };
}

export interface PluginRig {
  readonly core: RummyCore;
  readonly home: string;
  readonly projectId: number;
  /**
   * Runs one turn in which the model writes `modelOutput`, rejecting any
   * proposal it makes, and returns the settled run with its entries.
   */
  turn(
    modelOutput: string,
    options?: { mode?: "ask" | "act"; timeoutMs?: number },
  ): Promise<{ run: RunRecord; entries: Entry[] }>;
  close(): Promise<void>;
}

/**
 * A real core on a fresh temporary home (real SQLite file) with the
 * plugin, its companions and a scripted model: what `testPlugin` runs on,
 * and what a plugin's own tests can drive turn by turn.
 */
export async function pluginRig(
  plugin: PluginDefinition,
  options: TestPluginOptions = {},
): Promise<PluginRig> {
  const home = mkdtempSync(join(tmpdir(), "rummy-plugin-rig-"));
  const model = scriptedModel();
  const core = RummyCore.open({
    home,
    logger: createLogger("silent"),
    env: { RUMMY_MAX_TURNS: "1", RUMMY_HOME: home, ...options.env },
  });
  const report = await loadPlugins(core, {
    bundled: withEngine([...(options.companions ?? []), model.plugin, plugin]),
    pluginDir: join(home, "no-plugins"),
  });
  if (report.failed.length) {
    await core.close();
    rmSync(home, { recursive: true, force: true });
    throw new Error(
      `plugins failed to load: ${report.failed.map((f) => `${f.name}: ${f.error}`).join("; ")}`,
    );
  }
  const projectId = core.projects.ensure("conformance", home).id;
  let runs = 0;
  return {
    core,
    home,
    projectId,
    async turn(modelOutput, turnOptions = {}) {
      model.enqueue(modelOutput);
      const { run } = core.engine.submit({
        projectId,
        alias: `conformance_${++runs}`,
        model: "conformance/script",
        mode: turnOptions.mode ?? "act",
        prompt: "conformance check",
        flags: { noInteraction: true },
      });
      const timeoutMs = turnOptions.timeoutMs ?? 20_000;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`run did not settle within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        for (;;) {
          const settled = await Promise.race([core.engine.settled(run.id), deadline]);
          const entries = core.store.get({ runId: run.id, pattern: "*", order: "id" });
          // Side effects of hostile commands must never happen: every proposal is rejected.
          const pending = entries.filter((e) => e.state === "proposed");
          if (pending.length === 0) return { run: settled, entries };
          for (const entry of pending)
            await core.engine.resolve(run.id, entry.path, {
              decision: "reject",
              body: "rejected by the conformance suite",
            });
        }
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      await core.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** What a core has registered, by owner: tools, schemes, RPC, notifications, providers, hooks. */
function registrations(core: RummyCore): string[] {
  return [
    ...core.tools.list().map((t) => `tool ${t.name} by ${t.owner}`),
    ...core.schemes.list().map((s) => `scheme ${s.name} by ${s.plugin ?? "core"}`),
    ...core.rpc.methods().map((m) => `rpc ${m.name} by ${m.owner}`),
    ...core.rpc.notifications().map((n) => `notification ${n.name} by ${n.owner}`),
    ...core.providers.names().map((n) => `provider ${n}`),
    ...core.hooks.list().map((h) => `${h.kind} ${h.name} by ${h.owner}`),
  ].sort();
}

/** Resource kinds (timers, sockets, servers, child processes, watchers) currently keeping Node alive. */
function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo())
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

/**
 * The conformance suite every rummy plugin runs (as node:test tests):
 * it loads in a real core; it registers only through the plugin contract
 * (a failed load undoes all of it); it survives hostile tag bodies; it
 * leaves no timer, socket or process behind after shutdown; it documents
 * its tags. Call it at the top level of a test file.
 */
export function testPlugin(plugin: PluginDefinition, options: TestPluginOptions = {}): void {
  describe(`rummy plugin conformance: ${plugin.name}`, () => {
    test("loads in a real core and registers its tags", async () => {
      const rig = await pluginRig(plugin, options);
      try {
        const loaded = rig.core.plugins.find((p) => p.name === plugin.name);
        assert.ok(loaded, `${plugin.name} is among the loaded plugins`);
        const own = rig.core.tools.list().filter((t) => t.owner === plugin.name);
        for (const tag of options.tags ?? [])
          assert.ok(
            own.some((t) => t.name === tag),
            `${plugin.name} registers <${tag}>`,
          );
      } finally {
        await rig.close();
      }
    });

    test("registers only through the contract: a failed load leaves no trace", async () => {
      const home = mkdtempSync(join(tmpdir(), "rummy-plugin-contract-"));
      const core = RummyCore.open({
        home,
        logger: createLogger("silent"),
        env: { RUMMY_HOME: home, ...options.env },
      });
      try {
        await loadPlugins(core, {
          bundled: withEngine(options.companions ?? []),
          pluginDir: join(home, "no-plugins"),
        });
        const baseline = registrations(core);
        const globals = new Set(Object.keys(globalThis));
        // Setup runs to completion, then the load fails: the core undoes every
        // registration made through the context. Anything left was made around it.
        const failing = {
          ...plugin,
          setup: async (ctx: Parameters<PluginDefinition["setup"]>[0]) => {
            await plugin.setup(ctx);
            throw new Error("conformance: undo this load");
          },
        };
        const result = await core.use(failing);
        assert.ok("error" in result, "the wrapped load failed as intended");
        assert.deepEqual(registrations(core), baseline, "nothing registered behind the contract");
        const leaked = Object.keys(globalThis).filter((k) => !globals.has(k));
        assert.deepEqual(leaked, [], "no new globals");
      } finally {
        await core.close();
        rmSync(home, { recursive: true, force: true });
      }
    });

    test("survives hostile tag bodies: every run settles and the core keeps working", async () => {
      const rig = await pluginRig(plugin, options);
      try {
        const tags = options.tags?.length
          ? options.tags
          : rig.core.tools
              .list()
              .filter((t) => t.owner === plugin.name)
              .map((t) => t.name);
        for (const tag of tags) {
          let reached = 0;
          for (const command of hostileCommands(tag)) {
            const { run, entries } = await rig.turn(command, {
              timeoutMs: options.runTimeoutMs ?? 20_000,
            });
            assert.equal(typeof run.status, "number", `<${tag}> run has a status`);
            assert.notEqual(run.status, 102, `<${tag}> run is not left running`);
            if (entries.some((e) => e.path.startsWith(`log://turn_1/${tag}/`))) reached++;
          }
          assert.ok(reached > 0, `the hostile <${tag}> commands reached the plugin`);
        }
        // Still a working core: a plain turn settles and the store answers.
        const { run } = await rig.turn("nothing to do");
        assert.notEqual(run.status, 102);
        assert.equal(rig.core.health().integrity, "ok");
      } finally {
        await rig.close();
      }
    });

    test("leaves nothing behind after shutdown", async () => {
      const before = activeResources();
      const rig = await pluginRig(plugin, options);
      const tags = rig.core.tools
        .list()
        .filter((t) => t.owner === plugin.name)
        .map((t) => t.name);
      for (const tag of tags) await rig.turn(`<${tag}>conformance</${tag}>`);
      const home = rig.home;
      await rig.close();
      // Let closed handles finish closing.
      await new Promise((r) => setTimeout(r, 50));
      const after = activeResources();
      const leftover = [...after].filter(([kind, n]) => n > (before.get(kind) ?? 0));
      assert.deepEqual(leftover, [], "no timers, sockets or processes outlive the core");
      assert.equal(existsSync(home), false);
    });

    test("documents its tags", async () => {
      const rig = await pluginRig(plugin, options);
      try {
        const own = rig.core.tools.list().filter((t) => t.owner === plugin.name);
        for (const tool of own) {
          assert.ok(tool.doc?.trim(), `<${tool.name}> has a doc for the model`);
          assert.match(
            tool.doc!,
            new RegExp(`<${tool.name}[\\s/>]`),
            `<${tool.name}>'s doc shows the tag`,
          );
        }
        if (options.readme) {
          const readme = readFileSync(options.readme, "utf8");
          for (const section of README_SECTIONS.filter(
            (s) => own.length > 0 || s !== "Tags and sections",
          ))
            assert.match(readme, new RegExp(`^## ${section}`, "m"), `README has "## ${section}"`);
          for (const tool of own)
            assert.ok(readme.includes(`<${tool.name}`), `README mentions <${tool.name}>`);
        }
      } finally {
        await rig.close();
      }
    });
  });
}
