import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "@rummy/core";

/** How the tools of a server that say they are read-only are treated: run at once, or proposed like the rest. */
export type ReadOnlyPolicy = "auto" | "propose";

interface CommonServerConfig {
  readonly name: string;
  /** Longest one request to this server may take (ms); the plugin default when absent. */
  readonly timeoutMs?: number;
  readonly readOnly?: ReadOnlyPolicy;
}

export interface StdioServerConfig extends CommonServerConfig {
  readonly kind: "stdio";
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

export interface HttpServerConfig extends CommonServerConfig {
  readonly kind: "http";
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

export type ServerConfig = StdioServerConfig | HttpServerConfig;

/** The servers one project sees: the home's, with the project's overrides applied. */
export type ServerSet = ReadonlyMap<string, ServerConfig>;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Parses one `mcp.json` (the Claude Desktop / Cursor shape):
 * `{ "mcpServers": { name: { command, args?, env?, cwd? } | { url, headers? } } }`,
 * plus rummy's `"projects": { "<absolute root>": { "mcpServers": … } }` for
 * per-project overrides. A server set to `{ "disabled": true }` is removed.
 * Every problem is reported at once, each naming the file and the server.
 */
export function parseMcpConfig(
  text: string,
  source: string,
): {
  servers: Map<string, ServerConfig | null>;
  projects: Map<string, Map<string, ServerConfig | null>>;
} {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${source}: not valid JSON (${(error as Error).message})`]);
  }
  const problems: string[] = [];
  if (!isObject(raw)) throw new ConfigError([`${source}: expected a JSON object`]);
  const servers = parseServers(raw.mcpServers, `${source}: mcpServers`, problems);
  const projects = new Map<string, Map<string, ServerConfig | null>>();
  if (raw.projects !== undefined) {
    if (!isObject(raw.projects)) problems.push(`${source}: projects must be an object`);
    else
      for (const [root, value] of Object.entries(raw.projects)) {
        const where = `${source}: projects["${root}"]`;
        if (!isObject(value)) problems.push(`${where} must be an object with mcpServers`);
        else projects.set(root, parseServers(value.mcpServers, `${where}.mcpServers`, problems));
      }
  }
  if (problems.length) throw new ConfigError(problems);
  return { servers, projects };
}

function parseServers(
  value: unknown,
  where: string,
  problems: string[],
): Map<string, ServerConfig | null> {
  const out = new Map<string, ServerConfig | null>();
  if (value === undefined) return out;
  if (!isObject(value)) {
    problems.push(`${where} must be an object of servers by name`);
    return out;
  }
  for (const [name, spec] of Object.entries(value)) {
    const at = `${where}.${name}`;
    if (!NAME_RE.test(name)) {
      problems.push(`${at}: a server name is letters, digits, '_', '.', '-' (at most 64)`);
      continue;
    }
    if (!isObject(spec)) {
      problems.push(`${at} must be an object`);
      continue;
    }
    if (spec.disabled === true) {
      out.set(name, null);
      continue;
    }
    const common: { name: string; timeoutMs?: number; readOnly?: ReadOnlyPolicy } = { name };
    if (spec.timeout !== undefined) {
      if (typeof spec.timeout !== "number" || !Number.isInteger(spec.timeout) || spec.timeout < 100)
        problems.push(`${at}.timeout must be a whole number of milliseconds, at least 100`);
      else common.timeoutMs = spec.timeout;
    }
    if (spec.readOnly !== undefined) {
      if (spec.readOnly !== "auto" && spec.readOnly !== "propose")
        problems.push(`${at}.readOnly must be "auto" or "propose"`);
      else common.readOnly = spec.readOnly;
    }
    const hasCommand = spec.command !== undefined;
    const hasUrl = spec.url !== undefined;
    if (hasCommand === hasUrl) {
      problems.push(`${at} needs exactly one of "command" (stdio) or "url" (Streamable HTTP)`);
      continue;
    }
    if (hasCommand) {
      if (typeof spec.command !== "string" || !spec.command.trim()) {
        problems.push(`${at}.command must be a non-empty string`);
        continue;
      }
      const args = stringList(spec.args, `${at}.args`, problems);
      const env = stringMap(spec.env, `${at}.env`, problems);
      if (spec.cwd !== undefined && typeof spec.cwd !== "string")
        problems.push(`${at}.cwd must be a string`);
      out.set(name, {
        ...common,
        kind: "stdio",
        command: spec.command,
        args,
        env,
        ...(typeof spec.cwd === "string" ? { cwd: spec.cwd } : {}),
      });
    } else {
      if (typeof spec.url !== "string" || !/^https?:\/\//.test(spec.url)) {
        problems.push(`${at}.url must be an http:// or https:// URL`);
        continue;
      }
      out.set(name, {
        ...common,
        kind: "http",
        url: spec.url,
        headers: stringMap(spec.headers, `${at}.headers`, problems),
      });
    }
  }
  return out;
}

