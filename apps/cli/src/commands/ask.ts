import { createInterface } from "node:readline";
import {
  type ProposalItem,
  RpcCallError,
  RummyClient,
  type RunProposalParams,
} from "@rummy/client";
import { errorMessage, type PluginDefinition } from "@rummy/core";
import { runCommand, scrubbedEnv } from "@rummy/plugin-yolo";
import { RPC_ERRORS, resolveToken, startServer } from "@rummy/server";
import { boot, refuseBrokenPlugins } from "../distribution.js";
import { CliError, EXIT } from "../errors.js";
import type { Home } from "../home.js";
import { actionLine, RunRenderer } from "../render.js";
import { styleFor } from "../style.js";
import { bindProject, type ProjectDir, projectDir } from "../workdir.js";

export interface PromptOptions {
  readonly mode: "ask" | "act";
  readonly prompt: string;
  readonly model?: string | undefined;
  readonly run?: string | undefined;
  /** Continue the project's most recent run. */
  readonly continueLast?: boolean | undefined;
  readonly project: ProjectDir;
  readonly connect?: string | undefined;
  /** Accept every proposal without asking. */
  readonly yes?: boolean | undefined;
  readonly json?: boolean | undefined;
  readonly showThinking?: boolean | undefined;
  /** Start the embedded server even when a plugin failed to load. */
  readonly allowBrokenPlugins?: boolean | undefined;
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
/** Exit code after Ctrl-C, as shells report SIGINT. */
const INTERRUPTED = 130;

export async function ask(
  home: Home,
  mode: "ask" | "act",
  args: readonly string[],
  values: {
    model?: string;
    run?: string;
    continue?: boolean;
    project?: string;
    connect?: string;
    yes?: boolean;
    json?: boolean;
    "show-thinking"?: boolean;
    "allow-broken-plugins"?: boolean;
  },
): Promise<number> {
  const prompt = args.join(" ").trim();
  if (!prompt)
    throw new CliError(`usage: rummy ${mode} "<prompt>" [--model alias] [--run alias] [--yes]`, {
      exitCode: EXIT.usage,
    });
  if (values.run && values.continue)
    throw new CliError("--run and --continue both name the run; use one", {
      exitCode: EXIT.usage,
    });
  return runPrompt(home, {
    mode,
    prompt,
    model: values.model,
    run: values.run,
    continueLast: values.continue,
    project: projectDir(values.project, home.env),
    connect: values.connect,
    yes: values.yes,
    json: values.json,
    showThinking: values["show-thinking"],
    allowBrokenPlugins: values["allow-broken-plugins"],
  });
}

/** A command accepted here and running on this machine. */
interface LocalCommand {
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * One prompt, start to finish, as a terminal client of the real protocol:
 * against `--connect` or an embedded server on a free loopback port. Shows the
 * model's prose as it streams and one line per action, asks about each
 * proposal, runs accepted commands here, and ends with the answer once and
 * the run's token and cost figures. Ctrl-C cancels the run; twice exits.
 */
export async function runPrompt(home: Home, options: PromptOptions): Promise<number> {
  const model = options.model ?? home.env.RUMMY_MODEL;
  if (!model) {
    throw new CliError("no model to use", {
      exitCode: EXIT.usage,
      hint: "pass --model <alias>, or set RUMMY_MODEL (and RUMMY_MODEL_<alias>=provider/model) in .env; `rummy models list` shows what is configured",
    });
  }
  const style = styleFor(process.stderr, home.env);
  const renderer = new RunRenderer({
    style,
    showThinking: Boolean(options.showThinking),
    quiet: Boolean(options.json),
    tty: Boolean(process.stderr.isTTY),
    write: (text) => process.stderr.write(text),
  });
  let embedded: { close(): Promise<void> } | null = null;
  let url = options.connect;
  if (!url) {
    // `--yes` on the embedded server is the person at this terminal opting in to server-side execution.
    const embeddedHome = options.yes
      ? { ...home, env: { ...home.env, RUMMY_ALLOW_YOLO: "1" } }
      : home;
    const booted = await boot(embeddedHome, {
      quiet: true,
      ...(options.extra ? { extra: options.extra } : {}),
    });
    const { core } = booted;
    const broken = await refuseBrokenPlugins(
      booted,
      options.allowBrokenPlugins,
      "fix the plugin (or its configuration), or pass --allow-broken-plugins to go on without it",
    );
    for (const b of broken) process.stderr.write(`warning: ${b}\n`);
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
    // The token of this RUMMY_HOME: the embedded server's, or a local `rummy serve`'s.
    const { token } = resolveToken(home.path, home.env, { create: !options.connect });
    client = await RummyClient.connect(url, token ? { token } : {});
  } catch (error) {
    await embedded?.close();
    throw new CliError(errorMessage(error), {
      hint: "is the server running? start one with `rummy serve`",
    });
  }
  const answers = lineReader(
    (text) => renderer.prompt(text),
    () => renderer.answered(Boolean(process.stdin.isTTY)),
  );
  const local = new Map<string, LocalCommand>();
  let alias = "";
  let finished = false;
  let interrupted = false;
  /** The user rejected a proposal and chose to stop: the run is cancelled, exit 3. */
  let stoppedByRejection: string | null = null;
  const cancelRun = async (reason: string) => {
    for (const command of local.values()) command.controller.abort(new Error(reason));
    if (!alias || finished) return;
    try {
      await client.call("set", { path: `run://${alias}`, state: "cancelled", outcome: reason });
    } catch {
      // The run ended on its own meanwhile.
    }
  };
  const onInterrupt = () => {
    if (interrupted) process.exit(INTERRUPTED);
    interrupted = true;
    renderer.line(style.yellow("cancelling… (Ctrl-C again to quit at once)"));
    answers.close();
    void cancelRun("cancelled by the user (Ctrl-C)");
  };
  process.on("SIGINT", onInterrupt);
  try {
    await bindProject(client, options.project);
    if (!model.includes("/")) {
      const known = await client.call<{ alias: string }[]>("getModels");
      if (!known.some((m) => m.alias === model)) {
        throw new CliError(`unknown model '${model}'`, {
          exitCode: EXIT.usage,
          hint: `configured: ${known.map((m) => m.alias).join(", ") || "none"}; add one with RUMMY_MODEL_${model}=provider/model`,
        });
      }
    }
    let runName = options.run ?? "";
    if (options.continueLast) {
      const runs = await client.call<{ run: string; created?: string }[]>("getRuns");
      const last = [...runs]
        .sort((a, b) => String(a.created).localeCompare(String(b.created)))
        .at(-1);
      if (!last)
        throw new CliError(`no run to continue in project '${options.project.name}'`, {
          exitCode: EXIT.usage,
          hint: `start one with \`rummy ${options.mode} "…"\``,
        });
      runName = last.run;
    }

    const pendingStates: { run: string; status: number; reason: string | null }[] = [];
    let finish!: (s: { status: number; reason: string | null }) => void;
    const final = new Promise<{ status: number; reason: string | null }>((r) => (finish = r));
    const onState = (s: { run: string; status: number; reason?: string | null }) => {
      if (!alias) return void pendingStates.push({ ...s, reason: s.reason ?? null });
      if (s.run === alias && TERMINAL.has(s.status))
        finish({ status: s.status, reason: s.reason ?? null });
    };
    client.on("run/state", onState);

    // The model's text arrives on run/progress (content) and ui/render (text); both carry the same
    // characters, so each turn shows the longer of the two and nothing twice.
    const received = new Map<string, string>();
    let shownTurn = 0;
    let shownLength = 0;
    const onText = (source: string, turn: number, chunk: string) => {
      const key = `${source}:${turn}`;
      const text = (received.get(key) ?? "") + chunk;
      received.set(key, text);
      if (turn !== shownTurn) {
        shownTurn = turn;
        shownLength = 0;
      }
      if (text.length > shownLength) {
        renderer.text(turn, text.slice(shownLength));
        shownLength = text.length;
      }
    };
    client.on(
      "run/progress",
      (p: {
        run: string;
        turn: number;
        content?: string;
        reasoning?: string;
        status?: string;
        phase?: string;
      }) => {
        if (p.run !== alias) return;
        if (typeof p.content === "string" && p.content) onText("progress", p.turn, p.content);
        if (typeof p.reasoning === "string" && p.reasoning) renderer.reasoning(p.turn, p.reasoning);
        renderer.status(p.turn, p.status ?? p.phase);
      },
    );
    client.on("ui/render", (p: { run?: string; turn?: number; text?: string }) => {
      if ((p.run !== undefined && p.run !== alias) || typeof p.text !== "string") return;
      onText("render", p.turn ?? shownTurn, p.text);
    });
    client.on("stream/cancelled", (p: { run: string; path: string; reason?: string | null }) => {
      if (p.run === alias)
        local.get(p.path)?.controller.abort(new Error(p.reason ?? "cancelled by the server"));
    });

    // Proposals are handled one at a time, in arrival order.
    let queue = Promise.resolve();
    client.on("run/proposal", (p: RunProposalParams) => {
      if (p.run !== alias) return;
      queue = queue.then(async () => {
        for (const proposal of p.proposed.map(decodeProposal)) {
          if (finished || interrupted || stoppedByRejection) return;
          await decide(proposal);
        }
      });
    });
    const decide = async (proposal: Proposal) => {
      renderer.proposalHeader(
        actionLine(proposal.action, proposal.attributes, proposal.body) ??
          `• ${proposal.action} ${proposal.path}`,
      );
      const detail = describe(proposal, style);
      if (detail) renderer.line(detail);
      const auto = options.yes || options.showAndAccept;
      let decision: "accept" | "reason" | "stop";
      let reason: string | undefined;
      let answer: string | undefined;
      if (auto) {
        renderer.line(style.green("  accepted"));
        decision = "accept";
      } else if (proposal.action === "ask_user") {
        // A question is answered, not allowed: the answer goes back to the model; none stops the run.
        answer = ((await answers.line("  your answer (Enter alone stops the run): ")) ?? "").trim();
        decision = answer ? "accept" : "stop";
      } else {
        const answer = (
          (await answers.line(
            "  allow? [y]es, [n]o and stop, [r]eject and tell the model why: ",
          )) ?? ""
        ).trim();
        if (/^y(es)?$/i.test(answer)) decision = "accept";
        else if (/^r(eject)?\b/i.test(answer)) {
          decision = "reason";
          reason =
            answer.replace(/^r(eject)?\b\s*/i, "") ||
            ((await answers.line("  why? ")) ?? "").trim();
          if (!reason) reason = "the user rejected it";
        } else decision = "stop";
      }
      if (finished || interrupted) return;
      if (decision === "stop") {
        // Cancelling the run withdraws the proposal (rejected, with this reason) before any next turn.
        stoppedByRejection = proposal.action;
        await cancelRun(`stopped: the user rejected <${proposal.action}>`);
        return;
      }
      try {
        await client.call("set", {
          run: alias,
          path: proposal.path,
          state: decision === "accept" ? "resolved" : "cancelled",
          ...(answer !== undefined ? { body: answer } : {}),
          ...(decision === "reason" ? { body: reason } : {}),
        });
      } catch (error) {
        // Cancelled or finished meanwhile: the proposal is no longer pending.
        if (finished || interrupted) return;
        throw error;
      }
      // An accepted command runs here, on the client, and streams back (under --yes the server runs it).
      const runsHere = !options.yes && (!options.showAndAccept || options.runAccepted);
      if (decision === "accept" && runsHere && SHELL_ACTIONS.has(proposal.action))
        startLocal(proposal);
    };
    const startLocal = (proposal: Proposal) => {
      const controller = new AbortController();
      const done = runLocally(
        client,
        alias,
        proposal,
        options.project.root,
        controller.signal,
        renderer,
      )
        .catch((error: unknown) => renderer.line(style.red(`error: ${errorMessage(error)}`)))
        .finally(() => local.delete(proposal.path));
      local.set(proposal.path, { controller, done });
    };

    const started = await client.call<{ alias: string }>("set", {
      path: `run://${runName}`,
      body: options.prompt,
      attributes: { model, mode: options.mode, ...(options.yes ? { yolo: true } : {}) },
    });
    alias = started.alias;
    if (interrupted) void cancelRun("cancelled by the user (Ctrl-C)");
    for (const s of pendingStates.splice(0)) onState(s);
    const result = await final;
    finished = true;
    answers.close();
    await queue;
    // Commands the model left running (a dev server) stop with this client.
    for (const command of local.values()) command.controller.abort(new Error("the run ended"));
    await Promise.all([...local.values()].map((c) => c.done));
    renderer.finish();
    const detail = await client.call<{
      context: { telemetry: { prompt_tokens: number; completion_tokens: number; cost: number } };
      turn: number;
    }>("getRun", { run: alias });
    const t = detail.context.telemetry;
    const cancelled = result.status === 499;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ run: alias, status: result.status, answer: result.reason, turns: detail.turn, telemetry: t, ...(stoppedByRejection ? { rejected: stoppedByRejection } : {}) })}\n`,
      );
    } else {
      const continueHint = `rummy ${options.mode} --run ${alias} "…"`;
      if (cancelled && stoppedByRejection)
        process.stderr.write(
          `${style.yellow(`stopped: you rejected <${stoppedByRejection}>`)}; continue with: ${continueHint}\n`,
        );
      else if (cancelled && interrupted)
        process.stderr.write(`${style.yellow("cancelled")}; continue with: ${continueHint}\n`);
      else if (cancelled || result.status >= 500 || result.status === 413)
        process.stderr.write(
          `${style.red("error:")} ${result.reason ?? `the run ended with status ${result.status}`}\n`,
        );
      else process.stdout.write(`${result.reason ?? "(no answer)"}\n`);
      process.stdout.write(
        `\n[run ${alias}: status ${result.status}, ${detail.turn} turn(s), ${t.prompt_tokens} tokens in, ${t.completion_tokens} out${t.cost ? `, $${t.cost.toFixed(4)}` : ""}]\n`,
      );
    }
    if (result.status === 200 || result.status === 204) return EXIT.ok;
    if (result.status === 422 || (cancelled && stoppedByRejection)) return EXIT.refused;
    if (cancelled && interrupted) return INTERRUPTED;
    return EXIT.failure;
  } catch (error) {
    if (error instanceof RpcCallError && error.code === RPC_ERRORS.unauthorized)
      throw new CliError(`the server refused the token: ${error.message}`, {
        hint: "the CLI reads RUMMY_HOME/token (or RUMMY_TOKEN); use the server's RUMMY_HOME, or `rummy token` on its machine",
      });
    if (error instanceof RpcCallError) throw new CliError(error.message);
    throw error;
  } finally {
    process.off("SIGINT", onInterrupt);
    answers.close();
    for (const command of local.values()) command.controller.abort(new Error("the client exited"));
    await client.close();
    await embedded?.close();
  }
}

/** Runs an accepted command in the project folder, showing and streaming its output to the run. */
async function runLocally(
  client: RummyClient,
  run: string,
  proposal: Proposal,
  cwd: string,
  signal: AbortSignal,
  renderer: RunRenderer,
): Promise<void> {
  const command = String(proposal.attributes.command ?? proposal.body);
  const sends: Promise<unknown>[] = [];
  const result = await runCommand({
    command,
    cwd,
    env: scrubbedEnv(process.env),
    timeoutMs: 24 * 60 * 60_000,
    maxOutput: 10_000_000,
    signal,
    onOutput: (chunks) => {
      for (const [channel, chunk] of chunks) {
        renderer.commandOutput(proposal.path, chunk);
        sends.push(client.call("stream", { run, path: proposal.path, channel, chunk }));
      }
    },
  });
  await Promise.allSettled(sends);
  const duration = `${(result.durationMs / 1000).toFixed(1)}s`;
  if (result.cancelled) {
    renderer.commandDone(proposal.path, `stopped after ${duration}`);
    const reason = signal.reason instanceof Error ? signal.reason.message : "aborted";
    await client
      .call("stream/aborted", { run, path: proposal.path, reason, duration })
      .catch(() => {});
    return;
  }
  renderer.commandDone(proposal.path, `exit ${result.exitCode ?? "?"} · ${duration}`);
  await client.call("stream/completed", {
    run,
    path: proposal.path,
    exit_code: result.exitCode ?? 128,
    duration,
  });
}

/** What a proposal needs shown beyond its action line: a diff, a question, a preview. */
function describe(p: Proposal, style: ReturnType<typeof styleFor>): string {
  if (typeof p.attributes.patch === "string")
    return p.attributes.patch
      .replace(/\n$/, "")
      .split("\n")
      .map((line) =>
        line.startsWith("+") && !line.startsWith("+++")
          ? style.green(line)
          : line.startsWith("-") && !line.startsWith("---")
            ? style.red(line)
            : line,
      )
      .join("\n");
  if (SHELL_ACTIONS.has(p.action) || p.action === "ask_user") return "";
  return p.body.trim() ? style.dim(p.body.trim()) : "";
}

/** Reads answers line by line from stdin (a terminal or a pipe); end of input (or close) means null. */
function lineReader(write: (text: string) => void, answered: () => void) {
  let rl: ReturnType<typeof createInterface> | null = null;
  const lines: string[] = [];
  const waiters: ((line: string | null) => void)[] = [];
  let ended = false;
  const ensure = () => {
    if (rl || ended) return;
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
  return {
    line: async (question: string): Promise<string | null> => {
      ensure();
      write(question);
      const line = lines.length
        ? lines.shift()!
        : ended
          ? null
          : await new Promise<string | null>((resolve) => waiters.push(resolve));
      answered();
      return line;
    },
    close: () => {
      ended = true;
      for (const w of waiters.splice(0)) w(null);
      rl?.close();
    },
  };
}
