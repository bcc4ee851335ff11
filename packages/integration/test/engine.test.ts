import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { definePlugin, type Entry, type RunRecord } from "@rummy/core";
import fc from "fast-check";
import { type Rig, rig } from "../src/index.js";

/** A stand-in side-effect tool for this suite: proposes, and on acceptance records that it "ran". */
const proposingShell = definePlugin({
  name: "test-sh",
  setup(ctx) {
    ctx.registerTool({
      name: "sh",
      handler(call, turn) {
        turn.store.set({
          runId: turn.runId,
          path: call.resultPath,
          state: "proposed",
          attributes: { command: call.body },
          writer: "plugin",
        });
      },
    });
    ctx.on("proposal.accepted", (e: { runId: number; path: string }) => {
      ctx.store.set({ runId: e.runId, path: e.path, body: "ran", attributes: { ran: true } });
    });
  },
});

let r: Rig;
before(async () => {
  r = await rig({ RUMMY_MAX_TURNS: "8", RUMMY_ALLOW_YOLO: "1" }, [proposingShell]);
});
after(() => r.close());

async function run(
  alias: string,
  prompt: string,
  replies: string[],
  mode: "ask" | "act" = "ask",
  flags = {},
): Promise<RunRecord> {
  r.llm.enqueue(...replies.map((content) => ({ content })));
  const { run } = r.core.engine.submit({
    projectId: r.projectId,
    alias,
    model: "fake",
    mode,
    prompt,
    flags,
  });
  return r.core.engine.settled(run.id);
}

const entries = (runId: number, pattern = "*"): Entry[] =>
  r.core.store.get({ runId, pattern, order: "id" });
const lastUser = () => r.llm.chatRequests().at(-1)!.body.messages[1].content as string;

