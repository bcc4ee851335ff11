import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RummyCore } from "../src/index.js";
import { statusOf } from "../src/index.js";
import { newRun, tempCore } from "./helpers.js";

let core: RummyCore;
let cleanup: () => Promise<void>;
before(() => ({ core, cleanup } = tempCore()));
after(() => cleanup());

describe("set and get", () => {
  test("creates an entry visible and resolved by default, with tokens and hash", () => {
    const run = newRun(core);
    const res = core.store.set({
      runId: run.id,
      path: "known://auth",
      body: "uses JWT",
      writer: "model",
    });
    assert.equal(res.ok, true);
    assert.equal(res.created, true);
    assert.equal(res.status, 200);
    const entry = core.store.getOne({ runId: run.id }, "known://auth")!;
    assert.equal(entry.body, "uses JWT");
    assert.equal(entry.scheme, "known");
    assert.equal(entry.scope, `run:${run.id}`);
    assert.equal(entry.state, "resolved");
    assert.equal(entry.visibility, "visible");
    assert.equal(entry.tokens, Math.ceil("uses JWT".length / 4));
    assert.match(entry.hash!, /^[0-9a-f]{64}$/);
    assert.equal(entry.writeCount, 1);
    assert.equal(entry.writer, "model");
  });

  test("update replaces the body, bumps write count, merges attributes and deletes null keys", () => {
    const run = newRun(core);
    core.store.set({ runId: run.id, path: "known://a", body: "one", attributes: { x: 1, y: 2 } });
    core.store.set({
      runId: run.id,
      path: "known://a",
      body: "two",
      attributes: { y: null, z: 3 },
    });
    const entry = core.store.getOne({ runId: run.id }, "known://a")!;
    assert.equal(entry.body, "two");
    assert.deepEqual(entry.attributes, { x: 1, z: 3 });
    assert.equal(entry.writeCount, 2);
  });

  test("append grows the body and its token count without replacing it", () => {
    const run = newRun(core);
    core.store.set({ runId: run.id, path: "known://s", body: "", state: "streaming" });
    for (const chunk of ["abcd", "efgh", "ij"]) {
      core.store.set({ runId: run.id, path: "known://s", body: chunk, append: true });
    }
    const entry = core.store.getOne({ runId: run.id }, "known://s")!;
    assert.equal(entry.body, "abcdefghij");
    assert.equal(entry.tokens, 1 + 1 + 1);
    assert.equal(entry.state, "streaming", "append leaves state alone");
    assert.equal(entry.hash, null, "appended bodies are not hashed until replaced");
  });

  test("state and visibility are independent axes", () => {
    const run = newRun(core);
    const path = "known://axes";
    core.store.set({ runId: run.id, path, body: "b", state: "proposed" });
    core.store.set({ runId: run.id, path, visibility: "archived" });
    let e = core.store.getOne({ runId: run.id }, path)!;
    assert.equal(e.state, "proposed");
    assert.equal(e.visibility, "archived");
    core.store.set({ runId: run.id, path, state: "resolved" });
    e = core.store.getOne({ runId: run.id }, path)!;
    assert.equal(e.visibility, "archived");
    assert.equal(e.state, "resolved");
    assert.equal(e.body, "b", "state changes leave the body alone");
  });

  test("status projection of state and outcome", () => {
    assert.equal(statusOf("proposed", null), 202);
    assert.equal(statusOf("streaming", null), 102);
    assert.equal(statusOf("resolved", null), 200);
    assert.equal(statusOf("cancelled", null), 499);
    assert.equal(statusOf("failed", null), 500);
    assert.equal(statusOf("failed", "permission:403"), 403);
    assert.equal(statusOf("failed", "exit:1"), 500);
    assert.equal(statusOf("resolved", "405"), 405);
    const run = newRun(core);
    core.store.set({ runId: run.id, path: "known://f", state: "failed", outcome: "413" });
    assert.equal(core.store.getOne({ runId: run.id }, "known://f")!.status, 413);
    core.store.set({ runId: run.id, path: "known://f", state: "resolved" });
    const e = core.store.getOne({ runId: run.id }, "known://f")!;
    assert.equal(e.outcome, null, "a new state without an outcome clears the old outcome");
    assert.equal(e.status, 200);
  });

  test("rejects malformed input with a 400", () => {
    const run = newRun(core);
    assert.throws(() => core.store.set({ runId: run.id, path: "" }), /non-empty/);
    assert.throws(() => core.store.set({ runId: run.id, path: "known://x\0y" }), /NUL/);
    assert.throws(
      () => core.store.set({ runId: run.id, path: `known://${"x".repeat(3000)}` }),
      /longer/,
    );
    assert.throws(
      () => core.store.set({ runId: run.id, path: "known://x", state: "done" as never }),
      /invalid state/,
    );
    assert.throws(
      () => core.store.set({ runId: run.id, path: "known://x", attributes: [] as never }),
      /object/,
    );
    const unknown = core.store.set({ runId: run.id, path: "nope://x", body: "b" });
    assert.equal(unknown.ok, false);
    assert.equal(unknown.status, 400);
    assert.equal(core.store.get({ runId: run.id, pattern: "nope://*" }).length, 0);
  });
});

