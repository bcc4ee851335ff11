import assert from "node:assert/strict";
import { unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  createLogger,
  definePlugin,
  loadPlugins,
  type PluginDefinition,
  RummyCore,
  type TurnContext,
} from "@rummy/core";
import file from "@rummy/plugin-file";
import openai from "@rummy/provider-openai";
import { ENGINE_PLUGINS, type Rig, rig } from "../src/index.js";

type Row = [string, string, string, number, number];
interface Totals {
  [scheme: string]: { count: number; tokens: number };
}
interface Demotion {
  path: string;
  scheme: string;
  from: string;
  to: string;
  tokens: number;
}
interface Record2 {
  format: number;
  contextLength: number;
  ceiling: number;
  tokens: number;
  entries: Row[];
  archived: Totals;
  demoted: Demotion[];
}

/** What the store held when a turn's record was written, read the slow way, beside the record. */
interface Witnessed {
  readonly runId: number;
  readonly turn: number;
  readonly record: Record2;
  /** The prompt's entries as the engine handed them over. */
  readonly shown: readonly string[];
  /** Every archived entry of the run (audit records aside), summed per scheme. */
  readonly archived: Totals;
  /** path → full tokens of every archived entry then. */
  readonly archivedPaths: ReadonlyMap<string, number>;
}

const RANK: Record<string, number> = { visible: 2, summarized: 1, archived: 0 };

/**
 * Reads each turn's record right after telemetry wrote it (a later subscriber of the same
 * event) next to a full read of the run's archived entries, as the record used to be built.
 */
function witness(seen: Witnessed[]): PluginDefinition {
  return definePlugin({
    name: "telemetry-witness",
    setup(ctx) {
      ctx.on<{ runId: number; turn: number; context?: TurnContext }>(
        "turn.response",
        (t) => {
          const record = ctx.store.get({
            runId: t.runId,
            path: `audit://turn_${t.turn}`,
            includeBody: false,
          })[0]!;
          const archived: Totals = {};
          const archivedPaths = new Map<string, number>();
          for (const e of ctx.store.get({
            runId: t.runId,
            visibility: "archived",
            includeBody: false,
          })) {
            if (ctx.core.schemes.get(e.scheme)?.category === "audit") continue;
            const total = archived[e.scheme] ?? { count: 0, tokens: 0 };
            archived[e.scheme] = total;
            total.count++;
            total.tokens += e.tokens;
            archivedPaths.set(e.path, e.tokens);
          }
          seen.push({
            runId: t.runId,
            turn: t.turn,
            record: record.attributes.context as Record2,
            shown: t.context!.entries.map((e) => e.path),
            archived,
            archivedPaths,
          });
        },
        1000,
      );
    },
  });
}

/** The demotions between two witnessed turns, worked out from full reads as older readers did. */
function expectedDemotions(previous: Witnessed, current: Witnessed): Demotion[] {
  const now = new Map(current.record.entries.map((r) => [r[0], r]));
  const out: Demotion[] = [];
  for (const [path, scheme, was] of previous.record.entries) {
    const row = now.get(path);
    const archived = current.archivedPaths.get(path);
    const to = row ? row[2] : archived !== undefined ? "archived" : undefined;
    if (to === undefined || RANK[to]! >= RANK[was]!) continue;
    out.push({ path, scheme, from: was, to, tokens: row ? row[4] : archived! });
  }
  return out;
}

/** Every record of the run agrees with the full reads: rows, totals, demotions. */
function checkRun(seen: readonly Witnessed[], runId: number): Witnessed[] {
  const turns = seen.filter((w) => w.runId === runId).sort((a, b) => a.turn - b.turn);
  assert.ok(turns.length > 0, "turns were recorded");
  turns.forEach((w, i) => {
    const where = `turn ${w.turn}`;
    assert.equal(w.record.format, 2, where);
    assert.deepEqual(
      w.record.entries.map((r) => r[0]),
      w.shown,
      `${where}: the rows are the prompt's entries`,
    );
    assert.ok(
      w.record.entries.every((r) => r[2] === "visible" || r[2] === "summarized"),
      `${where}: no archived rows`,
    );
    assert.deepEqual(w.record.archived, w.archived, `${where}: archived totals`);
    const previous = i > 0 ? turns[i - 1] : undefined;
    assert.deepEqual(
      w.record.demoted,
      previous ? expectedDemotions(previous, w) : [],
      `${where}: demotions since turn ${previous?.turn}`,
    );
  });
  return turns;
}

