// `pnpm link-cli`: puts the `rummy` command on the PATH for every folder, by
// linking apps/cli into npm's global prefix (`npm link`). The link points at
// this checkout, so `git pull && pnpm install` keeps it current.
import { execFileSync } from "node:child_process";
import { delimiter, join } from "node:path";

const cliDir = join(import.meta.dirname, "..", "apps", "cli");
// pnpm hands its own settings to scripts as npm_config_*; npm does not know them.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !key.startsWith("npm_config_") || key === "npm_config_prefix",
  ),
);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
execFileSync(npm, ["link", "--no-audit", "--no-fund"], { cwd: cliDir, env, stdio: "inherit" });
const prefix = execFileSync(npm, ["prefix", "--global"], { env, encoding: "utf8" }).trim();
const bin = process.platform === "win32" ? prefix : join(prefix, "bin");
const onPath = (process.env.PATH ?? "").split(delimiter).includes(bin);
process.stdout.write(
  `rummy is linked at ${join(bin, "rummy")}${onPath ? "" : `\n${bin} is not on your PATH; add it (e.g. export PATH="${bin}:$PATH")`}\n`,
);
