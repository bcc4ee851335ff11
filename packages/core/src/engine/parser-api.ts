/**
 * The model-output parser's contract. The parser turns whatever the model
 * wrote into the commands it meant, in emitted order. It never throws, runs
 * in linear time, and reports what it could not understand as issues the
 * engine turns into error entries the model sees next turn.
 */
export interface ParsedCommand {
  /** Lowercased tag name (`get`, `set`, `sh`, …). */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Inner text, verbatim (a file body keeps its entities and markup), one surrounding newline trimmed, CDATA unwrapped. */
  readonly body: string;
  /** Offsets of the command in the original text. */
  readonly start: number;
  readonly end: number;
  /** True when the closing tag was missing and recovery closed it. */
  readonly recovered: boolean;
}

export interface ParseIssue {
  readonly message: string;
  readonly start: number;
  readonly end: number;
}

export interface ParseResult {
  readonly commands: readonly ParsedCommand[];
  readonly issues: readonly ParseIssue[];
  /** Text outside any command (what the model said in prose). */
  readonly prose: string;
}

/** `knownTags` are the tool names currently registered; other tags are prose. */
export type ParseModelOutput = (text: string, knownTags: ReadonlySet<string>) => ParseResult;

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

/** Decodes the five XML entities and numeric character references; anything else stays verbatim. */
export function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, code: string) => {
    if (code[0] === "#") {
      const n =
        code[1] === "x" || code[1] === "X"
          ? Number.parseInt(code.slice(2), 16)
          : Number(code.slice(1));
      return Number.isFinite(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : whole;
    }
    return ENTITIES[code.toLowerCase()] ?? whole;
  });
}
