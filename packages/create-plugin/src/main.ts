#!/usr/bin/env node
import { parseArgs } from "node:util";
import { scaffold } from "./index.js";

const USAGE = `npm init @rummy/plugin <package-name> [--dir <folder>] [--tag <tag>]

Scaffolds a rummy plugin package: TypeScript, the conformance tests, a README
with the standard sections, a changeset, a peer dependency on @rummy/core.

  <package-name>   e.g. @acme/rummy-plugin-hello
  --dir <folder>   where to write it (default: the name without its scope)
  --tag <tag>      the tag it registers (default: the name without scope and rummy-plugin-)
`;

function main(argv: string[]): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`create-plugin: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [packageName] = positionals;
  if (!packageName || positionals.length > 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const made = scaffold({
      packageName,
      ...(values.dir ? { dir: values.dir } : {}),
      ...(values.tag ? { tag: values.tag } : {}),
    });
    process.stdout.write(
      `created ${made.packageName} in ${made.dir} (tag <${made.tag}>)\n\nnext:\n  cd ${made.dir}\n  npm install\n  npm test\n  npm publish\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`create-plugin: ${(error as Error).message}\n`);
    return 1;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      dir: { type: "string" },
      tag: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

process.exitCode = main(process.argv.slice(2));
