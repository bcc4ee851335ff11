import { cpus } from "node:os";

export interface Figure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  /** Ratios are machine-independent; absolute figures are labelled with the machine. */
  readonly ratio?: boolean;
  readonly target?: { readonly min?: number; readonly max?: number };
}

export interface BenchResult {
  readonly name: string;
  readonly figures: readonly Figure[];
  /** Markdown written under the figures table (how it was measured, a profile summary). */
  readonly notes?: readonly string[];
}

export function timeIt(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function timeItAsync(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown cpu";
  return `${cpus().length}× ${cpu}, node ${process.version}`;
}

export function meets(f: Figure): string {
  if (!f.target) return "";
  const ok =
    (f.target.min === undefined || f.value >= f.target.min) &&
    (f.target.max === undefined || f.value <= f.target.max);
  return ok ? "meets target" : "MISSES target";
}

/** Prints one benchmark's figures and returns them for the report writer. */
export function report(
  name: string,
  figures: readonly Figure[],
  notes?: readonly string[],
): BenchResult {
  console.log(`\n## bench/${name}  (${machine()})`);
  for (const f of figures) {
    const value = f.ratio
      ? f.value.toFixed(2)
      : f.value >= 100
        ? Math.round(f.value).toLocaleString("en-US")
        : f.value.toFixed(3);
    console.log(`  ${f.label}: ${value} ${f.unit} ${meets(f)}`.trimEnd());
  }
  if (notes) console.log(notes.map((l) => `  ${l}`).join("\n"));
  return notes ? { name, figures, notes } : { name, figures };
}
