import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { MIGRATIONS } from "../src/db/migrations.js";
import { createLogger, RummyCore } from "../src/index.js";
import { newRun, registerTestSchemes, tempCore } from "./helpers.js";

function count(home: string, sql: string): number {
  const db = new Database(join(home, "rummy.db"), { readonly: true });
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
}

const views = (core: RummyCore, runId: number) =>
  core.store
    .get({ runId, order: "path", includeBody: false })
    .map((e) => `${e.path}:${e.visibility}:${e.turn}:${e.writeCount}:${e.writer}`);

test("runs given the same views share one set of rows and each still sees them as its own", async () => {
  const { core, home, cleanup } = tempCore();
  try {
    const a = newRun(core, "p", "a");
    const b = newRun(core, "p", "b");
    for (const f of ["x.ts", "y.ts", "z.ts"])
      core.store.set({ projectId: a.projectId, path: f, body: f, writer: "client" });
    const given = [
      { path: "x.ts", visibility: "summarized" as const },
      { path: "y.ts", visibility: "summarized" as const },
      { path: "z.ts", visibility: "archived" as const },
    ];
    core.store.addViews({ runId: a.id, views: given, turn: 1, writer: "plugin" });
    core.store.addViews({ runId: b.id, views: given, turn: 2, writer: "plugin" });
    assert.deepEqual(views(core, a.id), [
      "x.ts:summarized:1:1:plugin",
      "y.ts:summarized:1:1:plugin",
      "z.ts:archived:1:1:plugin",
    ]);
    assert.deepEqual(views(core, b.id), [
      "x.ts:summarized:2:1:plugin",
      "y.ts:summarized:2:1:plugin",
      "z.ts:archived:2:1:plugin",
    ]);
    assert.equal(count(home, "SELECT count(*) FROM run_views"), 0);
    assert.equal(count(home, "SELECT count(*) FROM view_sets"), 1);
    assert.equal(count(home, "SELECT count(*) FROM view_set_rows"), 3);

    // A change to one run's view is that run's alone, and counts as a second write of it.
    core.store.set({ runId: a.id, path: "z.ts", visibility: "visible", turn: 3, writer: "model" });
    assert.deepEqual(views(core, a.id).at(-1), "z.ts:visible:3:2:model");
    assert.deepEqual(views(core, b.id).at(-1), "z.ts:archived:2:1:plugin");
    assert.deepEqual(
      core.store.get({ runId: a.id, visibility: "summarized" }).map((e) => e.path),
      ["x.ts", "y.ts"],
    );
    assert.equal(core.store.getOne({ runId: b.id }, "x.ts")?.body, "x.ts");

    // Dropping a view drops it for that run only.
    core.store.rm({ runId: b.id, path: "y.ts", writer: "client" });
    assert.deepEqual(
      core.store.get({ runId: b.id }).map((e) => e.path),
      ["x.ts", "z.ts"],
    );
    assert.equal(core.store.get({ runId: a.id }).length, 3);

    // A deleted entry leaves every run's view; its id, reused by a new entry, does not bring it back.
    const zId = core.store.getOne({ projectId: a.projectId }, "z.ts")!.id;
    core.store.rm({ projectId: a.projectId, path: "z.ts", writer: "client" });
    assert.deepEqual(
      core.store.get({ runId: a.id }).map((e) => e.path),
      ["x.ts", "y.ts"],
    );
    core.store.set({ projectId: a.projectId, path: "w.ts", body: "w", writer: "client" });
    assert.equal(core.store.getOne({ projectId: a.projectId }, "w.ts")!.id, zId);
    const c = newRun(core, "p", "c");
    core.store.addViews({
      runId: c.id,
      views: [
        { path: "x.ts", visibility: "summarized" },
        { path: "y.ts", visibility: "summarized" },
        { path: "w.ts", visibility: "archived" },
      ],
      turn: 1,
    });
    assert.deepEqual(
      core.store.get({ runId: c.id }).map((e) => `${e.path}:${e.visibility}`),
      ["w.ts:archived", "x.ts:summarized", "y.ts:summarized"],
    );
    assert.equal(core.store.getOne({ runId: a.id }, "w.ts"), undefined);

    // A second batch for a run that already shares one is written as its own rows.
    core.store.set({ projectId: a.projectId, path: "v.ts", body: "v", writer: "client" });
    core.store.addViews({ runId: c.id, views: [{ path: "v.ts", visibility: "summarized" }] });
    assert.equal(core.store.getOne({ runId: c.id }, "v.ts")?.visibility, "summarized");
    assert.equal(core.store.getOne({ runId: a.id }, "v.ts"), undefined);
  } finally {
    await cleanup();
  }
});

test("a database made with the first schema opens, upgrades and keeps every row", async () => {
  const home = mkdtempSync(join(tmpdir(), "rummy-migrate-"));
  try {
    // The old schema exactly as version 1 shipped it, with a run and its per-file views.
    const old = new Database(join(home, "rummy.db"));
    old.pragma("journal_mode = WAL");
    old.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
      applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`);
    old.exec(MIGRATIONS[0]!.sql);
    old
      .prepare("INSERT INTO schema_migrations (version, name) VALUES (1, ?)")
      .run(MIGRATIONS[0]!.name);
    old.exec(`INSERT INTO projects (id, name, root) VALUES (1, 'p', '/tmp/p');
      INSERT INTO runs (id, project_id, alias) VALUES (1, 1, 'old');
      INSERT INTO entries (id, scope, path, body) VALUES (1, 'project:1', 'a.ts', 'a'), (2, 'run:1', 'known://k', 'k');
      INSERT INTO run_views (run_id, entry_id, turn, visibility, writer) VALUES (1, 1, 1, 'summarized', 'plugin'), (1, 2, 2, 'visible', 'model');`);
    old.close();

    const core = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
    registerTestSchemes(core);
    try {
      assert.deepEqual(views(core, 1), [
        "a.ts:summarized:1:1:plugin",
        "known://k:visible:2:1:model",
      ]);
      // The upgraded store takes shared views next to the old per-run ones.
      const fresh = core.runs.create({ projectId: 1, alias: "new" });
      core.store.addViews({
        runId: fresh.id,
        views: [{ path: "a.ts", visibility: "archived" }],
        turn: 1,
      });
      assert.deepEqual(views(core, fresh.id), ["a.ts:archived:1:1:plugin"]);
      assert.deepEqual(views(core, 1), [
        "a.ts:summarized:1:1:plugin",
        "known://k:visible:2:1:model",
      ]);
    } finally {
      await core.close();
    }
    assert.equal(
      count(home, "SELECT max(version) FROM schema_migrations"),
      MIGRATIONS.at(-1)!.version,
    );
    assert.equal(count(home, "SELECT count(*) FROM run_views"), 2);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
