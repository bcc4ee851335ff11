import type { ConfigSpec, ConfigValues } from "@rummy/core";

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
