/** Prints the README's success-rate table: each syntax's corpus cases, and how many behave as expected. */
import { applyEdit, parseEdit } from "../src/index.js";
import { CORPUS } from "../test/corpus.js";

const rows = new Map<string, { total: number; ok: number }>();
for (const c of CORPUS) {
  const row = rows.get(c.syntax) ?? { total: 0, ok: 0 };
  row.total++;
  try {
    const edit = parseEdit(c.body, c.attributes);
    if (edit.syntax !== c.syntax) throw new Error("wrong syntax");
    if (typeof c.expect === "string") {
      if (applyEdit(c.before, edit) === c.expect) row.ok++;
    } else {
      try {
        applyEdit(c.before, edit);
      } catch (error) {
        if (c.expect.error.test((error as Error).message)) row.ok++;
      }
    }
  } catch {
    // Counted as a miss.
  }
  rows.set(c.syntax, row);
}
console.log("| syntax | corpus cases | as expected | success rate |\n|---|---|---|---|");
for (const [syntax, r] of rows)
  console.log(`| ${syntax} | ${r.total} | ${r.ok} | ${((100 * r.ok) / r.total).toFixed(0)}% |`);