describe("telemetry's turn records", () => {
  const seen: Witnessed[] = [];
  let r: Rig;

  before(async () => {
    // One summarized file view per run, the rest archived; every turn rescans the project.
    r = await rig({ RUMMY_FILE_SCAN_INTERVAL: "0", RUMMY_FILE_MAX_VIEWS: "1" }, [
      file,
      witness(seen),
    ]);
    for (const name of ["a.txt", "b.txt", "c.txt", "d.txt"])
      writeFileSync(join(r.root, name), `${name} holds a line or two\n`);
  });
  after(() => r.close());

  const loop = async (alias: string, replies: string[]) => {
    r.llm.enqueue(...replies.map((content) => ({ content })));
    const { run } = r.core.engine.submit({
      projectId: r.projectId,
      alias,
      model: "fake",
      mode: "ask",
      prompt: "go",
    });
    const done = await r.core.engine.settled(run.id);
    assert.equal(done.status, 200, r.core.loops.list(run.id).at(-1)?.reason ?? "");
    return done.id;
  };
  const set = (runId: number, path: string, visibility: "visible" | "summarized" | "archived") =>
    assert.ok(r.core.store.set({ runId, path, visibility, writer: "client" }).ok, path);
  const demoted = (w: Witnessed) => w.record.demoted.map((d) => `${d.path} ${d.from}→${d.to}`);

  test("between turns: archived, promoted, removed entries and changed or deleted project files", async () => {
    const runId = await loop("history", [
      `<known path="known://a">alpha</known>\n<known path="known://b">beta</known>\n<known path="known://c">gamma</known>\n<known path="known://d">delta</known>\n<update status="102">noted</update>`,
      `<update status="200">first loop done</update>`,
    ]);
    // Between loops the client steps entries down, up and out; the project's files change on disk.
    set(runId, "known://a", "archived");
    set(runId, "known://b", "summarized");
    assert.ok(r.core.store.rm({ runId, path: "known://c", writer: "client" }).ok);
    const files = r.core.store.get({ runId, scheme: "file", includeBody: false });
    const archivedFile = files.find((e) => e.visibility === "archived")!;
    set(runId, archivedFile.path, "visible");
    const others = files.filter((e) => e.visibility === "archived" && e !== archivedFile);
    writeFileSync(join(r.root, others[0]!.path), "a much longer text than before ".repeat(50));
    unlinkSync(join(r.root, others[1]!.path));
    await loop("history", [`<update status="200">second loop done</update>`]);
    const turns = checkRun(seen, runId);
    const [, second, third] = turns;
    // Turn 2 saw the knowns; turn 3 was built after the client's changes.
    assert.deepEqual(demoted(third!).sort(), [
      "known://a visible→archived",
      "known://b visible→summarized",
    ]);
    assert.deepEqual(demoted(second!), []);
    const before = second!.record.archived.file!;
    const after = third!.record.archived.file!;
    assert.equal(after.count, before.count - 2, "one file promoted, one deleted");
    const rewritten = r.core.store.getOne({ runId }, others[0]!.path)!;
    assert.ok(rewritten.tokens > others[0]!.tokens);
    assert.equal(
      after.tokens,
      before.tokens -
        archivedFile.tokens -
        others[1]!.tokens -
        others[0]!.tokens +
        rewritten.tokens,
      "the rewritten file counts at its new size",
    );
    assert.deepEqual(third!.record.archived.known, {
      count: 1,
      tokens: second!.record.entries.find((e) => e[0] === "known://a")![4],
    });
  });

  test("a bulk change (thousands of entries) and entries shared with another run", async () => {
    const runId = r.core.runs.byAlias(r.projectId, "history")!.id;
    r.core.store.batch(() => {
      for (let i = 0; i < 1500; i++)
        r.core.store.set({
          runId,
          path: `known://bulk/${i}`,
          body: `fact ${i} `.repeat(1 + (i % 7)),
          visibility: i % 100 === 0 ? "summarized" : "archived",
          writer: "client",
        });
    });
    // A second run of the project takes its own first look at the files; this one keeps its own.
    await loop("neighbour", [`<update status="200">looked</update>`]);
    await loop("history", [`<update status="200">third loop done</update>`]);
    const before = checkRun(seen, runId).at(-1)!;
    assert.equal(before.record.archived.known!.count, 1 + 1485);
    // An archived entry rewritten in place (its view untouched) and one removed.
    const grown = "a good deal more to say ".repeat(40);
    assert.ok(
      r.core.store.set({ runId, path: "known://bulk/7", body: grown, writer: "client" }).ok,
    );
    assert.ok(r.core.store.rm({ runId, path: "known://bulk/8", writer: "client" }).ok);
    await loop("history", [`<update status="200">fourth loop done</update>`]);
    const after = checkRun(seen, runId).at(-1)!;
    assert.equal(after.record.archived.known!.count, 1 + 1484);
    assert.ok(after.record.archived.known!.tokens > before.record.archived.known!.tokens);
  });

  test("budget demotion: an entry shown last turn and grown past the ceiling is recorded as demoted", async () => {
    // Its own list: run ids start again in another database.
    const seenHere: Witnessed[] = [];
    const small = await rig({ RUMMY_CONTEXT_DEFAULT: "4096", RUMMY_MAX_ENTRY_TOKENS: "100000" }, [
      witness(seenHere),
    ]);
    try {
      small.core.models.upsert({
        alias: "tiny",
        target: "openai/tiny-model",
        contextLength: null,
        source: "client",
      });
      const big = "a long observation about the code base ".repeat(400);
      small.llm.enqueue(
        {
          content: `<known path="known://huge">short</known>\n<update status="102">noted</update>`,
        },
        {
          content: `<known path="known://huge">${big}</known>\n<update status="102">grew</update>`,
        },
        { content: `<update status="200">done</update>` },
      );
      const { run } = small.core.engine.submit({
        projectId: small.projectId,
        alias: "demote",
        model: "tiny",
        mode: "ask",
        prompt: "q",
      });
      const done = await small.core.engine.settled(run.id);
      assert.equal(done.status, 200, small.core.loops.list(run.id)[0]?.reason ?? "");
      const turns = checkRun(seenHere, run.id);
      const huge = small.core.store.getOne({ runId: run.id }, "known://huge")!;
      assert.deepEqual(turns.at(-1)!.record.demoted, [
        {
          path: "known://huge",
          scheme: "known",
          from: "visible",
          to: "summarized",
          tokens: huge.tokens,
        },
      ]);
    } finally {
      await small.close();
    }
  });

  test("another core on the same database builds the totals afresh and reads the previous record back", async () => {
    const runId = r.core.runs.byAlias(r.projectId, "history")!.id;
    const earlier = checkRun(seen, runId).at(-1)!;
    const shownKnown = earlier.record.entries.find((e) => e[1] === "known" && e[2] === "visible")!;
    const core = RummyCore.open({ home: r.home, env: r.core.env, logger: createLogger("silent") });
    try {
      const report = await loadPlugins(core, {
        bundled: [...ENGINE_PLUGINS, openai, file, witness(seen)],
        pluginDir: join(r.home, "none"),
      });
      assert.deepEqual(report.failed, []);
      set(runId, shownKnown[0], "archived");
      set(runId, "known://bulk/1", "visible");
      r.llm.enqueue({ content: `<update status="200">from the other core</update>` });
      const { run } = core.engine.submit({
        projectId: r.projectId,
        alias: "history",
        model: "fake",
        mode: "ask",
        prompt: "again",
      });
      assert.equal(run.id, runId);
      assert.equal((await core.engine.settled(run.id)).status, 200);
      const last = checkRun(seen, runId).at(-1)!;
      assert.ok(last.turn > earlier.turn);
      assert.ok(
        demoted(last).includes(`${shownKnown[0]} visible→archived`),
        JSON.stringify(last.record.demoted),
      );
    } finally {
      await core.close();
    }
  });
});

