// Equipment for the distribution test: a real Verdaccio on loopback, the
// workspace published to it from a throwaway copy, and plain-npm commands
// run as a user would (their own npm config, no workspace, no tsx).
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createRequire } from "node:module";

export const REPO = join(import.meta.dirname, "..", "..", "..");

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; never rejects on a non-zero exit (the caller asserts). */
export function exec(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 600_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Like exec, but a non-zero exit is an error showing the output. */
export async function mustExec(
  command: string,
  args: readonly string[],
  options: Parameters<typeof exec>[2],
): Promise<Result> {
  const res = await exec(command, args, options);
  if (res.code !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${res.code}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-4000)}`,
    );
  }
  return res;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Registry {
  readonly url: string;
  readonly port: number;
  /** A user npm config: @rummy and @acme from this registry, everything else from the usual one. */
  readonly npmrc: string;
  stop(): Promise<void>;
}

/** Starts a pinned Verdaccio (a devDependency of this package) with temp storage and no uplinks. */
export async function startRegistry(dir: string): Promise<Registry> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  mkdirSync(join(dir, "storage"), { recursive: true });
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    [
      `storage: ${join(dir, "storage")}`,
      "auth:",
      "  htpasswd:",
      `    file: ${join(dir, "htpasswd")}`,
      "    max_users: 10",
      // Offline: nothing is fetched from elsewhere; users reach other packages through their own registry.
      "uplinks: {}",
      "packages:",
      "  '**':",
      "    access: $all",
      "    publish: $all",
      "    unpublish: $all",
      "max_body_size: 200mb",
      "log: { type: stdout, format: pretty, level: warn }",
      "",
    ].join("\n"),
  );
  const bin = join(
    dirname(createRequire(import.meta.url).resolve("verdaccio/package.json")),
    "bin",
    "verdaccio",
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [bin, "--config", config, "--listen", `127.0.0.1:${port}`],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`verdaccio exited: ${output}`);
    try {
      const res = await fetch(`${url}-/ping`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`verdaccio did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const added = await fetch(`${url}-/user/org.couchdb.user:ci`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "ci", password: "ci-password-1" }),
  });
  const { token } = (await added.json()) as { token: string };
  const npmrc = join(dir, "npmrc");
  const authority = `//127.0.0.1:${port}/`;
  // The user's own settings (registry, proxy, nodedir…) first, then the scopes.
  const userConfig = join(homedir(), ".npmrc");
  const inherited = existsSync(userConfig)
    ? readFileSync(userConfig, "utf8")
        .split("\n")
        .filter((l) => !/^\s*(yes|@rummy:|@acme:)/.test(l))
    : [];
  // Native modules (better-sqlite3) build against the running Node's headers when they ship with it.
  const nodePrefix = dirname(dirname(process.execPath));
  const headers = existsSync(join(nodePrefix, "include", "node", "node.h"))
    ? [`nodedir=${nodePrefix}`]
    : [];
  writeFileSync(
    npmrc,
    [
      ...inherited,
      ...headers,
      // A cache of its own: npm init reuses an earlier run's npx install of the same version
      // (every run republishes the same versions with new contents), so a shared cache goes stale.
      `cache=${join(dir, "npm-cache")}`,
      `@rummy:registry=${url}`,
      `@acme:registry=${url}`,
      `${authority}:_authToken=${token}`,
      "fund=false",
      "audit=false",
      "update-notifier=false",
      "",
    ].join("\n"),
  );
  return {
    url,
    port,
    npmrc,
    async stop() {
      // Exited by itself or by a signal already: nothing to wait for.
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The environment of a user whose npm config is `npmrc`: no workspace, no tsx, no rummy settings. */
export function userEnv(npmrc: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Not even this test runner's own variables: a plugin author's `node --test` must report as usual.
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (
      /^(npm_|NODE_OPTIONS$|NODE_TEST_CONTEXT$|RUMMY_|OPENAI_|OPENROUTER_|XAI_|OLLAMA_|TSX_)/i.test(
        k,
      )
    )
      continue;
    env[k] = v;
  }
  return { ...env, npm_config_userconfig: npmrc, ...extra };
}

/**
 * Copies what publishing needs (manifests, READMEs, docs, dist/) into a
 * throwaway workspace, so `changeset version` bumps versions there and
 * never in the repository.
 */
export function throwawayWorkspace(dir: string): string[] {
  for (const file of ["package.json", "pnpm-workspace.yaml", "pnpm-lock.yaml", ".npmrc"]) {
    if (existsSync(join(REPO, file))) cpSync(join(REPO, file), join(dir, file));
  }
  cpSync(join(REPO, ".changeset"), join(dir, ".changeset"), { recursive: true });
  const packages: string[] = [];
  for (const top of ["packages", "apps"]) {
    for (const name of readdirSync(join(REPO, top))) {
      const from = join(REPO, top, name);
      if (!existsSync(join(from, "package.json"))) continue;
      packages.push(`${top}/${name}`);
      cpSync(from, join(dir, top, name), {
        recursive: true,
        filter: (src) =>
          !/^(node_modules|src|test|scripts|bin|\.turbo|\.scaffold-.*)(\/|$)/.test(
            relative(from, src),
          ),
      });
    }
  }
  return packages;
}

export function readJson<T = Record<string, any>>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}
