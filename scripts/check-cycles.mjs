#!/usr/bin/env node
// Import cycles between source files, type-only ones included: a file that
// cannot be read without the one that reads it is two ideas in one. Builds
// the file-level graph of relative imports (`import`, `import type`,
// `export … from`, `import()`, `import("…").T`, `import x = require()`) in
// every package's and app's src/ — or in the directories given as arguments —
// prints each cycle as a file chain, and exits 1 if there is one.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const SOURCE = /\.(?:[cm]?ts|tsx|[cm]?js|jsx)$/;
const DECLARATION = /\.d\.[cm]?ts$/;

/** The src/ folders of every package and app under `root`. */
export function workspaceSources(root) {
  const dirs = [];
  for (const top of ["packages", "apps"]) {
    const base = join(root, top);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const src = join(base, name, "src");
      if (existsSync(src) && statSync(src).isDirectory()) dirs.push(src);
    }
  }
  return dirs;
}

function sourceFiles(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sourceFiles(full, out);
    else if (SOURCE.test(name) && !DECLARATION.test(name)) out.push(full);
  }
  return out;
}

/** Every module specifier a file names, however it names it (types and dynamic imports too). */
export function specifiersOf(path, text) {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const literal = (node) => {
    if (node && ts.isStringLiteralLike(node)) found.push(node.text);
  };
  const visit = (node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) literal(node.moduleSpecifier);
    else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference)
    )
      literal(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      literal(node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      literal(node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The file a relative specifier means, as TypeScript's NodeNext resolution finds it; null when none. */
function resolveRelative(from, specifier, known) {
  const base = resolve(dirname(from), specifier);
  const stem = base.replace(/\.(?:[cm]?js|jsx)$/, "");
  const candidates = [
    base,
    `${stem}.ts`,
    `${stem}.tsx`,
    `${stem}.mts`,
    `${stem}.cts`,
    `${base}.ts`,
    `${base}.tsx`,
    join(base, "index.ts"),
    join(base, "index.tsx"),
    join(base, "index.js"),
  ];
  return candidates.find((c) => known.has(c)) ?? null;
}

/** path → the files it imports (relative imports that land on a scanned source file). */
export function importGraph(dirs) {
  const files = dirs.flatMap((d) => sourceFiles(resolve(d)));
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const targets = new Set();
    for (const spec of specifiersOf(file, readFileSync(file, "utf8"))) {
      if (!spec.startsWith(".")) continue;
      const target = resolveRelative(file, spec, known);
      if (target) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Strongly connected components with a cycle in them (Tarjan's algorithm, iterative). */
function cyclicComponents(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const out = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work = [[start, 0]];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      const [node, i] = frame;
      const next = graph.get(node)[i];
      if (next !== undefined) {
        frame[1]++;
        if (!index.has(next)) {
          index.set(next, counter);
          low.set(next, counter++);
          stack.push(next);
          onStack.add(next);
          work.push([next, 0]);
        } else if (onStack.has(next)) low.set(node, Math.min(low.get(node), index.get(next)));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const component = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          component.push(member);
        } while (member !== node);
        if (component.length > 1 || graph.get(node).includes(node)) out.push(component.sort());
      }
    }
  }
  return out;
}

/** The shortest chain from `start` back to itself inside one component (breadth-first). */
function shortestCycle(graph, members, start) {
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const node = queue.shift();
    for (const next of graph.get(node)) {
      if (!members.has(next)) continue;
      if (next === start) {
        const chain = [start];
        for (let at = node; at !== start; at = previous.get(at)) chain.splice(1, 0, at);
        chain.push(start);
        return chain;
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  return null;
}

/**
 * The cycles in `graph`: for each tangle of files, the shortest cycle through
 * each of its files, without repeats — every file in a cycle appears in at
 * least one chain. Each chain starts and ends at the same file.
 */
export function findCycles(graph) {
  const cycles = [];
  for (const component of cyclicComponents(graph)) {
    const members = new Set(component);
    const seen = new Set();
    for (const file of component) {
      const chain = shortestCycle(graph, members, file);
      if (!chain) continue;
      const ring = chain.slice(0, -1);
      const first = ring.indexOf([...ring].sort()[0]);
      const canonical = [...ring.slice(first), ...ring.slice(0, first)];
      const key = canonical.join("\0");
      if (seen.has(key)) continue;
      seen.add(key);
      cycles.push([...canonical, canonical[0]]);
    }
  }
  return cycles.sort((a, b) => a.join("\0").localeCompare(b.join("\0")));
}

function main(argv) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const dirs = argv.length ? argv.map((d) => resolve(d)) : workspaceSources(root);
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      process.stderr.write(`check-cycles: ${dir} is not a directory\n`);
      return 2;
    }
  }
  const graph = importGraph(dirs);
  const cycles = findCycles(graph);
  const here = process.cwd();
  const show = (file) => relative(here, file) || file;
  if (!cycles.length) {
    process.stdout.write(`check-cycles: no import cycles among ${graph.size} files\n`);
    return 0;
  }
  process.stdout.write(
    `check-cycles: ${cycles.length} import cycle(s) among ${graph.size} files\n`,
  );
  for (const chain of cycles) process.stdout.write(`  ${chain.map(show).join(" → ")}\n`);
  return 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  process.exitCode = main(process.argv.slice(2));
