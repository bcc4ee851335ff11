/** Exit codes a script can branch on. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** The run ended without doing what was asked: a proposal was rejected, or the model refused. */
  refused: 3,
} as const;

/** An error meant for a person: printed as one line (plus a hint), no stack. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  constructor(message: string, options: { exitCode?: number; hint?: string } = {}) {
    super(message);
    this.name = "CliError";
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.hint = options.hint;
  }
}