test("runs over the cache's bound are read again when next needed, with the same totals", async () => {
  const seen: Witnessed[] = [];
  const r = await rig({ RUMMY_TELEMETRY_CACHE_PATHS: "50" }, [witness(seen)]);
  try {
    const ids = new Map<string, number>();
    for (let round = 0; round < 3; round++) {
      for (const alias of ["left", "right"]) {
        r.llm.enqueue({ content: `<update status="200">round ${round}</update>` });
        const { run } = r.core.engine.submit({
          projectId: r.projectId,
          alias,
          model: "fake",
          mode: "ask",
          prompt: "go",
        });
        ids.set(alias, run.id);
        // 40 archived entries a round: two runs never fit in 50 paths together.
        r.core.store.batch(() => {
          for (let i = 0; i < 40; i++)
            r.core.store.set({
              runId: run.id,
              path: `known://${alias}/${round}/${i}`,
              body: `${alias} ${round} ${i} `.repeat(1 + (i % 5)),
              visibility: "archived",
              writer: "client",
            });
        });
        assert.equal((await r.core.engine.settled(run.id)).status, 200);
      }
    }
    for (const [alias, runId] of ids) {
      const turns = checkRun(seen, runId);
      assert.equal(turns.at(-1)!.record.archived.known!.count, 3 * 40, alias);
    }
  } finally {
    await r.close();
  }
});
