#!/usr/bin/env node
import { parseArgs } from "node:util";
import { checkConfiguration } from "./config.js";
import { CliError, EXIT } from "./errors.js";
import { COMMAND_HELP, type HelpTopic, USAGE } from "./help.js";
import { openHome } from "./home.js";
import { closest } from "./suggest.js";

// `rummy … | head`: a reader that goes away ends us quietly, with success.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(EXIT.ok);
    throw error;
  });
}

const COMMANDS = [
  "serve",
  "ask",
  "act",
  "demo",
  "acp",
  "plugins",
  "models",
  "runs",
  "doctor",
  "token",
  "web",
  "help",
] as const;
type Command = (typeof COMMANDS)[number];

export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseOptions(argv);
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
    // `rummy ask --help` and `rummy help ask`: that command's usage; bare `--help`: every command's.
    const named = first === "help" ? rest[0] : positionals[0];
    const topic = named === "help" ? undefined : named;
    if (topic !== undefined && !Object.hasOwn(COMMAND_HELP, topic)) throw unknownCommand(topic);
    process.stdout.write(topic === undefined ? USAGE : COMMAND_HELP[topic as HelpTopic]);
    return EXIT.ok;
  }
  if (!COMMANDS.includes(first as Command)) throw unknownCommand(first);
  const shellEnv: Record<string, string | undefined> = { ...process.env };
  if (values.port) shellEnv.RUMMY_PORT = values.port;
  if (values.host) shellEnv.RUMMY_HOST = values.host;
  const home = openHome(shellEnv);
  // Every command refuses a bad environment up front, one line per bad key, before any plugin
  // loads (config.ts lists what is checked); `doctor` too, whose config line is the same check.
  checkConfiguration(home.env);
  switch (first as Command) {
    case "serve":
      return (await import("./commands/serve.js")).serve(home, {
        allowBrokenPlugins: Boolean(values["allow-broken-plugins"]),
      });
    case "ask":
    case "act":
      return (await import("./commands/ask.js")).ask(home, first as "ask" | "act", rest, values);
    case "demo":
      return (await import("./commands/demo.js")).demo(home, values);
    case "acp":
      return (await import("./commands/acp.js")).acp(home, values);
    case "plugins":
      return (await import("./commands/plugins.js")).plugins(home, rest, values);
    case "models":
      return (await import("./commands/models.js")).models(home, rest, values);
    case "runs":
      return (await import("./commands/runs.js")).runs(home, rest, values);
    case "doctor":
      return (await import("./commands/doctor.js")).doctor(home);
    case "token":
      return (await import("./commands/token.js")).token(
        home,
        values.rotate ? ["--rotate", ...rest] : rest,
      );
    case "web":
      return (await import("./commands/web.js")).web(home, values);
    default:
      throw new CliError(`unknown command '${first}'`, { exitCode: EXIT.usage });
  }
}

function unknownCommand(name: string): CliError {
  const guess = closest(name, COMMANDS);
  return new CliError(`unknown command '${name}'${guess ? ` — did you mean '${guess}'?` : ""}`, {
    exitCode: EXIT.usage,
    hint: "run `rummy --help` for the commands",
  });
}

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  model: { type: "string" },
  run: { type: "string" },
  continue: { type: "boolean" },
  project: { type: "string" },
  connect: { type: "string" },
  yes: { type: "boolean", short: "y" },
  json: { type: "boolean" },
  "show-thinking": { type: "boolean" },
  entries: { type: "boolean" },
  "allow-broken-plugins": { type: "boolean" },
  context: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  rotate: { type: "boolean" },
  open: { type: "boolean" },
} as const;

/** The command line, with our own words for a flag we do not know or one missing its value. */
function parseOptions(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    const err = error as { code?: string; message?: string };
    if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const flag = /'([^']+)'/.exec(err.message ?? "")?.[1] ?? "";
      const name = flag.replace(/^-+/, "").split("=")[0]!;
      const guess = closest(name, Object.keys(OPTIONS));
      throw new CliError(
        `unknown option '${flag}'${guess ? ` — did you mean '--${guess}'?` : ""}`,
        {
          exitCode: EXIT.usage,
          hint: "run `rummy --help` for the options",
        },
      );
    }
    if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const flag = (/'([^']+)'/.exec(err.message ?? "")?.[1] ?? "the option").split(" ")[0];
      const missing = /argument missing/.test(err.message ?? "");
      throw new CliError(`option '${flag}' ${missing ? "needs a value" : "takes no value"}`, {
        exitCode: EXIT.usage,
        hint: "run `rummy --help` for the options",
      });
    }
    throw error;
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