describe("permissions", () => {
  test("a tier outside writable_by fails with permission:403 and changes nothing", () => {
    const run = newRun(core);
    const res = core.store.set({
      runId: run.id,
      path: "log://turn_1/x",
      body: "b",
      writer: "model",
    });
    assert.equal(res.ok, false);
    assert.equal(res.status, 403);
    assert.equal(res.outcome, "permission:403");
    assert.equal(core.store.getOne({ runId: run.id }, "log://turn_1/x"), undefined);

    core.store.set({ runId: run.id, path: "log://turn_1/y", body: "orig", writer: "plugin" });
    const denied = core.store.set({
      runId: run.id,
      path: "log://turn_1/y",
      body: "evil",
      writer: "client",
    });
    assert.equal(denied.status, 403);
    assert.equal(core.store.getOne({ runId: run.id }, "log://turn_1/y")!.body, "orig");
    const rm = core.store.rm({ runId: run.id, path: "log://turn_1/y", writer: "model" });
    assert.equal(rm.status, 403);
    assert.ok(core.store.getOne({ runId: run.id }, "log://turn_1/y"));
  });

  test("higher tiers may write where lower tiers may; system may write anywhere", () => {
    const run = newRun(core);
    for (const writer of ["model", "client", "plugin", "system"] as const) {
      assert.equal(
        core.store.set({ runId: run.id, path: `known://${writer}`, body: "b", writer }).ok,
        true,
      );
    }
    assert.equal(
      core.store.set({ runId: run.id, path: "skill://x", body: "b", writer: "plugin" }).status,
      403,
    );
    assert.equal(
      core.store.set({ runId: run.id, path: "skill://x", body: "b", writer: "system" }).ok,
      true,
    );
  });

  test("a view-only change (visibility) needs no write permission; content and state still do", () => {
    const run = newRun(core);
    core.store.set({ runId: run.id, path: "log://turn_1/v", body: "record" });
    const shown = core.store.set({
      runId: run.id,
      path: "log://turn_1/v",
      visibility: "archived",
      writer: "model",
    });
    assert.equal(shown.ok, true);
    assert.equal(core.store.getOne({ runId: run.id }, "log://turn_1/v")!.visibility, "archived");
    assert.equal(
      core.store.set({ runId: run.id, path: "log://turn_1/v", state: "failed", writer: "model" })
        .status,
      403,
    );
    assert.equal(
      core.store.setPattern({
        runId: run.id,
        pattern: "log://turn_1/*",
        visibility: "visible",
        writer: "model",
      }).ok,
      true,
    );
    assert.equal(
      core.store.setPattern({
        runId: run.id,
        pattern: "log://turn_1/*",
        state: "failed",
        writer: "model",
      }).status,
      403,
    );
  });

  test("a pattern write denied on one match changes none of them", () => {
    const run = newRun(core);
    core.store.set({ runId: run.id, path: "log://turn_1/a", body: "a" });
    core.store.set({ runId: run.id, path: "known://turn_1/a", body: "a" });
    const res = core.store.setPattern({
      runId: run.id,
      pattern: "*turn_1/a",
      state: "cancelled",
      writer: "model",
    });
    assert.equal(res.status, 403);
    for (const e of core.store.get({ runId: run.id, pattern: "*turn_1/a" }))
      assert.equal(e.state, "resolved");
  });
});