/**
 * Where servers come from. The home file is read once, at boot (a bad one
 * stops the plugin with every problem listed). Project overrides come from
 * the home file's `projects` section and — only when trusted with
 * RUMMY_MCP_PROJECT_CONFIG, because a cloned repository could otherwise make
 * rummy run any command — from `<project root>/.mcp.json`, re-read when it changes.
 */
export class McpConfig {
  readonly homeFile: string;
  readonly #home: Map<string, ServerConfig | null>;
  readonly #projects: Map<string, Map<string, ServerConfig | null>>;
  readonly #trustProjectFiles: boolean;
  readonly #added = new Map<string, Map<string, ServerConfig>>();
  readonly #projectCache = new Map<
    string,
    { mtimeMs: number; set: ServerSet; error: string | null }
  >();

  constructor(homeFile: string, trustProjectFiles: boolean) {
    this.homeFile = homeFile;
    this.#trustProjectFiles = trustProjectFiles;
    if (existsSync(this.homeFile)) {
      const parsed = parseMcpConfig(readFileSync(this.homeFile, "utf8"), this.homeFile);
      this.#home = parsed.servers;
      this.#projects = parsed.projects;
    } else {
      this.#home = new Map();
      this.#projects = new Map();
    }
  }

  /** The servers a project sees, and the problem with its own `.mcp.json` if it has a bad one. */
  forProject(root: string | null): { servers: ServerSet; error: string | null } {
    const merged = new Map(this.#home);
    if (root) for (const [k, v] of this.#projects.get(root) ?? []) merged.set(k, v);
    let error: string | null = null;
    if (root && this.#trustProjectFiles) {
      const local = this.#projectFile(root);
      error = local.error;
      for (const [k, v] of local.set) merged.set(k, v);
    }
    if (root) for (const [k, v] of this.#added.get(root) ?? []) merged.set(k, v);
    const servers = new Map<string, ServerConfig>();
    for (const [name, config] of merged) {
      if (!config) continue;
      servers.set(name, root ? expand(config, root) : config);
    }
    return { servers, error };
  }

  /**
   * Servers a client brings for a project (an ACP editor's `session/new`
   * mcpServers), in the same shape; they win over the files' until rummy exits.
   */
  addServers(root: string, mcpServers: unknown, source: string): string[] {
    const { servers } = parseMcpConfig(JSON.stringify({ mcpServers }), source);
    const added = this.#added.get(root) ?? new Map<string, ServerConfig>();
    for (const [name, config] of servers) if (config) added.set(name, config);
    this.#added.set(root, added);
    return [...servers.keys()];
  }

  #projectFile(root: string): { set: ServerSet; error: string | null } {
    const file = join(root, ".mcp.json");
    let mtimeMs = -1;
    try {
      mtimeMs = statSync(file).mtimeMs;
    } catch {
      return { set: new Map(), error: null };
    }
    const cached = this.#projectCache.get(root);
    if (cached && cached.mtimeMs === mtimeMs) return cached;
    let entry: { mtimeMs: number; set: ServerSet; error: string | null };
    try {
      const parsed = parseMcpConfig(readFileSync(file, "utf8"), file);
      const set = new Map<string, ServerConfig | null>(parsed.servers);
      entry = { mtimeMs, set: set as ServerSet, error: null };
    } catch (error) {
      entry = { mtimeMs, set: new Map(), error: (error as Error).message };
    }
    this.#projectCache.set(root, entry);
    return entry;
  }
}

/** `${projectRoot}` in args, env, cwd, url and headers becomes the project's root. */
function expand(config: ServerConfig, root: string): ServerConfig {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder is the feature
  const sub = (s: string) => s.replaceAll("${projectRoot}", root);
  const subMap = (m: Readonly<Record<string, string>>) =>
    Object.fromEntries(Object.entries(m).map(([k, v]) => [k, sub(v)]));
  if (config.kind === "stdio")
    return {
      ...config,
      command: sub(config.command),
      args: config.args.map(sub),
      env: subMap(config.env),
      ...(config.cwd !== undefined ? { cwd: sub(config.cwd) } : {}),
    };
  return { ...config, url: sub(config.url), headers: subMap(config.headers) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, at: string, problems: string[]): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    problems.push(`${at} must be an array of strings`);
    return [];
  }
  return v as string[];
}

function stringMap(v: unknown, at: string, problems: string[]): Record<string, string> {
  if (v === undefined) return {};
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) {
    problems.push(`${at} must be an object of string values`);
    return {};
  }
  return v as Record<string, string>;
}
