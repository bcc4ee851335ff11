import { basename } from "node:path";
import { createInterface } from "node:readline";
import {
  type ProposalItem,
  RpcCallError,
  RummyClient,
  type RunProposalParams,
} from "@rummy/client";
import { errorMessage, type PluginDefinition } from "@rummy/core";
import { runCommand, scrubbedEnv } from "@rummy/plugin-yolo";
import { startServer } from "@rummy/server";
import { boot } from "../distribution.js";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";

export interface PromptOptions {
  readonly mode: "ask" | "act";
  readonly prompt: string;
  readonly model?: string | undefined;
  readonly run?: string | undefined;
  readonly project?: string | undefined;
  readonly connect?: string | undefined;
  /** Accept every proposal without asking. */
  readonly yes?: boolean | undefined;
  readonly json?: boolean | undefined;
  /** Extra plugins for the embedded server (the demo's scripted model). */
  readonly extra?: readonly PluginDefinition[];
  /** Print proposals but accept them (the demo). */
  readonly showAndAccept?: boolean;
  /** With showAndAccept: still run accepted commands here (as a person's acceptance would). */
  readonly runAccepted?: boolean;
}

/** A `run/proposal` item with its attributes decoded (the wire sends them as a JSON string). */
interface Proposal {
  readonly path: string;
  readonly action: string;
  readonly attributes: Record<string, unknown>;
  readonly body: string;
}

function decodeProposal(item: ProposalItem): Proposal {
  let attributes: Record<string, unknown> = {};
  try {
    attributes = JSON.parse(item.attributes) as Record<string, unknown>;
  } catch {
    // The schema promises a JSON object; a server that breaks it still gets its proposal shown.
  }
  const action = item.action ?? String(attributes.action ?? "");
  return { path: item.path, action, attributes, body: item.body };
}

const TERMINAL = new Set([200, 204, 413, 422, 499, 500]);
const SHELL_ACTIONS = new Set(["sh", "env"]);

/** Runs an accepted command in this folder, echoing and streaming its output to the run. */
async function runLocally(client: RummyClient, run: string, proposal: Proposal): Promise<void> {
  const command = String(proposal.attributes.command ?? proposal.body);
  const sends: Promise<unknown>[] = [];
  const result = await runCommand({
    command,
    cwd: process.cwd(),
    env: scrubbedEnv(process.env),
    timeoutMs: 10 * 60_000,
    maxOutput: 10_000_000,
    onOutput: (chunks) => {
      for (const [channel, chunk] of chunks) {
        (channel === 1 ? process.stdout : process.stderr).write(chunk);
        sends.push(client.call("stream", { run, path: proposal.path, channel, chunk }));
      }
    },
  });
  await Promise.all(sends);
  await client.call("stream/completed", {
    run,
    path: proposal.path,
    exit_code: result.exitCode ?? 128,
    duration: `${(result.durationMs / 1000).toFixed(1)}s`,
  });
}

export async function ask(
  home: Home,
  mode: "ask" | "act",
  args: readonly string[],
  values: {
    model?: string;
    run?: string;
    project?: string;
    connect?: string;
    yes?: boolean;
    json?: boolean;
  },
): Promise<number> {
  const prompt = args.join(" ").trim();
  if (!prompt)
    throw new CliError(`usage: rummy ${mode} "<prompt>" [--model alias] [--yes]`, {
      exitCode: EXIT.usage,
    });
  return runPrompt(home, {
    mode,
    prompt,
    model: values.model,
    run: values.run,
    project: values.project,
    connect: values.connect,
    yes: values.yes,
    json: values.json,
  });
}

/**
 * One prompt, start to finish, as a terminal client of the real protocol:
 * against `--connect` or an embedded server on a free loopback port. Shows the
 * model's text as it streams, asks about each proposal, and ends with the
 * answer and the run's token and cost figures.
 */
