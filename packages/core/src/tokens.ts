/**
 * Token counting. The store counts on every write so that context assembly
 * sums numbers instead of re-tokenizing bodies. Appends count only the new
 * chunk and add it (never re-count the whole body), which keeps streaming
 * output linear.
 */
export interface Tokenizer {
  readonly name: string;
  count(text: string): number;
}

/** The documented fallback: characters divided by a fixed ratio, rounded up. */
export function divisorTokenizer(divisor = 4): Tokenizer {
  if (!(divisor > 0)) throw new RangeError(`token divisor must be positive, got ${divisor}`);
  return {
    name: `divisor:${divisor}`,
    count: (text) => Math.ceil(text.length / divisor),
  };
}
