export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

export interface Logger {
  debug(message: string, data?: unknown): void;
  info(message: string, data?: unknown): void;
  warn(message: string, data?: unknown): void;
  error(message: string, data?: unknown): void;
  child(name: string): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** A line-per-message logger on stderr, so stdout stays free for a CLI's output. */
export function createLogger(level: LogLevel = "info", name = "rummy"): Logger {
  const threshold = LEVELS[level] ?? LEVELS.info;
  const write = (lvl: Exclude<LogLevel, "silent">, message: string, data?: unknown) => {
    if (LEVELS[lvl] < threshold) return;
    const suffix = data === undefined ? "" : ` ${safeJson(data)}`;
    process.stderr.write(`[${name}] ${lvl}: ${message}${suffix}\n`);
  };
  return {
    debug: (m, d) => write("debug", m, d),
    info: (m, d) => write("info", m, d),
    warn: (m, d) => write("warn", m, d),
    error: (m, d) => write("error", m, d),
    child: (child) => createLogger(level, `${name}:${child}`),
  };
}

function safeJson(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
