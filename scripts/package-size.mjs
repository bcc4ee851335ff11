#!/usr/bin/env node
// How big a package's source is: lines and code lines (lines holding a token
// that is not a comment) per file, per folder and in all, largest first. The
// figures docs/architecture.md quotes for @rummy/core come from here:
//   node scripts/package-size.mjs packages/core
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";

function sourceFiles(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sourceFiles(full, out);
    else if (/\.ts$/.test(name) && !/\.d\.ts$/.test(name)) out.push(full);
  }
  return out;
}

/** Lines in all, and lines on which some token other than a comment starts or ends. */
export function measure(text) {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const starts = ts.computeLineStarts(text);
  const lineOf = (pos) => ts.computeLineAndCharacterOfPosition(starts, pos).line;
  const code = new Set();
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    // Template literals span lines; every line they cover holds code.
    const first = lineOf(scanner.getTokenStart());
    const last = lineOf(Math.max(scanner.getTokenEnd() - 1, scanner.getTokenStart()));
    for (let line = first; line <= last; line++) code.add(line);
  }
  const lines = text.endsWith("\n") ? starts.length - 1 : starts.length;
  return { lines, code: code.size };
}

function main(packageDir) {
  const src = join(packageDir, "src");
  const rows = sourceFiles(src).map((file) => ({
    file: relative(src, file),
    ...measure(readFileSync(file, "utf8")),
  }));
  const folders = new Map();
  for (const row of rows) {
    const folder = dirname(row.file);
    const sum = folders.get(folder) ?? { lines: 0, code: 0, files: 0 };
    folders.set(folder, {
      lines: sum.lines + row.lines,
      code: sum.code + row.code,
      files: sum.files + 1,
    });
  }
  const pad = (value, width) => String(value).padStart(width);
  console.log(`${src}: files by size (lines, code lines)`);
  for (const row of rows.sort((a, b) => b.lines - a.lines)) {
    console.log(`${pad(row.lines, 6)} ${pad(row.code, 6)}  ${row.file}`);
  }
  console.log("by folder:");
  for (const [folder, sum] of [...folders].sort((a, b) => b[1].lines - a[1].lines)) {
    console.log(`${pad(sum.lines, 6)} ${pad(sum.code, 6)}  ${folder}/ (${sum.files} files)`);
  }
  const total = rows.reduce((t, r) => ({ lines: t.lines + r.lines, code: t.code + r.code }), {
    lines: 0,
    code: 0,
  });
  console.log(`total: ${total.lines} lines, ${total.code} code lines, ${rows.length} files`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node scripts/package-size.mjs <package-dir>");
    process.exit(2);
  }
  main(dir);
}
