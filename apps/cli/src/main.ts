#!/usr/bin/env node
import { parseArgs } from "node:util";
import { CliError, EXIT } from "./errors.js";
import { openHome } from "./home.js";

const USAGE = `rummy — an LLM agent service

usage:
  rummy [serve]                         start the server with the default plugins
  rummy ask "<prompt>" [options]        ask a question (read-only run)
  rummy act "<prompt>" [options]        ask for changes (proposals need your approval)
  rummy demo                            a complete run against a scripted model, no API key needed
  rummy plugins list|add <package>|remove <package>
  rummy models list|add <alias> <provider/model> [--context N]|remove <alias>
  rummy runs list|show <alias>
  rummy doctor                          check configuration, providers and the database

options for ask/act:
  --model <alias>      model alias (default: RUMMY_MODEL)
  --run <alias>        name the run (continue it if it exists)
  --project <name>     project name (default: this folder's name); the project root is this folder
  --connect <ws-url>   use a running server instead of an embedded one
  --yes                accept every proposal (yolo)
  --json               print the final result as JSON

environment: RUMMY_HOME (default ~/.rummy) holds the database, .env, plugins, skills and personas.
`;

const COMMANDS = [
  "serve",
  "ask",
  "act",
  "demo",
  "plugins",
  "models",
  "runs",
  "doctor",
  "help",
] as const;
type Command = (typeof COMMANDS)[number];

export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
      model: { type: "string" },
      run: { type: "string" },
      project: { type: "string" },
      connect: { type: "string" },
      yes: { type: "boolean", short: "y" },
      json: { type: "boolean" },
      context: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
    },
  });
  if (values.version) {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  const [first = "serve", ...rest] = positionals;
  if (values.help || first === "help") {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (!COMMANDS.includes(first as Command)) {
    throw new CliError(`unknown command '${first}'`, {
      exitCode: EXIT.usage,
      hint: "run `rummy --help` for the commands",
    });
  }
  const shellEnv: Record<string, string | undefined> = { ...process.env };
  if (values.port) shellEnv.RUMMY_PORT = values.port;
  if (values.host) shellEnv.RUMMY_HOST = values.host;
  const home = openHome(shellEnv);
  switch (first as Command) {
    case "serve":
      return (await import("./commands/serve.js")).serve(home);
    case "ask":
    case "act":
      return (await import("./commands/ask.js")).ask(home, first as "ask" | "act", rest, values);
    case "demo":
      return (await import("./commands/demo.js")).demo(home, values);
    case "plugins":
      return (await import("./commands/plugins.js")).plugins(home, rest);
    case "models":
      return (await import("./commands/models.js")).models(home, rest, values);
    case "runs":
      return (await import("./commands/runs.js")).runs(home, rest, values);
    case "doctor":
      return (await import("./commands/doctor.js")).doctor(home);
    default:
      throw new CliError(`unknown command '${first}'`, { exitCode: EXIT.usage });
  }
}

function report(error: unknown): number {
  if (error instanceof CliError) {
    process.stderr.write(`rummy: ${error.message}\n`);
    if (error.hint) process.stderr.write(`  ${error.hint}\n`);
    return error.exitCode;
  }
  const err = error as { code?: string; message?: string };
  if (err?.code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`rummy: ${err.message}\n  run \`rummy --help\` for usage\n`);
    return EXIT.usage;
  }
  process.stderr.write(`rummy: ${err?.message ?? String(error)}\n`);
  return EXIT.failure;
}

main(process.argv.slice(2)).then(
  (code) => {
    // serve keeps the process alive through its server; others end here.
    if (code !== -1) process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);