export async function runPrompt(home: Home, options: PromptOptions): Promise<number> {
  const model = options.model ?? home.env.RUMMY_MODEL;
  if (!model) {
    throw new CliError("no model to use", {
      exitCode: EXIT.usage,
      hint: "pass --model <alias>, or set RUMMY_MODEL (and RUMMY_MODEL_<alias>=provider/model) in .env; `rummy models list` shows what is configured",
    });
  }
  let embedded: { close(): Promise<void> } | null = null;
  let url = options.connect;
  if (!url) {
    const { core, report } = await boot(home, {
      quiet: true,
      ...(options.extra ? { extra: options.extra } : {}),
    });
    for (const f of report.failed)
      process.stderr.write(`warning: plugin ${f.name} failed to load: ${f.error}\n`);
    const server = await startServer({ core, host: "127.0.0.1", port: 0 });
    url = server.url;
    embedded = {
      close: async () => {
        await server.close();
        await core.close();
      },
    };
  }
  let client: RummyClient;
  try {
    client = await RummyClient.connect(
      url,
      home.env.RUMMY_TOKEN ? { token: home.env.RUMMY_TOKEN } : {},
    );
  } catch (error) {
    await embedded?.close();
    throw new CliError(errorMessage(error), {
      hint: "is the server running? start one with `rummy serve`",
    });
  }
  const answers = lineReader();
  try {
    await client.hello(options.project ?? basename(process.cwd()), process.cwd());
    if (!model.includes("/")) {
      const known = await client.call<{ alias: string }[]>("getModels");
      if (!known.some((m) => m.alias === model)) {
        throw new CliError(`unknown model '${model}'`, {
          exitCode: EXIT.usage,
          hint: `configured: ${known.map((m) => m.alias).join(", ") || "none"}; add one with RUMMY_MODEL_${model}=provider/model`,
        });
      }
    }
    let alias = options.run ?? "";
    let rejected = 0;
    let streaming = false;
    const pendingStates: { run: string; status: number; reason: string | null }[] = [];
    let finish!: (s: { status: number; reason: string | null }) => void;
    const finished = new Promise<{ status: number; reason: string | null }>((r) => (finish = r));
    const onState = (s: { run: string; status: number; reason: string | null }) => {
      if (!alias) return void pendingStates.push(s);
      if (s.run === alias && TERMINAL.has(s.status)) finish(s);
    };
    client.on("run/state", onState);
    let shownTurn = 0;
    client.on("run/progress", (p: { run: string; turn: number; content?: string }) => {
      if (p.run !== alias || !p.content || options.json) return;
      if (p.turn !== shownTurn) {
        process.stderr.write(`${streaming ? "\n" : ""}[turn ${p.turn}]\n`);
        shownTurn = p.turn;
      }
      streaming = true;
      process.stderr.write(p.content);
    });
    // Proposals are handled one at a time, in arrival order.
    let queue = Promise.resolve();
    client.on("run/proposal", (p: RunProposalParams) => {
      if (p.run !== alias) return;
      queue = queue.then(async () => {
        for (const proposal of p.proposed.map(decodeProposal)) {
          if (streaming) process.stderr.write("\n");
          streaming = false;
          process.stdout.write(describe(proposal));
          const accept =
            options.yes || options.showAndAccept ? true : await answers.confirm("accept? [y/N] ");
          if (options.yes || options.showAndAccept) process.stdout.write("accepted\n");
          const answer =
            accept && proposal.action === "ask_user" && !options.yes && !options.showAndAccept
              ? await answers.line("answer: ")
              : undefined;
          if (!accept) rejected++;
          await client.call("set", {
            run: alias,
            path: proposal.path,
            state: accept ? "resolved" : "cancelled",
            ...(answer !== undefined ? { body: answer } : {}),
          });
          // An accepted command runs here, on the client, and streams back (under --yes the server runs it).
          const runsHere = !options.yes && (!options.showAndAccept || options.runAccepted);
          if (accept && runsHere && SHELL_ACTIONS.has(proposal.action))
            await runLocally(client, alias, proposal);
        }
      });
    });
    const started = await client.call<{ alias: string }>("set", {
      path: `run://${options.run ?? ""}`,
      body: options.prompt,
      attributes: { model, mode: options.mode, ...(options.yes ? { yolo: true } : {}) },
    });
    alias = started.alias;
    for (const s of pendingStates.splice(0)) onState(s);
    const final = await finished;
    await queue;
    if (streaming) process.stderr.write("\n");
    const detail = await client.call<{
      context: { telemetry: { prompt_tokens: number; completion_tokens: number; cost: number } };
      turn: number;
    }>("getRun", { run: alias });
    const t = detail.context.telemetry;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ run: alias, status: final.status, answer: final.reason, turns: detail.turn, telemetry: t })}\n`,
      );
    } else {
      process.stdout.write(`\n${final.reason ?? "(no answer)"}\n`);
      process.stdout.write(
        `\n[run ${alias}: status ${final.status}, ${detail.turn} turn(s), ${t.prompt_tokens} tokens in, ${t.completion_tokens} out${t.cost ? `, $${t.cost.toFixed(4)}` : ""}]\n`,
      );
    }
    if (final.status === 200 || final.status === 204) return EXIT.ok;
    if (final.status === 422 || (final.status === 499 && rejected > 0)) return EXIT.refused;
    return EXIT.failure;
  } catch (error) {
    if (error instanceof RpcCallError) throw new CliError(error.message);
    throw error;
  } finally {
    answers.close();
    await client.close();
    await embedded?.close();
  }
}

/** A proposal as a person reads it: what, where, and the command, diff or question. */
function describe(p: Proposal): string {
  const target = typeof p.attributes.path === "string" ? ` ${p.attributes.path}` : "";
  const detail =
    typeof p.attributes.patch === "string"
      ? p.attributes.patch
      : typeof p.attributes.command === "string"
        ? `$ ${p.attributes.command}`
        : typeof p.attributes.question === "string"
          ? p.attributes.question
          : p.body;
  return `\n── proposal: ${p.action}${target}\n${detail}\n`;
}

/** Reads answers line by line from stdin (a terminal or a pipe); end of input means "no". */
function lineReader() {
  let rl: ReturnType<typeof createInterface> | null = null;
  const lines: string[] = [];
  const waiters: ((line: string | null) => void)[] = [];
  let ended = false;
  const ensure = () => {
    if (rl) return;
    rl = createInterface({ input: process.stdin, terminal: false });
    rl.on("line", (line) => {
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    });
    rl.on("close", () => {
      ended = true;
      for (const w of waiters.splice(0)) w(null);
    });
  };
  const next = (question: string): Promise<string | null> => {
    ensure();
    process.stdout.write(question);
    if (lines.length) return Promise.resolve(lines.shift()!);
    if (ended) return Promise.resolve(null);
    return new Promise((resolve) => waiters.push(resolve));
  };
  return {
    confirm: async (question: string) => /^y(es)?$/i.test((await next(question))?.trim() ?? ""),
    line: async (question: string) => (await next(question)) ?? "",
    close: () => rl?.close(),
  };
}
