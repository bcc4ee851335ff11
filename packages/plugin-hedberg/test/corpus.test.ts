import assert from "node:assert/strict";
import { test } from "node:test";
import { applyEdit, parseEdit } from "../src/index.js";
import { CORPUS } from "./corpus.js";

for (const c of CORPUS) {
  test(`${c.syntax}: ${c.name}`, () => {
    const edit = parseEdit(c.body, c.attributes);
    assert.equal(edit.syntax, c.syntax, "recognized as the right syntax");
    if (typeof c.expect === "string") assert.equal(applyEdit(c.before, edit), c.expect);
    else assert.throws(() => applyEdit(c.before, edit), c.expect.error);
  });
}
