import type { Style } from "./style.js";

/** A piece of the model's streamed reply: prose between tags, or one whole tag. */
export type ModelPiece =
  | { readonly kind: "prose"; readonly text: string }
  | {
      readonly kind: "tag";
      readonly name: string;
      readonly attributes: Readonly<Record<string, string>>;
      readonly body: string;
    };

const OPEN_TAG =
  /^<([a-z_][\w-]*)((?:\s+[\w-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>/]+))?)*)\s*(\/?)>/i;
const MAYBE_TAG = /^<\/?(?:[a-z_][\w-]*(?:\s[^>]*)?)?$/i;
const ATTRIBUTE = /([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>/]+)))?/g;

/**
 * Splits the model's reply, as it streams, into prose and whole tags, so the
 * terminal shows what the model says and one line per action instead of raw
 * XML. Text that only looks like a tag (`a < b`) stays prose.
 */
export class ModelTextSplitter {
  #buffer = "";

  push(chunk: string): ModelPiece[] {
    this.#buffer += chunk;
    const out: ModelPiece[] = [];
    for (;;) {
      const lt = this.#buffer.indexOf("<");
      if (lt === -1) {
        this.#prose(out, this.#buffer);
        this.#buffer = "";
        return out;
      }
      if (lt > 0) {
        this.#prose(out, this.#buffer.slice(0, lt));
        this.#buffer = this.#buffer.slice(lt);
      }
      const rest = this.#buffer;
      const close = /^<\/[\w-]+\s*>/.exec(rest);
      if (close) {
        // A stray closing tag says nothing to a reader.
        this.#buffer = rest.slice(close[0].length);
        continue;
      }
      const open = OPEN_TAG.exec(rest);
      if (!open) {
        if (!rest.includes(">") && MAYBE_TAG.test(rest)) return out; // wait for more
        this.#prose(out, "<");
        this.#buffer = rest.slice(1);
        continue;
      }
      const [whole, name, attrText = "", selfClosing] = open;
      const attributes = parseAttributes(attrText);
      if (selfClosing) {
        out.push({ kind: "tag", name: name!, attributes, body: "" });
        this.#buffer = rest.slice(whole.length);
        continue;
      }
      const end = rest.indexOf(`</${name}>`, whole.length);
      if (end === -1) return out; // the body is still streaming
      out.push({ kind: "tag", name: name!, attributes, body: rest.slice(whole.length, end) });
      this.#buffer = rest.slice(end + name!.length + 3);
    }
  }

  /** The reply is complete: what is left is prose, unless it is an unfinished tag. */
  end(): ModelPiece[] {
    const rest = this.#buffer;
    this.#buffer = "";
    return rest.startsWith("<") ? [] : rest ? [{ kind: "prose", text: rest }] : [];
  }

  #prose(out: ModelPiece[], text: string): void {
    if (!text) return;
    const last = out.at(-1);
    if (last?.kind === "prose") out[out.length - 1] = { kind: "prose", text: last.text + text };
    else out.push({ kind: "prose", text });
  }
}

function parseAttributes(text: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const m of text.matchAll(ATTRIBUTE)) attributes[m[1]!] = m[2] ?? m[3] ?? m[4] ?? "";
  return attributes;
}

