// What a failed provider call means: HTTP answers classified, thrown values
// normalized, secrets kept out of the messages.
import { ProviderError } from "@rummy/core";

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
