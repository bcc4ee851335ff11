/**
 * Shared plumbing for provider packages, so each speaks its wire format and
 * nothing else: incremental SSE/NDJSON parsing, HTTP error classification,
 * retries, and secret redaction.
 */
export { HTTP_PROVIDER_CONFIG, httpCallOptions } from "./config.js";
export {
  asProviderError,
  attemptError,
  classifyHttpError,
  redact,
  retryAfterMs,
  streamError,
} from "./errors.js";
export { contextLengthFromModels } from "./models.js";
export { idleTimeout, type RetryOptions, withRetries } from "./retries.js";
export { parseNdjson, parseSse, type SseEvent } from "./streams.js";
