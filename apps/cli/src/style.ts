/** Terminal styling: ANSI colour only on a TTY, never with NO_COLOR (https://no-color.org) or TERM=dumb. */
export interface Style {
  readonly color: boolean;
  dim(text: string): string;
  bold(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

export function styleFor(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined> = process.env,
): Style {
  const color = Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb";
  const wrap = (open: number, close: number) => (text: string) =>
    color && text ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    color,
    dim: wrap(2, 22),
    bold: wrap(1, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}
