// Retrying temporary failures, and noticing a provider that went silent.
import { ProviderError } from "@rummy/core";
import { asProviderError } from "./errors.js";

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
