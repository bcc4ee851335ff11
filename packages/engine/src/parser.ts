import { decodeEntities, type ParsedCommand, type ParseIssue, type ParseResult } from "@rummy/core";

/**
 * The model-output parser. One forward scan over the text: known tool tags
 * become commands, everything else is prose. Bodies are verbatim (a file
 * written through `<set>` must keep its `<`, `&` and fences), ended only by
 * their own closing tag; an unclosed tag ends at the next known opening tag.
 * Closing-tag and opening-tag look-ups are memoized, so the whole parse is
 * linear in the text. It never throws: whatever it cannot use becomes an
 * issue the engine shows the model.
 */
export function parseModelOutput(text: string, knownTags: ReadonlySet<string>): ParseResult {
  try {
    return new Scanner(String(text ?? ""), knownTags).run();
  } catch (error) {
    // Defensive: a parser bug must not take a turn down; report it instead.
    return {
      commands: [],
      issues: [
        {
          message: `the output could not be parsed (${(error as Error).message})`,
          start: 0,
          end: 0,
        },
      ],
      prose: String(text ?? ""),
    };
  }
}

const TAG_NAME = /<\/?([A-Za-z][\w:-]*)/y;
const ATTR_NAME = /[^\s=/>"']+/y;
const DIALECT_TAGS = new Set(["tool_call", "function_calls", "invoke"]);

class Scanner {
  readonly #text: string;
  readonly #lower: string;
  readonly #known: ReadonlySet<string>;
  readonly #commands: ParsedCommand[] = [];
  readonly #issues: ParseIssue[] = [];
  readonly #prose: string[] = [];
  /** Positions of every known opening tag, ascending, for unclosed-tag recovery. */
  readonly #openings: number[] = [];
  #openingCursor = 0;
  /** Memo of closing-tag searches: name → position found (or -1) and where the search started. */
  readonly #closeMemo = new Map<string, { from: number; at: number }>();

  constructor(text: string, known: ReadonlySet<string>) {
    this.#text = text;
    this.#lower = text.toLowerCase();
    this.#known = new Set([...known].map((t) => t.toLowerCase()));
    const re = /<([A-Za-z][\w:-]*)/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const name = m[1]!.toLowerCase();
      if (this.#known.has(name) || DIALECT_TAGS.has(name)) this.#openings.push(m.index);
    }
  }

  run(): ParseResult {
    const text = this.#text;
    let pos = 0;
    let proseStart = 0;
    while (pos < text.length) {
      const lt = text.indexOf("<", pos);
      if (lt === -1) break;
      if (text.startsWith("<!--", lt)) {
        const end = text.indexOf("-->", lt + 4);
        pos = end === -1 ? text.length : end + 3;
        continue;
      }
      TAG_NAME.lastIndex = lt;
      const m = TAG_NAME.exec(text);
      if (!m) {
        pos = lt + 1;
        continue;
      }
      const name = m[1]!.toLowerCase();
      const closing = text[lt + 1] === "/";
      if (closing) {
        if (this.#known.has(name)) {
          const end = text.indexOf(">", lt);
          this.#issue(
            `stray closing tag </${name}> with no opening tag; ignored`,
            lt,
            end === -1 ? text.length : end + 1,
          );
          this.#addProse(text.slice(proseStart, lt));
          pos = end === -1 ? text.length : end + 1;
          proseStart = pos;
          continue;
        }
        pos = lt + 1;
        continue;
      }
      if (!this.#known.has(name) && !DIALECT_TAGS.has(name)) {
        pos = lt + 1;
        continue;
      }
      this.#addProse(text.slice(proseStart, lt));
      pos =
        DIALECT_TAGS.has(name) && !this.#known.has(name)
          ? this.#dialect(name, lt, m[0].length)
          : this.#command(name, lt, m[0].length);
      proseStart = pos;
    }
    this.#addProse(text.slice(proseStart));
    this.#jsonCalls();
    this.#commands.sort((a, b) => a.start - b.start);
    return {
      commands: this.#commands,
      issues: this.#issues,
      prose: this.#prose
        .join("")
        .replace(/```[a-z]*\n?/gi, "")
        .trim(),
    };
  }

  /** Parses `<name attrs>body</name>` or `<name attrs/>` starting at `lt`; returns where scanning resumes. */
  #command(name: string, lt: number, nameLength: number): number {
    const head = this.#attributes(lt + nameLength);
    if (head.end === -1) {
      this.#issue(`<${name} is never closed with '>'; ignored`, lt, this.#text.length);
      return this.#text.length;
    }
    if (head.selfClosing) {
      this.#commands.push({
        name,
        attributes: head.attributes,
        body: "",
        start: lt,
        end: head.end,
        recovered: false,
      });
      return head.end;
    }
    const bodyStart = head.end;
    const close = this.#findClose(name, bodyStart);
    if (close !== -1) {
      const closeEnd = this.#text.indexOf(">", close);
      const end = closeEnd === -1 ? this.#text.length : closeEnd + 1;
      this.#commands.push({
        name,
        attributes: head.attributes,
        body: cleanBody(this.#text.slice(bodyStart, close)),
        start: lt,
        end,
        recovered: false,
      });
      return end;
    }
    // Unclosed: the body runs to the next known opening tag, or to the end.
    const next = this.#nextOpening(bodyStart);
    const end = next === -1 ? this.#text.length : next;
    this.#issue(`<${name}> was not closed with </${name}>; closed it for you`, lt, end);
    this.#commands.push({
      name,
      attributes: head.attributes,
      body: cleanBody(this.#text.slice(bodyStart, end)),
      start: lt,
      end,
      recovered: true,
    });
    return end;
  }

  /** Attributes from `pos` to the end of the opening tag. */
  #attributes(pos: number): {
    attributes: Record<string, string>;
    end: number;
    selfClosing: boolean;
  } {
    const text = this.#text;
    const attributes: Record<string, string> = {};
    let i = pos;
    while (i < text.length) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text[i] === ">") return { attributes, end: i + 1, selfClosing: false };
      if (text.startsWith("/>", i)) return { attributes, end: i + 2, selfClosing: true };
      if (text[i] === "<") return { attributes, end: i, selfClosing: false };
      ATTR_NAME.lastIndex = i;
      const m = ATTR_NAME.exec(text);
      if (!m) {
        i++;
        continue;
      }
      const key = m[0];
      i += key.length;
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text[i] !== "=") {
        attributes[key] = "";
        continue;
      }
      i++;
      while (i < text.length && /\s/.test(text[i]!)) i++;
      const quote = text[i];
      if (quote === '"' || quote === "'") {
        const close = text.indexOf(quote, i + 1);
        const tagEnd = text.indexOf(">", i + 1);
        if (close === -1) {
          this.#issue(
            `attribute ${key} has an unterminated quote`,
            i,
            tagEnd === -1 ? text.length : tagEnd,
          );
          attributes[key] = decodeEntities(text.slice(i + 1, tagEnd === -1 ? text.length : tagEnd));
          i = tagEnd === -1 ? text.length : tagEnd;
          continue;
        }
        attributes[key] = decodeEntities(text.slice(i + 1, close));
        i = close + 1;
      } else {
        const start = i;
        while (i < text.length && !/[\s>]/.test(text[i]!) && !text.startsWith("/>", i)) i++;
        attributes[key] = decodeEntities(text.slice(start, i));
      }
    }
    return { attributes, end: -1, selfClosing: false };
  }

  #findClose(name: string, from: number): number {
    const memo = this.#closeMemo.get(name);
    if (memo && from >= memo.from && (memo.at === -1 || memo.at >= from)) return memo.at;
    const at = this.#lower.indexOf(`</${name}`, from);
    this.#closeMemo.set(name, { from, at });
    return at;
  }

  #nextOpening(from: number): number {
    while (
      this.#openingCursor < this.#openings.length &&
      this.#openings[this.#openingCursor]! < from
    )
      this.#openingCursor++;
    return this.#openings[this.#openingCursor] ?? -1;
  }

  /** Other tool-call dialects: `<tool_call>{json}</tool_call>` and `<invoke name=…><parameter name=…>`. */
  #dialect(name: string, lt: number, nameLength: number): number {
    const head = this.#attributes(lt + nameLength);
    if (head.end === -1) return this.#text.length;
    if (name === "function_calls") return head.end; // a wrapper: its <invoke>s are scanned next
    const close = this.#findClose(name, head.end);
    const bodyEnd = close === -1 ? this.#text.length : close;
    const closeEnd =
      close === -1 ? this.#text.length : this.#text.indexOf(">", close) + 1 || this.#text.length;
    const inner = this.#text.slice(head.end, bodyEnd);
    if (name === "tool_call") {
      const call = jsonCall(inner.trim(), this.#known);
      if (call) this.#commands.push({ ...call, start: lt, end: closeEnd, recovered: false });
      else this.#issue("a <tool_call> did not hold a JSON call to a known tool", lt, closeEnd);
      return closeEnd;
    }
    const tool = (head.attributes.name ?? "").toLowerCase();
    if (!this.#known.has(tool)) {
      this.#issue(`<invoke name="${tool}"> names no known tool`, lt, closeEnd);
      return closeEnd;
    }
    const params: Record<string, string> = {};
    const re = /<parameter\s+name\s*=\s*["']([^"']+)["']\s*>([\s\S]*?)<\/parameter>/g;
    for (let m = re.exec(inner); m; m = re.exec(inner)) params[m[1]!] = m[2]!;
    this.#commands.push({ ...splitBody(tool, params), start: lt, end: closeEnd, recovered: false });
    return closeEnd;
  }

  /**
   * Bare JSON function calls in prose: `{"name":"get","arguments":{…}}` or
   * `{"tool":…}`. Only when the output has no tag commands (models that use
   * this dialect use it alone), and bounded: at most 100 candidates, each
   * within 256 KB, so unbalanced braces cannot make the parse quadratic.
   */
  #jsonCalls(): void {
    if (this.#commands.length > 0) return;
    const text = this.#text;
    const re = /\{\s*"(?:name|tool|function)"\s*:/g;
    let candidates = 0;
    for (let m = re.exec(text); m && candidates++ < 100; m = re.exec(text)) {
      if (this.#commands.some((c) => m!.index >= c.start && m!.index < c.end)) continue;
      const end = balancedEnd(text, m.index);
      if (end === -1) continue;
      const call = jsonCall(text.slice(m.index, end), this.#known);
      if (call) this.#commands.push({ ...call, start: m.index, end, recovered: false });
      re.lastIndex = end;
    }
  }

  #addProse(part: string): void {
    if (part) this.#prose.push(part);
  }

  #issue(message: string, start: number, end: number): void {
    this.#issues.push({ message, start, end });
  }
}

/** Trims one leading and one trailing newline and unwraps CDATA; otherwise verbatim. */
function cleanBody(body: string): string {
  let out = body.replace(/^\r?\n/, "").replace(/\r?\n[ \t]*$/, "");
  const cdata = /^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/.exec(out);
  if (cdata) out = cdata[1]!;
  return out;
}

/** The end (exclusive) of the balanced `{…}` starting at `start`, honouring strings; -1 if unbalanced. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  const limit = Math.min(text.length, start + 256 * 1024);
  for (let i = start; i < limit; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i + 1;
  }
  return -1;
}

function jsonCall(
  json: string,
  known: ReadonlySet<string>,
): Omit<ParsedCommand, "start" | "end" | "recovered"> | null {
  let parsed: any;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  const fn = parsed?.function ?? parsed;
  const name = String(fn?.name ?? parsed?.tool ?? "").toLowerCase();
  if (!known.has(name)) return null;
  let args = fn?.arguments ?? fn?.parameters ?? parsed?.args ?? parsed?.input ?? {};
  if (typeof args === "string") {
    try {
      args = JSON.parse(args);
    } catch {
      args = { body: args };
    }
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(args ?? {}))
    params[k] = typeof v === "string" ? v : JSON.stringify(v);
  return splitBody(name, params);
}

function splitBody(
  name: string,
  params: Record<string, string>,
): Omit<ParsedCommand, "start" | "end" | "recovered"> {
  const bodyKey = ["body", "content", "command", "text"].find((k) => k in params);
  const attributes = { ...params };
  let body = "";
  if (bodyKey) {
    body = params[bodyKey]!;
    delete attributes[bodyKey];
  }
  return { name, attributes, body };
}
