import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { RUN_TRANSITIONS, type RummyCore, RummyError } from "../src/index.js";
import { newRun, tempCore } from "./helpers.js";

let core: RummyCore;
let cleanup: () => Promise<void>;
before(() => ({ core, cleanup } = tempCore()));
after(() => cleanup());

describe("runs", () => {
  test("anonymous aliases are generated and unique; named aliases collide with 409", () => {
    const p = core.projects.ensure("aliases", null);
    const a = core.runs.create({ projectId: p.id });
    const b = core.runs.create({ projectId: p.id });
    assert.notEqual(a.alias, b.alias);
    core.runs.create({ projectId: p.id, alias: "feature-x" });
    assert.throws(
      () => core.runs.create({ projectId: p.id, alias: "feature-x" }),
      (e: unknown) => e instanceof RummyError && e.status === 409,
    );
    assert.throws(
      () => core.runs.create({ projectId: p.id, alias: "bad alias!" }),
      /invalid run alias/,
    );
    assert.equal(core.runs.byAlias(p.id, "feature-x")!.status, 100);
  });

  test("allowed status transitions pass, forbidden ones are refused by the database", () => {
    const statuses = [100, 102, 202, 200, 204, 413, 422, 499, 500];
    for (const from of statuses) {
      for (const to of statuses) {
        if (from === to) continue;
        const run = newRun(core, "transitions");
        // Walk the run to `from` through allowed steps.
        const path =
          from === 100 ? [] : from === 102 ? [102] : from === 202 ? [102, 202] : [102, from];
        for (const s of path) core.runs.setStatus(run.id, s);
        const allowed = RUN_TRANSITIONS[from]!.includes(to);
        if (allowed) assert.equal(core.runs.setStatus(run.id, to).status, to, `${from}→${to}`);
        else {
          assert.throws(
            () => core.runs.setStatus(run.id, to),
            (e: unknown) => e instanceof RummyError && e.status === 409,
            `${from}→${to} must be refused`,
          );
          assert.equal(core.runs.get(run.id)!.status, from);
        }
      }
    }
  });

  test("turn numbers are reserved in sequence per run", () => {
    const run = newRun(core);
    assert.deepEqual(
      [1, 2, 3].map(() => core.runs.takeTurnNumber(run.id)),
      [1, 2, 3],
    );
  });

  test("summaries list the project's runs newest first and follow every write", () => {
    const p = core.projects.ensure("summaries", null);
    const a = core.runs.create({ projectId: p.id, alias: "first" });
    const b = core.runs.create({ projectId: p.id, alias: "second" });
    const other = core.runs.create({ projectId: core.projects.ensure("elsewhere", null).id });
    const list = () => core.runs.summaries(p.id, { pattern: "known://note/*" });
    const created = core.runs.get(a.id)!.createdAt;
    assert.deepEqual(list(), [
      { run: "second", status: 100, turn: 0, summary: null, created: list()[0]!.created },
      {
        run: "first",
        status: 100,
        turn: 0,
        summary: null,
        created: `${created.slice(0, 10)} ${created.slice(11, 19)}`,
      },
    ]);
    assert.match(list()[0]!.created, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    // The newest matching entry of the run's own is its summary; other runs' entries are not.
    core.store.set({ runId: a.id, path: "known://note/1", body: "older", writer: "model" });
    core.store.set({ runId: a.id, path: "known://note/2", body: "newer", writer: "model" });
    core.store.set({ runId: a.id, path: "known://other", body: "not a note", writer: "model" });
    core.store.set({
      runId: other.id,
      path: "known://note/9",
      body: "not this project",
      writer: "model",
    });
    assert.equal(list()[1]!.summary, "newer");
    assert.equal(list()[0]!.summary, null);
    // A status, a turn and a removal each show in the next list.
    core.runs.setStatus(b.id, 102);
    core.runs.takeTurnNumber(b.id);
    core.store.rm({ runId: a.id, path: "known://note/2", writer: "model" });
    assert.deepEqual(
      list().map((s) => [s.run, s.status, s.turn, s.summary]),
      [
        ["second", 102, 1, null],
        ["first", 100, 0, "older"],
      ],
    );
    // Pages, whether or not the list is already kept.
    assert.deepEqual(
      core.runs
        .summaries(p.id, { pattern: "known://note/*", limit: 1, offset: 1 })
        .map((s) => s.run),
      ["first"],
    );
    core.runs.create({ projectId: p.id, alias: "third" });
    assert.deepEqual(
      core.runs.summaries(p.id, { pattern: "known://note/*", limit: 2 }).map((s) => s.run),
      ["third", "second"],
    );
    assert.deepEqual(core.runs.summaries(p.id, { pattern: "known://note/*", offset: 5 }), []);
    // A commit on another connection to the same file shows too.
    const kept = list();
    const elsewhere = new Database(core.health().path);
    elsewhere.prepare("UPDATE runs SET next_turn = 5 WHERE id = ?").run(a.id);
    elsewhere.close();
    assert.equal(kept.at(-1)!.turn, 0);
    assert.equal(list().at(-1)!.turn, 4);
    // Logging a call writes nothing the list shows: the kept list stays (the same rows), and the
    // next write after it still shows.
    const before = list();
    assert.equal(list(), before, "kept while nothing is written: the same list");
    assert.ok(Object.isFrozen(before) && Object.isFrozen(before[0]), "which no caller can change");
    const page = core.runs.summaries(p.id, { pattern: "known://note/*", limit: 2 });
    assert.deepEqual(page, before.slice(0, 2));
    assert.notEqual(page, before);
    core.rpcLog.record({ method: "getRuns", requestId: 1, params: {}, resultJson: "[]" });
    core.rpcLog.flush();
    assert.equal(list()[0], before[0], "an RPC log row does not drop it");
    core.runs.setStatus(b.id, 200);
    assert.notEqual(list()[0], before[0]);
    assert.equal(list().find((s) => s.run === "second")!.status, 200);
    core.rpcLog.record({ method: "getRuns", requestId: 2, params: {}, resultJson: "[]" });
    core.rpcLog.flush();
    core.store.set({ runId: a.id, path: "known://note/3", body: "newest", writer: "model" });
    assert.equal(list().at(-1)!.summary, "newest");
  });
});

describe("loops and turns", () => {
  test("loops queue FIFO per run", () => {
    const run = newRun(core);
    const l1 = core.loops.enqueue({ runId: run.id, mode: "ask", prompt: "first" });
    const l2 = core.loops.enqueue({
      runId: run.id,
      mode: "act",
      prompt: "second",
      flags: { yolo: true },
    });
    assert.deepEqual([l1.sequence, l2.sequence], [1, 2]);
    assert.equal(core.loops.next(run.id)!.id, l1.id);
    core.loops.setStatus(l1.id, 102);
    assert.equal(core.loops.next(run.id)!.id, l2.id);
    assert.deepEqual(core.loops.get(l2.id)!.flags, { yolo: true });
    assert.throws(
      () => core.loops.enqueue({ runId: run.id, mode: "nope" as never, prompt: "x" }),
      /mode/,
    );
  });

  test("turn usage is recorded", () => {
    const run = newRun(core);
    const loop = core.loops.enqueue({ runId: run.id, mode: "ask", prompt: "p" });
    const turn = core.turns.create(run.id, loop.id, core.runs.takeTurnNumber(run.id));
    core.turns.record(turn.id, {
      promptTokens: 100,
      completionTokens: 20,
      cost: 0.001,
      status: 200,
    });
    const [t] = core.turns.list(run.id);
    assert.equal(t!.promptTokens, 100);
    assert.equal(t!.completionTokens, 20);
    assert.equal(t!.status, 200);
  });
});

describe("models, constraints, rpc log", () => {
  test("models upsert, list and remove; targets must name a provider", () => {
    core.models.upsert({
      alias: "fast",
      target: "openai/gpt-4o-mini",
      contextLength: 128000,
      source: "env",
    });
    assert.equal(core.models.get("fast")!.target, "openai/gpt-4o-mini");
    assert.throws(
      () =>
        core.models.upsert({
          alias: "x",
          target: "noprovider",
          contextLength: null,
          source: "client",
        }),
      /provider\/model/,
    );
    assert.equal(core.models.remove("fast"), true);
    assert.equal(core.models.remove("fast"), false);
  });

  test("file constraints per project", () => {
    const p = core.projects.ensure("constraints", null);
    core.fileConstraints.set(p.id, "dist/*", "ignore");
    core.fileConstraints.set(p.id, "package.json", "readonly");
    core.fileConstraints.set(p.id, "dist/*", "readonly");
    assert.deepEqual(core.fileConstraints.list(p.id), [
      { pattern: "dist/*", visibility: "readonly" },
      { pattern: "package.json", visibility: "readonly" },
    ]);
    assert.throws(
      () => core.fileConstraints.set(p.id, "x", "hidden" as never),
      /active, readonly or ignore/,
    );
  });

  test("rpc calls are logged", () => {
    core.rpcLog.record({
      method: "ping",
      requestId: 1,
      params: {},
      result: "pong",
      durationMs: 0.5,
    });
    assert.equal(core.rpcLog.recent(1)[0]!.method, "ping");
  });

  test("the rpc log keeps the newest RUMMY_RPC_LOG_ROWS calls, and pruning it drops no kept run list", async () => {
    const bounded = tempCore({ RUMMY_RPC_LOG_ROWS: "100" });
    try {
      const log = bounded.core.rpcLog;
      const project = bounded.core.projects.ensure("bounded", bounded.home);
      bounded.core.runs.create({ projectId: project.id, alias: "only" });
      const list = () => bounded.core.runs.summaries(project.id, { pattern: "known://*" });
      const kept = list();
      for (let i = 1; i <= 1_250; i++) log.record({ method: "ping", requestId: i, params: {} });
      log.flush();
      const rows = log.recent(1_000);
      assert.equal(rows.length, 100);
      assert.equal(rows[0]!.request_id, "1250", "the newest call is kept");
      assert.equal(rows.at(-1)!.request_id, "1151", "the 100th newest is the oldest left");
      assert.equal(list(), kept, "logging and pruning wrote nothing the run list shows");
    } finally {
      await bounded.cleanup();
    }
    assert.throws(() => tempCore({ RUMMY_RPC_LOG_ROWS: "5" }), /RUMMY_RPC_LOG_ROWS/);
  });
});