describe("scopes", () => {
  test("project-scoped content is shared; each run has its own view", () => {
    const p = core.projects.ensure("shared", "/tmp/shared");
    const r1 = core.runs.create({ projectId: p.id });
    const r2 = core.runs.create({ projectId: p.id });
    core.store.set({ runId: r1.id, path: "src/a.ts", body: "export {}", writer: "client" });
    assert.equal(
      core.store.getOne({ runId: r2.id }, "src/a.ts"),
      undefined,
      "no view, not in r2's context",
    );
    core.store.set({ runId: r2.id, path: "src/a.ts", visibility: "summarized" });
    const seen2 = core.store.getOne({ runId: r2.id }, "src/a.ts")!;
    assert.equal(seen2.body, "export {}");
    assert.equal(seen2.scope, `project:${p.id}`);
    assert.equal(seen2.visibility, "summarized");
    assert.equal(core.store.getOne({ runId: r1.id }, "src/a.ts")!.visibility, "visible");
    // Removing from one run's view leaves the project's content for the other.
    core.store.rm({ runId: r1.id, path: "src/a.ts" });
    assert.equal(core.store.getOne({ runId: r1.id }, "src/a.ts"), undefined);
    assert.ok(core.store.getOne({ runId: r2.id }, "src/a.ts"));
    assert.ok(core.store.getOne({ projectId: p.id }, "src/a.ts"), "project content stays");
  });

  test("run-scoped entries are private to their run and deleted with its view", () => {
    const r1 = newRun(core);
    const r2 = newRun(core);
    core.store.set({ runId: r1.id, path: "known://private", body: "mine" });
    core.store.set({ runId: r2.id, path: "known://private", body: "theirs" });
    assert.equal(core.store.getOne({ runId: r1.id }, "known://private")!.body, "mine");
    assert.equal(core.store.getOne({ runId: r2.id }, "known://private")!.body, "theirs");
    core.store.rm({ runId: r1.id, path: "known://private" });
    assert.equal(core.store.getOne({ runId: r1.id }, "known://private"), undefined);
    assert.equal(core.store.getOne({ runId: r2.id }, "known://private")!.body, "theirs");
  });

  test("global entries need no run; project entries need a run or a project", () => {
    assert.equal(core.store.set({ path: "skill://g", body: "global", writer: "system" }).ok, true);
    assert.equal(core.store.getOne({}, "skill://g")!.scope, "global");
    assert.throws(
      () => core.store.set({ path: "src/x.ts", body: "x", writer: "client" }),
      /project-scoped/,
    );
    assert.throws(() => core.store.set({ path: "known://x", body: "x" }), /run-scoped/);
  });
});

