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
