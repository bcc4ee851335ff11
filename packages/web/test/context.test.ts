import assert from "node:assert/strict";
import { test } from "node:test";
import { pictureOf, snapshotOf } from "../page/context.js";

const attrs = (entries: unknown[], extra: Record<string, unknown> = {}) => ({
  promptTokens: 1,
  context: { contextLength: 1000, ceiling: 900, tokens: 400, entries, ...extra },
});

test("a turn's picture sums tokens per scheme by visibility and names what was demoted", () => {
  const first = snapshotOf(
    1,
    attrs([
      ["a.ts", "file", "visible", 100, 100],
      ["b.ts", "file", "visible", 50, 50],
      ["known://x", "known", "visible", 30, 30],
      ["known://y", "known", "summarized", 5, 40],
    ]),
  )!;
  const second = snapshotOf(
    2,
    attrs([
      ["a.ts", "file", "summarized", 10, 100],
      ["b.ts", "file", "visible", 50, 50],
      ["known://x", "known", "visible", 30, 30],
      ["known://y", "known", "archived", 0, 40],
      ["known://z", "known", "summarized", 3, 20],
    ]),
  )!;
  const p = pictureOf(second, first);
  assert.equal(p.ceiling, 900);
  assert.equal(p.promptTokens, 400);
  assert.equal(p.entryTokens, 10 + 50 + 30 + 3);
  assert.deepEqual(p.schemes, [
    { scheme: "file", visible: 50, summarized: 10, archived: 0, count: 2 },
    { scheme: "known", visible: 30, summarized: 3, archived: 40, count: 3 },
  ]);
  assert.deepEqual(
    p.demoted.map((d) => [d.path, d.from, d.to]),
    [
      ["a.ts", "visible", "summarized"],
      ["known://y", "summarized", "archived"],
    ],
  );
  assert.deepEqual(
    pictureOf(first, null).demoted,
    [],
    "the first turn has nothing to compare with",
  );
});

test("a turn recorded without a context (an older server) has no picture", () => {
  assert.equal(snapshotOf(1, { promptTokens: 3 }), null);
  assert.equal(snapshotOf(1, null), null);
  const odd = snapshotOf(1, attrs([["ok", "file", "visible", 1, 1], "junk", [1, 2]]))!;
  assert.equal(odd.entries.length, 1);
});

test("a format-2 record: archived entries come as totals per scheme, demotions as the server recorded them", () => {
  const first = snapshotOf(
    1,
    attrs([
      ["a.ts", "file", "visible", 100, 100],
      ["known://x", "known", "visible", 30, 30],
    ]),
  )!;
  const second = snapshotOf(
    2,
    attrs(
      [
        ["a.ts", "file", "summarized", 10, 100],
        ["known://x", "known", "visible", 30, 30],
        // Not expected in format 2; never counted twice if a writer put one in anyway.
        ["stray", "file", "archived", 0, 7],
      ],
      {
        format: 2,
        archived: { file: { count: 3, tokens: 70 }, known: { count: 2, tokens: 40 }, odd: "junk" },
        demoted: [
          { path: "a.ts", scheme: "file", from: "visible", to: "summarized", tokens: 100 },
          { path: "known://y", scheme: "known", from: "summarized", to: "archived", tokens: 25 },
          { path: "known://up", scheme: "known", from: "archived", to: "visible", tokens: 1 },
          "junk",
        ],
      },
    ),
  )!;
  assert.deepEqual(
    second.entries.map((e) => e[0]),
    ["a.ts", "known://x"],
  );
  const p = pictureOf(second, first);
  assert.equal(p.entryTokens, 10 + 30);
  assert.deepEqual(p.schemes, [
    { scheme: "known", visible: 30, summarized: 0, archived: 40, count: 3 },
    { scheme: "file", visible: 0, summarized: 10, archived: 70, count: 4 },
  ]);
  // The recorded list, not a comparison with the previous snapshot (which lacks archived rows).
  assert.deepEqual(
    p.demoted.map((d) => [d.path, d.scheme, d.from, d.to, d.tokens]),
    [
      ["a.ts", "file", "visible", "summarized", 100],
      ["known://y", "known", "summarized", "archived", 25],
    ],
  );
  assert.deepEqual(
    pictureOf(second, null).demoted,
    p.demoted,
    "recorded, so no previous is needed",
  );
});

test("an older record after a format-2 one is still compared with it", () => {
  const newer = snapshotOf(
    1,
    attrs([["a.ts", "file", "visible", 100, 100]], {
      format: 2,
      archived: {},
      demoted: [],
    }),
  )!;
  const older = snapshotOf(
    2,
    attrs([
      ["a.ts", "file", "archived", 0, 100],
      ["b.ts", "file", "archived", 0, 5],
    ]),
  )!;
  const p = pictureOf(older, newer);
  assert.deepEqual(p.schemes, [
    { scheme: "file", visible: 0, summarized: 0, archived: 105, count: 2 },
  ]);
  assert.deepEqual(
    p.demoted.map((d) => [d.path, d.from, d.to]),
    [["a.ts", "visible", "archived"]],
  );
});