describe("whole loops", () => {
  test("a multi-turn ask run records knowns and unknowns and ends on <update status=200>", async () => {
    const done = await run("facts", "What database does the app use?", [
      `<think>I should note what I know.</think>\n<known path="known://db">PostgreSQL 16</known>\n<unknown path="unknown://version">Which minor version?</unknown>\n<update status="102">noted</update>`,
      `<known path="known://db/minor">16.2</known>\n<update status="200">PostgreSQL 16.2</update>`,
    ]);
    assert.equal(done.status, 200);
    assert.equal(r.core.store.getOne({ runId: done.id }, "known://db")!.body, "PostgreSQL 16");
    assert.equal(
      r.core.store.getOne({ runId: done.id }, "unknown://version")!.body,
      "Which minor version?",
    );
    const log = entries(done.id, "log://*").map((e) => e.path);
    assert.deepEqual(log, [
      "log://turn_1/think/i_should_note_what_i_know",
      "log://turn_1/known/db",
      "log://turn_1/unknown/version",
      "log://turn_1/update/noted",
      "log://turn_2/known/db_minor",
      "log://turn_2/update/postgresql_16_2",
    ]);
    const turns = r.core.turns.list(done.id);
    assert.deepEqual(
      turns.map((t) => t.status),
      [102, 200],
    );
    assert.ok(
      turns.every((t) => (t.promptTokens ?? 0) > 0 && (t.completionTokens ?? 0) > 0),
      "provider usage stored per turn",
    );
    // The assembled packets: system has persona, instructions and tool docs; the user packet shows what was learned.
    const [first, second] = r.llm.chatRequests().slice(-2);
    const system = first!.body.messages[0].content as string;
    assert.match(system, /You are rummy/);
    assert.match(system, /## <known path=/);
    assert.doesNotMatch(system, /<!--/, "rationale comments are stripped");
    const user2 = second!.body.messages[1].content as string;
    assert.match(user2, /<context entries="\d+">[\s\S]*path="known:\/\/db"[\s\S]*PostgreSQL 16/);
    assert.match(user2, /<unknowns open="1">[\s\S]*Which minor version\?/);
    // Each fact is in the context once: the log refers to it instead of repeating it.
    assert.equal(user2.split("PostgreSQL 16").length - 1, 1, "the fact appears once");
    assert.match(user2, /action="known" path="known:\/\/db"[^>]*>\nwrote known:\/\/db\n/);
    assert.match(user2, /<log>[\s\S]*action="update"/);
    assert.match(user2, /<prompt mode="ask">\nWhat database does the app use\?\n<\/prompt>/);
    assert.match(user2, /<budget turn="2" tokens_used="\d+"/);
    const audit = r.core.store.getOne({ runId: done.id }, "audit://turn_2")!;
    assert.equal(audit.visibility, "archived");
    assert.match(audit.body, /## assistant\n\n<known path="known:\/\/db\/minor">/);
    // The turn's context picture: the budget and the entries the prompt was built from, at their visibility.
    const picture = audit.attributes.context as {
      ceiling: number;
      contextLength: number;
      tokens: number;
      entries: [string, string, string, number, number][];
    };
    assert.ok(picture.ceiling > 0 && picture.ceiling <= picture.contextLength);
    assert.equal(picture.tokens, r.core.turns.list(done.id)[1]!.contextTokens);
    const db = picture.entries.find((e) => e[0] === "known://db")!;
    const stored = r.core.store.getOne({ runId: done.id }, "known://db")!;
    assert.deepEqual(db, ["known://db", "known", "visible", stored.tokens, stored.tokens]);
    assert.ok(
      !picture.entries.some((e) => e[0] === "log://turn_2/known/db_minor"),
      "an entry written by the turn is not in its own context",
    );
  });

  test("a failing action turns a terminal claim into a continuation (409)", async () => {
    const done = await run("override", "q", [
      `<update status="200">finished</update>\n<known path="known://empty"></known>`,
      `<update status="200">really finished</update>`,
    ]);
    assert.equal(done.status, 200);
    const claim = r.core.store.getOne({ runId: done.id }, "log://turn_1/update/finished")!;
    assert.equal(claim.state, "failed");
    assert.equal(claim.status, 409);
    assert.deepEqual(
      r.core.turns.list(done.id).map((t) => t.status),
      [409, 200],
    );
    assert.match(lastUser(), /<errors count="\d+">[\s\S]*needs the fact as its body/);
  });

  test("an oversized <known> is refused with 413 naming the limit; nothing is written; the model is told", async () => {
    const huge = Array.from({ length: 3000 }, (_, i) => `word${i}`).join(" ");
    const done = await run("oversized", "q", [
      `<known path="known://huge">${huge}</known>\n<update status="102">noted</update>`,
      `<update status="200">split it</update>`,
    ]);
    assert.equal(done.status, 200);
    assert.equal(r.core.store.getOne({ runId: done.id }, "known://huge"), undefined);
    const [command] = entries(done.id, "log://turn_1/known/*");
    assert.equal(command!.status, 413);
    assert.match(lastUser(), /over the limit of 2000: split it into smaller facts/);
  });

  test("three turns in a row with errors abandon the loop at 499", async () => {
    const done = await run("strikes", "q", [
      "I refuse to use tags.",
      "<bogus/>",
      "still nothing useful",
    ]);
    assert.equal(done.status, 499);
    assert.match(r.core.loops.list(done.id)[0]!.reason!, /3 turns in a row/);
    assert.equal(entries(done.id, "log://*/error/*").length, 3);
  });

  test("a repeated turn is detected as a cycle and counts as a strike", async () => {
    const same = `<think>let me look again</think>\n<update status="102">looking</update>`;
    const done = await run("cycle", "q", [same, same, same, same]);
    assert.equal(done.status, 499);
    const cycles = entries(done.id, "log://*/error/cycle*");
    assert.equal(cycles.length, 3, "turns 2-4 repeat turn 1");
    assert.equal(cycles[0]!.status, 508);
  });

  test("ask mode refuses side effects with 403 and an error the model sees", async () => {
    const done = await run("askmode", "list files", [
      `<sh>rm -rf build</sh>\n<update status="102">cleaning</update>`,
      `<update status="422">I cannot run commands in ask mode.</update>`,
    ]);
    assert.equal(done.status, 422);
    const refused = r.core.store.getOne({ runId: done.id }, "log://turn_1/sh/rm_rf_build")!;
    assert.equal(refused.status, 403);
    assert.equal(
      r.core.store.getOne({ runId: done.id }, "log://turn_1/update/cleaning")!.outcome,
      "aborted",
    );
    assert.match(lastUser(), /ask mode allows none/);
  });

  test("proposals block dispatch until resolved; accept runs the side effect, yolo accepts at once", async () => {
    r.llm.enqueue(
      { content: `<sh>make test</sh>\n<update status="102">testing</update>` },
      { content: `<update status="200">tests pass</update>` },
    );
    const { run: started } = r.core.engine.submit({
      projectId: r.projectId,
      alias: "propose",
      model: "fake",
      mode: "act",
      prompt: "run the tests",
    });
    const waiting = await r.core.engine.settled(started.id);
    assert.equal(waiting.status, 202);
    const proposal = r.core.store.getOne({ runId: started.id }, "log://turn_1/sh/make_test")!;
    assert.equal(proposal.state, "proposed");
    assert.equal(
      r.core.store.getOne({ runId: started.id }, "log://turn_1/update/testing")!.state,
      "resolved",
      "recorded, not yet dispatched",
    );
    const accepted = await r.core.engine.resolve(started.id, proposal.path, { decision: "accept" });
    assert.equal(accepted.ok, true);
    const finished = await r.core.engine.settled(started.id);
    assert.equal(finished.status, 200);
    assert.equal(r.core.store.getOne({ runId: started.id }, proposal.path)!.attributes.ran, true);

    const yolo = await run(
      "yolo",
      "go",
      [`<sh>make</sh>\n<update status="200">built</update>`],
      "act",
      { yolo: true },
    );
    assert.equal(yolo.status, 200);
    assert.equal(
      r.core.store.getOne({ runId: yolo.id }, "log://turn_1/sh/make")!.attributes.ran,
      true,
    );
  });

  test("a rejected proposal fails with 403 and cancels the rest of the turn", async () => {
    r.llm.enqueue(
      { content: `<sh>deploy</sh>\n<update status="200">deployed</update>` },
      { content: `<update status="422">the user declined</update>` },
    );
    const { run: started } = r.core.engine.submit({
      projectId: r.projectId,
      alias: "reject",
      model: "fake",
      mode: "act",
      prompt: "deploy",
    });
    await r.core.engine.settled(started.id);
    await r.core.engine.resolve(started.id, "log://turn_1/sh/deploy", {
      decision: "reject",
      body: "not today",
    });
    const done = await r.core.engine.settled(started.id);
    assert.equal(done.status, 422);
    const rejected = r.core.store.getOne({ runId: done.id }, "log://turn_1/sh/deploy")!;
    assert.equal(rejected.status, 403);
    assert.equal(rejected.attributes.resolution, "not today");
    assert.equal(
      r.core.store.getOne({ runId: done.id }, "log://turn_1/update/deployed")!.outcome,
      "aborted",
    );
  });

  test("a queue of prompts runs FIFO as loops of one run", async () => {
    r.llm.enqueue(
      { content: `<update status="200">first</update>` },
      { content: `<update status="200">second</update>` },
    );
    const a = r.core.engine.submit({
      projectId: r.projectId,
      alias: "fifo",
      model: "fake",
      mode: "ask",
      prompt: "one",
    });
    r.core.engine.submit({
      projectId: r.projectId,
      alias: "fifo",
      model: "fake",
      mode: "ask",
      prompt: "two",
    });
    const done = await r.core.engine.settled(a.run.id);
    assert.equal(done.status, 200);
    assert.deepEqual(
      r.core.loops.list(done.id).map((l) => [l.prompt, l.status, l.reason]),
      [
        ["one", 200, "first"],
        ["two", 200, "second"],
      ],
    );
  });
});

describe("budget", () => {
  test("first turn over the ceiling: entries are summarized to fit, nothing lost; later turns demote visibility only", async () => {
    const small = await rig({ RUMMY_CONTEXT_DEFAULT: "4096", RUMMY_BUDGET_CEILING: "0.9" });
    try {
      const project = small.projectId;
      const run = small.core.runs.create({ projectId: project, alias: "big", model: "fake" });
      const big = "lorem ipsum dolor sit amet ".repeat(60);
      for (let i = 0; i < 12; i++)
        small.core.store.set({
          runId: run.id,
          path: `known://note${i}`,
          body: `${i} ${big}`,
          writer: "model",
        });
      small.llm.setHandler((req) => {
        const tokens = Math.ceil(
          (req.body.messages[0].content.length + req.body.messages[1].content.length) / 4,
        );
        return { content: `<update status="200">prompt was ${tokens} tokens</update>` };
      });
      // The fake model's id is not in the models list, so the context default (4096) applies.
      small.core.models.upsert({
        alias: "tiny",
        target: "openai/tiny-model",
        contextLength: null,
        source: "client",
      });
      small.core.engine.submit({
        projectId: project,
        alias: "big",
        model: "tiny",
        mode: "ask",
        prompt: "summarize",
      });
      const done = await small.core.engine.settled(run.id);
      assert.equal(done.status, 200, small.core.loops.list(run.id)[0]?.reason ?? "");
      const notes = small.core.store.get({ runId: run.id, pattern: "known://note*" });
      assert.equal(notes.length, 12, "nothing removed");
      assert.ok(
        notes.some((n) => n.visibility !== "visible"),
        "some notes were demoted",
      );
      for (const n of notes) {
        assert.equal(n.state, "resolved", "demotion never touches state");
        assert.ok(n.body.endsWith(big), "bodies intact, still readable");
      }
      const sent = Number(
        /prompt was (\d+) tokens/.exec(small.core.loops.list(run.id)[0]!.reason!)![1],
      );
      assert.ok(sent <= 3686, `the prompt (${sent} tokens) fits the ceiling`);
    } finally {
      await small.close();
    }
  });

  test("post-dispatch: a turn that overfills the context has its own entries demoted (visibility only)", async () => {
    const small = await rig({ RUMMY_CONTEXT_DEFAULT: "4096", RUMMY_MAX_ENTRY_TOKENS: "100000" });
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
          content: `<known path="known://huge">${big}</known>\n<update status="102">noted</update>`,
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
      const huge = small.core.store.getOne({ runId: run.id }, "known://huge")!;
      assert.equal(huge.visibility, "summarized", "demoted after the turn that wrote it");
      assert.equal(huge.state, "resolved", "state untouched");
      assert.equal(huge.body, big.trim(), "nothing lost: the body is intact and readable");
      const second = small.llm.chatRequests().at(-1)!.body.messages[1].content as string;
      assert.match(
        second,
        /path="known:\/\/huge"[^>]*summarized="true"/,
        "the next prompt shows it as a tile",
      );
      assert.ok(second.length < big.length, "the next prompt does not carry the body");
    } finally {
      await small.close();
    }
  });

  test("a prompt that cannot fit after the first turn ends the loop with 413", async () => {
    const small = await rig({ RUMMY_CONTEXT_DEFAULT: "4096" });
    try {
      small.core.models.upsert({
        alias: "tiny",
        target: "openai/tiny-model",
        contextLength: null,
        source: "client",
      });
      const huge = "x".repeat(20_000);
      small.llm.enqueue({ content: `<update status="102">thinking</update>` });
      const { run } = small.core.engine.submit({
        projectId: small.projectId,
        alias: "overflow",
        model: "tiny",
        mode: "ask",
        prompt: "q",
      });
      // Between turns, a client pins a huge entry into view as visible.
      small.core.hooks.on("turn.completed", () => {
        small.core.store.set({
          runId: run.id,
          path: "known://pinned",
          body: huge,
          visibility: "visible",
          writer: "client",
        });
      });
      const done = await small.core.engine.settled(run.id);
      assert.equal(done.status, 413);
      assert.ok(
        small.core.store.get({ runId: run.id, pattern: "log://*/error/budget*" }).length === 1,
      );
    } finally {
      await small.close();
    }
  });
});

describe("failures", () => {
  test("the provider's context-too-long answer ends the loop at 413; a dead provider at 500 with the reason", async () => {
    r.llm.enqueue({ fail: "context_too_long" });
    const { run: a } = r.core.engine.submit({
      projectId: r.projectId,
      alias: "ctx",
      model: "fake",
      mode: "ask",
      prompt: "q",
    });
    assert.equal((await r.core.engine.settled(a.id)).status, 413);
    r.llm.enqueue({ fail: "server_error" });
    const { run: b } = r.core.engine.submit({
      projectId: r.projectId,
      alias: "dead",
      model: "fake",
      mode: "ask",
      prompt: "q",
    });
    const done = await r.core.engine.settled(b.id);
    assert.equal(done.status, 500);
    assert.match(r.core.loops.list(b.id)[0]!.reason!, /answered 500/);
    assert.match(
      r.core.store.get({ runId: b.id, pattern: "log://*/error/provider*" })[0]!.body,
      /the model call failed/,
    );
  });

  test("cancel aborts a hung model call and ends the run at 499", async () => {
    r.llm.enqueue({ fail: "hang" });
    const { run } = r.core.engine.submit({
      projectId: r.projectId,
      alias: "hung",
      model: "fake",
      mode: "ask",
      prompt: "q",
    });
    await new Promise((res) => setTimeout(res, 100));
    await r.core.engine.cancel(run.id, "user pressed stop");
    const done = r.core.runs.get(run.id)!;
    assert.equal(done.status, 499);
    assert.equal(r.core.loops.list(run.id)[0]!.reason, "user pressed stop");
  });

  test("property: malformed output of any shape never crashes the loop", async () => {
    const junk = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .array(
          fc.constantFrom(
            "<known",
            ">",
            "</known>",
            '<update status="',
            "200",
            '">',
            "</update>",
            "<get/>",
            "```",
            '{"name":"known"}',
            "<think>",
            "&#xD800;",
            "\u0000",
          ),
          { maxLength: 30 },
        )
        .map((a) => a.join("")),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(junk, { minLength: 1, maxLength: 3 }), async (outputs) => {
        const done = await run(`fuzz-${n++}`, "q", [
          ...outputs,
          `<update status="200">ok</update>`,
          `<update status="200">ok</update>`,
          `<update status="200">ok</update>`,
        ]);
        assert.ok([200, 204, 422, 499, 500].includes(done.status), `ended with ${done.status}`);
        // Drop replies this run did not use, so the next run starts clean.
        r.llm.clear();
      }),
      { numRuns: 25 },
    );
  });
});
