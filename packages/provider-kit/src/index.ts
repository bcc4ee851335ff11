import type { ConfigSpec, ConfigValues } from "./config.js";
import { ProviderError } from "./provider.js";

/**
 * Shared plumbing for provider packages, so each speaks its wire format and
 * nothing else: incremental SSE/NDJSON parsing, HTTP error classification,
 * retries, and secret redaction.
 */

export interface SseEvent {
  readonly event: string | null;
  readonly data: string;
}

/** Parses a Server-Sent Events byte stream incrementally (handles CRLF, multi-line data, comments). */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event: string | null = null;
  let data: string[] = [];
  const flushLine = function* (line: string): Generator<SseEvent> {
    if (line === "") {
      if (data.length > 0) yield { event, data: data.join("\n") };
      event = null;
      data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
  };
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let idx = buffer.search(/\r\n|\n|\r/);
    while (idx !== -1) {
      const line = buffer.slice(0, idx);
      const sepLength = buffer.startsWith("\r\n", idx) ? 2 : 1;
      buffer = buffer.slice(idx + sepLength);
      yield* flushLine(line);
      idx = buffer.search(/\r\n|\n|\r/);
    }
  }
  buffer += decoder.decode();
  if (buffer) yield* flushLine(buffer);
  yield* flushLine("");
}

/** Parses newline-delimited JSON incrementally; a line that is not JSON is a `malformed` ProviderError. */
export async function* parseNdjson(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffer = "";
  const parse = (line: string) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new ProviderError(
        "malformed",
        `provider sent a line that is not JSON: ${line.slice(0, 120)}`,
        { retryable: false },
      );
    }
  };
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    let idx = buffer.indexOf("\n");
    while (idx !== -1) {
      const line = buffer.slice(0, idx).trim();
      buffer = buffer.slice(idx + 1);
      if (line) yield parse(line);
      idx = buffer.indexOf("\n");
    }
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield parse(rest);
}