function oneLine(text: string, max = 100): string {
  const line = text.trim().split("\n", 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

const ENTRY_PATH = /^[a-z][a-z0-9_-]*:\/\//;

/** One line for an action: an icon and its target (`→ read src/index.js`, `$ npm test`). Null: not shown as an action. */
export function actionLine(
  name: string,
  attributes: Readonly<Record<string, unknown>>,
  body: string,
): string | null {
  const attr = (key: string) =>
    typeof attributes[key] === "string" ? (attributes[key] as string) : undefined;
  const path = attr("path");
  switch (name) {
    case "think":
    case "update":
      return null;
    case "get":
      return `→ read ${path ?? oneLine(body)}`;
    case "set":
      return `✎ ${path && !ENTRY_PATH.test(path) ? "edit" : "write"} ${path ?? oneLine(body)}`;
    case "known":
    case "unknown":
      return `${name === "known" ? "✎" : "?"} ${path ?? oneLine(body)}`;
    case "sh":
    case "env": {
      const cancel = attr("cancel");
      if (cancel) return `✗ stop ${cancel}`;
      return `$ ${attr("command") ?? oneLine(body, 200)}`;
    }
    case "rm":
      return `✗ rm ${path ?? oneLine(body)}`;
    case "mv":
    case "cp":
      return `→ ${name} ${path ?? ""}${attr("to") ? ` ${attr("to")}` : ""}`.trimEnd();
    case "ask_user":
      return `? ${attr("question") ?? oneLine(body)}`;
    default:
      return `• ${name}${path ? ` ${path}` : body.trim() ? ` ${oneLine(body, 60)}` : ""}`;
  }
}

export interface RendererOptions {
  readonly style: Style;
  readonly showThinking: boolean;
  /** Nothing but proposals and errors (--json). */
  readonly quiet: boolean;
  readonly write: (text: string) => void;
  /** A spinner animates only on a terminal. */
  readonly tty: boolean;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * The run as a person reads it, like `codex exec` or `opencode run`: the
 * model's prose streamed, one line per action, thinking dimmed (or hidden),
 * command output in a dimmed block, a spinner while the provider retries.
 * The final answer is not streamed; the caller prints it once at the end.
 */
export class RunRenderer {
  readonly #o: RendererOptions;
  #splitter = new ModelTextSplitter();
  #turn = 0;
  #atLineStart = true;
  /** The last whole line printed, so a proposal right under its action line does not repeat it. */
  #lastLine = "";
  #spinner: { timer: NodeJS.Timeout | null; text: string; frame: number } | null = null;
  /** Per running command: whether its output is at the start of a line. */
  readonly #outputAtLineStart = new Map<string, boolean>();

  constructor(options: RendererOptions) {
    this.#o = options;
  }

  /** The model wrote more of its reply in `turn`. */
  text(turn: number, chunk: string): void {
    this.#enterTurn(turn);
    for (const piece of this.#splitter.push(chunk)) this.#piece(piece);
  }

  /** Reasoning a provider streams separately from the reply. */
  reasoning(turn: number, chunk: string): void {
    this.#enterTurn(turn);
    if (!this.#o.showThinking || this.#o.quiet) return;
    this.#emit(this.#o.style.dim(chunk));
  }

  /** Transient activity: `retrying` shows a spinner line until something else is printed. */
  status(turn: number, status: string | undefined): void {
    if (this.#o.quiet || !status) return;
    if (status === "retrying") this.#spin("retrying the model after a provider error…");
    else if (this.#o.tty && turn !== this.#turn && (status === "thinking" || status === "waiting"))
      this.#spin("thinking…");
  }

  /** The action line of a proposal, unless this turn already showed it. */
  proposalHeader(line: string): void {
    if (this.#lastLine === line) return;
    this.line(this.#o.style.bold(line));
    this.#lastLine = line;
  }

  /** A whole line of our own (proposal prompts, notices). */
  line(text: string): void {
    this.#breakLine();
    this.#emit(`${text}\n`);
    this.#lastLine = text;
  }

  /** A question for the user, on its own line; `answered` after the reply. */
  prompt(text: string): void {
    this.#breakLine();
    this.#emit(text);
  }

  /** A terminal echoed the user's Enter; a pipe did not. */
  answered(echoed: boolean): void {
    if (echoed) this.#atLineStart = true;
    else this.#breakLine();
  }

  /** Output of a command running here, in a dimmed block under its action line. */
  commandOutput(key: string, chunk: string): void {
    if (this.#o.quiet) return;
    let atStart = this.#outputAtLineStart.get(key) ?? true;
    if (atStart) this.#breakLine();
    let out = "";
    for (const part of chunk.split(/(?<=\n)/)) {
      if (!part) continue;
      out += `${atStart ? this.#o.style.dim("  │ ") : ""}${this.#o.style.dim(part.replace(/\n$/, ""))}${part.endsWith("\n") ? "\n" : ""}`;
      atStart = part.endsWith("\n");
    }
    this.#outputAtLineStart.set(key, atStart);
    this.#emit(out);
  }

  /** The command ended: close its block. */
  commandDone(key: string, summary: string): void {
    if (this.#outputAtLineStart.get(key) === false) this.#emit("\n");
    this.#outputAtLineStart.delete(key);
    if (!this.#o.quiet) this.line(this.#o.style.dim(`  └ ${summary}`));
  }

  /** The run is over: flush what is left of the last reply and stop any spinner. */
  finish(): void {
    for (const piece of this.#splitter.end()) this.#piece(piece);
    this.#stopSpinner();
    this.#breakLine();
  }

  #enterTurn(turn: number): void {
    if (turn === this.#turn) return;
    for (const piece of this.#splitter.end()) this.#piece(piece);
    this.#splitter = new ModelTextSplitter();
    this.#turn = turn;
    this.#breakLine();
  }

  #piece(piece: ModelPiece): void {
    if (this.#o.quiet) return;
    const s = this.#o.style;
    if (piece.kind === "prose") {
      if (!piece.text.trim()) return;
      const text = this.#atLineStart ? piece.text.replace(/^\s+/, "") : piece.text;
      this.#emit(text);
      return;
    }
    if (piece.name === "think") {
      if (this.#o.showThinking && piece.body.trim())
        this.line(s.dim(`thinking: ${piece.body.trim().replace(/\n/g, "\n  ")}`));
      return;
    }
    if (piece.name === "update") {
      const status = Number(piece.attributes.status ?? 102);
      // A terminal update is the answer, printed once when the run ends.
      if (status === 102 && piece.body.trim()) this.line(s.dim(`· ${piece.body.trim()}`));
      return;
    }
    const line = actionLine(piece.name, piece.attributes, piece.body);
    if (!line) return;
    this.line(s.cyan(line));
    this.#lastLine = line;
  }

  #breakLine(): void {
    if (!this.#atLineStart) this.#emit("\n");
  }

  #emit(text: string): void {
    if (!text) return;
    this.#stopSpinner();
    this.#lastLine = "";
    this.#o.write(text);
    this.#atLineStart = text.endsWith("\n");
  }

  #spin(text: string): void {
    if (this.#spinner?.text === text) return;
    this.#stopSpinner();
    if (!this.#o.tty) {
      this.line(this.#o.style.dim(text));
      return;
    }
    this.#breakLine();
    const spinner = { timer: null as NodeJS.Timeout | null, text, frame: 0 };
    const draw = () => {
      this.#o.write(
        `\r${this.#o.style.dim(`${SPINNER[spinner.frame++ % SPINNER.length]} ${text}`)}`,
      );
    };
    draw();
    spinner.timer = setInterval(draw, 100);
    spinner.timer.unref();
    this.#spinner = spinner;
  }

  #stopSpinner(): void {
    const spinner = this.#spinner;
    if (!spinner) return;
    this.#spinner = null;
    if (spinner.timer) clearInterval(spinner.timer);
    if (this.#o.tty) this.#o.write("\r\x1b[2K");
  }
}