describe("patterns, body filters, rm, cp, mv", () => {
  test("glob queries and body filters", () => {
    const run = newRun(core);
    core.store.set({ runId: run.id, path: "known://auth/jwt", body: "token expiry 1h" });
    core.store.set({ runId: run.id, path: "known://auth/oauth", body: "google provider" });
    core.store.set({ runId: run.id, path: "known://db", body: "postgres token table" });
    const paths = (q: object) => core.store.get({ runId: run.id, ...q }).map((e) => e.path);
    assert.deepEqual(paths({ pattern: "known://auth/*" }), [
      "known://auth/jwt",
      "known://auth/oauth",
    ]);
    assert.deepEqual(paths({ pattern: "known://*", bodyFilter: "token" }), [
      "known://auth/jwt",
      "known://db",
    ]);
    assert.deepEqual(paths({ pattern: "known://*", bodyFilter: "*provider" }), [
      "known://auth/oauth",
    ]);
    assert.deepEqual(paths({ scheme: "known", visibility: "archived" }), []);
  });

  test("attributeKeys reads only the named attribute keys, every JSON type intact", () => {
    const run = newRun(core);
    const full = {
      sections: { reasoning: null, content: [3, 9] },
      big: "x".repeat(10_000),
      yes: true,
      no: false,
      n: 1.5,
      s: 'text with "quotes"',
      list: [1, "two", { three: 3 }],
      "a.b": "dotted",
    };
    core.store.set({ runId: run.id, path: "known://full", body: "the body", attributes: full });
    core.store.set({ runId: run.id, path: "known://plain", body: "plain" });
    const read = (keys: readonly string[], extra: object = {}) =>
      core.store
        .get({ runId: run.id, pattern: "known://*", order: "id", attributeKeys: keys, ...extra })
        .map((e) => [e.path, e.attributes, e.body]);
    assert.deepEqual(read(["sections"]), [
      ["known://full", { sections: full.sections }, "the body"],
      ["known://plain", {}, "plain"],
    ]);
    const { big: _big, ...small } = full;
    assert.deepEqual(read(Object.keys(small).concat("absent"))[0]![1], small);
    assert.deepEqual(read([])[0]![1], {}, "no keys: no attributes");
    // With a limit, and outside a run: the keys' parameters do not shift the query's own.
    assert.deepEqual(read(["n"], { limit: 1, offset: 1 }), [["known://plain", {}, "plain"]]);
    const p = core.projects.ensure("attr-keys", "/tmp/attr-keys");
    core.store.set({
      projectId: p.id,
      path: "src/a.ts",
      body: "a",
      attributes: { lang: "ts", x: 1 },
    });
    assert.deepEqual(
      core.store.get({ projectId: p.id, path: "src/a.ts", attributeKeys: ["lang"] })[0]!.attributes,
      { lang: "ts" },
    );
    // A run that sees the file through a shared view set (views given at its first look).
    const viewer = newRun(core, "attr-keys", "attr-keys-viewer");
    core.store.addViews({
      runId: viewer.id,
      views: [{ path: "src/a.ts", visibility: "summarized" }],
      turn: 1,
      writer: "plugin",
    });
    assert.deepEqual(
      core.store
        .get({ runId: viewer.id, pattern: "src/*", attributeKeys: ["x"] })
        .map((e) => [e.path, e.visibility, e.attributes]),
      [["src/a.ts", "summarized", { x: 1 }]],
    );
    assert.deepEqual(core.store.getOne({ runId: run.id }, "known://full")!.attributes, full);
  });

  test("sizes answers what get answers, as path, scheme, visibility and tokens only", () => {
    const p = core.projects.ensure("sizes", "/tmp/sizes");
    const run = newRun(core, "sizes", "sizes-run");
    for (const n of [1, 2, 3])
      core.store.set({
        runId: run.id,
        path: `known://size/${n}`,
        body: "word ".repeat(n * 10),
        attributes: { n },
        visibility: n === 2 ? "archived" : "visible",
      });
    core.store.set({ projectId: p.id, path: "src/a.ts", body: "export const a = 1;" });
    core.store.set({ projectId: p.id, path: "src/b.ts", body: "export const b = 2;\n".repeat(5) });
    // One file seen through a shared view set (the run's first look), one through a row of its own.
    core.store.addViews({
      runId: run.id,
      views: [
        { path: "src/a.ts", visibility: "summarized" },
        { path: "src/b.ts", visibility: "archived" },
      ],
      turn: 1,
      writer: "plugin",
    });
    core.store.set({ runId: run.id, path: "src/a.ts", visibility: "archived", writer: "plugin" });
    const same = (query: object) => {
      const lean = core.store
        .sizes(query)
        .map((e) => [e.path, e.scheme, e.visibility, e.tokens])
        .sort();
      const full = core.store
        .get({ ...query, includeBody: false })
        .map((e) => [e.path, e.scheme, e.visibility, e.tokens])
        .sort();
      assert.deepEqual(lean, full, JSON.stringify(query));
      return lean.length;
    };
    assert.equal(same({ runId: run.id }), 5);
    assert.equal(same({ runId: run.id, visibility: "archived" }), 3);
    assert.equal(
      same({ runId: run.id, scheme: "known", visibility: ["visible", "summarized"] }),
      2,
    );
    assert.equal(same({ runId: run.id, pattern: "src/*" }), 2);
    assert.equal(same({ runId: run.id, path: "known://size/2" }), 1);
    assert.equal(same({ runId: run.id, state: "proposed" }), 0);
    assert.equal(same({ projectId: p.id, pattern: "src/*" }), 2, "outside a run: no visibility");
    assert.ok(core.store.sizes({ runId: run.id, path: "known://size/3" })[0]!.tokens > 0);
  });

  test("pattern set changes views in bulk and leaves bodies alone", () => {
    const run = newRun(core);
    for (const n of [1, 2, 3])
      core.store.set({ runId: run.id, path: `known://bulk/${n}`, body: `b${n}` });
    const res = core.store.setPattern({
      runId: run.id,
      pattern: "known://bulk/*",
      visibility: "summarized",
    });
    assert.equal(res.count, 3);
    const got = core.store.get({ runId: run.id, pattern: "known://bulk/*" });
    assert.deepEqual(
      got.map((e) => e.visibility),
      ["summarized", "summarized", "summarized"],
    );
    assert.deepEqual(
      got.map((e) => e.body),
      ["b1", "b2", "b3"],
    );
  });

  test("rm by pattern and a 404 for nothing", () => {
    const run = newRun(core);
    core.store.set({ runId: run.id, path: "known://t/1", body: "x" });
    core.store.set({ runId: run.id, path: "known://t/2", body: "x" });
    assert.equal(core.store.rm({ runId: run.id, pattern: "known://t/*" }).count, 2);
    assert.equal(core.store.rm({ runId: run.id, path: "known://t/1" }).status, 404);
  });

  test("cp copies body and attributes; mv renames atomically", () => {
    const run = newRun(core);
    core.store.set({ runId: run.id, path: "known://src", body: "content", attributes: { a: 1 } });
    assert.equal(
      core.store.cp({ runId: run.id, from: "known://src", to: "known://copy" }).ok,
      true,
    );
    assert.equal(core.store.getOne({ runId: run.id }, "known://copy")!.body, "content");
    assert.deepEqual(core.store.getOne({ runId: run.id }, "known://copy")!.attributes, { a: 1 });
    assert.ok(core.store.getOne({ runId: run.id }, "known://src"));
    assert.equal(
      core.store.mv({ runId: run.id, from: "known://src", to: "known://moved" }).ok,
      true,
    );
    assert.equal(core.store.getOne({ runId: run.id }, "known://src"), undefined);
    assert.equal(core.store.getOne({ runId: run.id }, "known://moved")!.body, "content");
    assert.equal(
      core.store.mv({ runId: run.id, from: "known://absent", to: "known://x" }).status,
      404,
    );
    // A move whose destination the writer may not write leaves the source in place.
    const denied = core.store.mv({
      runId: run.id,
      from: "known://moved",
      to: "log://x",
      writer: "model",
    });
    assert.equal(denied.status, 403);
    assert.ok(core.store.getOne({ runId: run.id }, "known://moved"));
  });

  test("observers see committed writes, once per batch commit", () => {
    const run = newRun(core);
    const seen: string[] = [];
    const stop = core.store.observe((c) => seen.push(`${c.op}:${c.path}`));
    core.store.batch(() => {
      core.store.set({ runId: run.id, path: "known://o1", body: "1" });
      core.store.set({ runId: run.id, path: "known://o2", body: "2" });
      assert.deepEqual(seen, [], "nothing is announced before the commit");
    });
    core.store.rm({ runId: run.id, path: "known://o1" });
    stop();
    assert.deepEqual(seen, ["set:known://o1", "set:known://o2", "rm:known://o1"]);
  });

  test("a batch that throws commits nothing", () => {
    const run = newRun(core);
    assert.throws(() =>
      core.store.batch(() => {
        core.store.set({ runId: run.id, path: "known://rollback", body: "1" });
        throw new Error("boom");
      }),
    );
    assert.equal(core.store.getOne({ runId: run.id }, "known://rollback"), undefined);
  });
});

describe("durability", () => {
  test("writes survive closing and reopening the database file", async () => {
    const { tempCore: make } = await import("./helpers.js");
    const { core: c1, home } = make();
    const run = newRun(c1);
    c1.store.set({ runId: run.id, path: "known://durable", body: "kept" });
    await c1.close();
    const { RummyCore, createLogger } = await import("../src/index.js");
    const c2 = RummyCore.open({ home, env: {}, logger: createLogger("silent") });
    c2.schemes.register({ name: "known", writableBy: ["model"] });
    assert.equal(c2.store.getOne({ runId: run.id }, "known://durable")!.body, "kept");
    await c2.close();
    const { rmSync } = await import("node:fs");
    rmSync(home, { recursive: true, force: true });
  });
});