const CONTEXT_PATTERNS = [
  /context[_ ]length[_ ]exceeded/i,
  /maximum context length/i,
  /context window/i,
  /prompt is too long/i,
  /too many tokens/i,
  /input is too long/i,
  /exceeds? the (?:model's )?(?:maximum|max) (?:context|input)/i,
  /exceeds? the context length/i,
];

/** Classifies a non-2xx HTTP answer from a provider. `secrets` are removed from the message. */
export function classifyHttpError(
  provider: string,
  status: number,
  bodyText: string,
  headers: { get(name: string): string | null },
  secrets: readonly (string | undefined)[] = [],
): ProviderError {
  const detail = redact(extractMessage(bodyText), secrets);
  const message = `${provider} answered ${status}: ${detail}`;
  if (CONTEXT_PATTERNS.some((re) => re.test(bodyText))) {
    return new ProviderError("context_length", message, { retryable: false });
  }
  if (status === 429) {
    return new ProviderError("rate_limit", message, {
      retryAfterMs: retryAfterMs(headers.get("retry-after")),
    });
  }
  if (status === 401 || status === 403)
    return new ProviderError("auth", message, { retryable: false, status });
  if (status === 408) return new ProviderError("timeout", message);
  if (status >= 500)
    return new ProviderError("server", message, {
      retryAfterMs: retryAfterMs(headers.get("retry-after")),
    });
  return new ProviderError("bad_request", message, {
    retryable: false,
    status: status >= 400 && status < 500 ? status : 400,
  });
}

function extractMessage(bodyText: string): string {
  try {
    const parsed = JSON.parse(bodyText) as {
      error?: { message?: string } | string;
      message?: string;
    };
    const err = parsed.error;
    const text = typeof err === "string" ? err : (err?.message ?? parsed.message);
    if (text) return text;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return bodyText.slice(0, 500) || "(empty body)";
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; null when absent or unparseable. */
export function retryAfterMs(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** Removes each secret (API keys, tokens) from a text. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets)
    if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out;
}

export interface RetryOptions {
  /** Attempts in all, the first included. Default 4. */
  readonly maxAttempts?: number;
  /** First backoff; each retry doubles it up to `maxDelayMs`. Default 500 ms. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** No retry starts after this much time since the first attempt. Default 120 s. */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  readonly onRetry?: (error: ProviderError, attempt: number, delayMs: number) => void;
  /** Injected for tests; default Math.random. */
  readonly random?: () => number;
}

/**
 * Runs `attempt` until it succeeds, retrying retryable ProviderErrors with
 * capped exponential backoff and full jitter, never sooner than the
 * provider's Retry-After, and never past the deadline. Anything else — a
 * permanent failure, an abort — is thrown at once.
 */
export async function withRetries<T>(
  attempt: (n: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 4;
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 20_000;
  const deadline = Date.now() + (options.deadlineMs ?? 120_000);
  const random = options.random ?? Math.random;
  for (let n = 1; ; n++) {
    if (options.signal?.aborted)
      throw new ProviderError("aborted", "the request was cancelled", { retryable: false });
    try {
      return await attempt(n);
    } catch (error) {
      const failure = asProviderError(error, options.signal);
      if (!failure.retryable || n >= maxAttempts) throw failure;
      const backoff = Math.min(cap, base * 2 ** (n - 1)) * random();
      const wait = Math.max(backoff, failure.retryAfterMs ?? 0);
      if (Date.now() + wait > deadline) throw failure;
      options.onRetry?.(failure, n, wait);
      await sleep(wait, options.signal);
    }
  }
}

/** Normalizes thrown values (fetch's TypeErrors, aborts, timeouts) into ProviderErrors. */
export function asProviderError(error: unknown, signal?: AbortSignal): ProviderError {
  if (error instanceof ProviderError) return error;
  if (signal?.aborted)
    return new ProviderError("aborted", "the request was cancelled", { retryable: false });
  const e = error as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (e?.name === "TimeoutError")
    return new ProviderError("timeout", "the provider did not answer in time");
  if (e?.name === "AbortError") return new ProviderError("timeout", "the request was cut off");
  const code = e?.cause?.code ?? "";
  const detail = e?.cause?.message ?? e?.message ?? String(error);
  return new ProviderError(
    "network",
    `cannot reach the provider${code ? ` (${code})` : ""}: ${detail}`,
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted)
      return reject(
        new ProviderError("aborted", "the request was cancelled", { retryable: false }),
      );
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ProviderError("aborted", "the request was cancelled", { retryable: false }));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * An AbortSignal that fires when `parent` aborts or when `idleMs` pass
 * without `touch()` — for streams, where a total timeout would cut off a
 * long but healthy answer.
 */
export function idleTimeout(
  idleMs: number,
  parent?: AbortSignal,
): { signal: AbortSignal; touch(): void; clear(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const fire = () =>
    controller.abort(
      Object.assign(new Error(`no data for ${idleMs} ms`), { name: "TimeoutError" }),
    );
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(fire, idleMs);
  };
  const onParent = () => controller.abort(parent?.reason);
  parent?.addEventListener("abort", onParent, { once: true });
  if (parent?.aborted) onParent();
  touch();
  return {
    signal: controller.signal,
    touch,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}

/**
 * What one HTTP attempt threw, as the retry loop should see it: provider
 * errors as they are, a caller's abort as `aborted`, a silence past the idle
 * limit as `timeout`; anything else is left for `withRetries` to classify.
 */
export function attemptError(
  provider: string,
  error: unknown,
  signal: AbortSignal | undefined,
  idle: AbortSignal,
  idleMs: number,
): unknown {
  if (error instanceof ProviderError) return error;
  if (signal?.aborted)
    return new ProviderError("aborted", "the request was cancelled", { retryable: false });
  if (idle.aborted)
    return new ProviderError("timeout", `${provider} sent nothing for ${idleMs} ms`);
  return error;
}

/** A stream that broke after the answer started is `incomplete` — never half an answer — unless it was aborted or went silent. */
export function streamError(
  provider: string,
  error: unknown,
  signal: AbortSignal | undefined,
  idle: AbortSignal,
): unknown {
  if (error instanceof ProviderError || signal?.aborted || idle.aborted) return error;
  return new ProviderError(
    "incomplete",
    `${provider}'s stream broke off: ${(error as Error).message}`,
  );
}

/** Timeout and retry settings every HTTP provider reads, with one default each. */
export const HTTP_PROVIDER_CONFIG: readonly ConfigSpec[] = [
  {
    key: "RUMMY_FETCH_TIMEOUT",
    type: "integer",
    default: 60_000,
    min: 1000,
    max: 3_600_000,
    description: "longest silence (ms) from a provider before the attempt is abandoned",
  },
  {
    key: "RUMMY_RETRY_ATTEMPTS",
    type: "integer",
    default: 4,
    min: 1,
    max: 20,
    description: "attempts per provider call, the first included",
  },
  {
    key: "RUMMY_RETRY_DEADLINE",
    type: "integer",
    default: 120_000,
    min: 0,
    max: 3_600_000,
    description: "no retry starts later than this (ms) after the first attempt",
  },
];

/** The idle timeout and retry options from values read with `HTTP_PROVIDER_CONFIG`. */
export function httpCallOptions(values: ConfigValues): {
  idleTimeoutMs: number;
  retry: { maxAttempts: number; deadlineMs: number };
} {
  return {
    idleTimeoutMs: values.RUMMY_FETCH_TIMEOUT as number,
    retry: {
      maxAttempts: values.RUMMY_RETRY_ATTEMPTS as number,
      deadlineMs: values.RUMMY_RETRY_DEADLINE as number,
    },
  };
}

/**
 * A model's context window from an OpenAI-style `GET /models` listing
 * (`context_length` or `context_window`); null when the listing does not say.
 */
export async function contextLengthFromModels(
  provider: string,
  url: string,
  headers: Record<string, string>,
  model: string,
  secrets: readonly (string | undefined)[],
  signal?: AbortSignal,
): Promise<number | null> {
  const response = await fetch(url, { headers, ...(signal ? { signal } : {}) });
  if (!response.ok)
    throw classifyHttpError(
      provider,
      response.status,
      await response.text(),
      response.headers,
      secrets,
    );
  const list = (await response.json()) as {
    data?: { id: string; context_length?: number; context_window?: number }[];
  };
  const found = list.data?.find((m) => m.id === model);
  return found?.context_length ?? found?.context_window ?? null;
}
