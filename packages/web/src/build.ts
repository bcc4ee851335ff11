import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Files copied from page/ as they are; app.js is bundled from page/main.ts. */
export const STATIC_FILES = ["index.html", "app.css", "favicon.svg"] as const;

/** Builds the page into `outdir` (default: the package's assets/). Deterministic for a pinned esbuild. */
export async function buildPage(outdir = join(root, "assets")): Promise<string[]> {
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [join(root, "page", "main.ts")],
    outfile: join(outdir, "app.js"),
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    legalComments: "none",
    charset: "utf8",
    logLevel: "warning",
  });
  for (const file of STATIC_FILES) copyFileSync(join(root, "page", file), join(outdir, file));
  return ["app.js", ...STATIC_FILES];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await buildPage(process.argv[2]);
  process.stdout.write(`built ${files.join(", ")}\n`);
}
