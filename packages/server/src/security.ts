import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { isIP } from "node:net";
import { join } from "node:path";
import { RummyError } from "@rummy/core";

type Env = Readonly<Record<string, string | undefined>>;

/** Where the server's secret came from. */
export type TokenSource = "env" | "file" | "off";

export interface ResolvedToken {
  /** The secret clients present; null only when auth is explicitly off (`RUMMY_TOKEN=off`). */
  readonly token: string | null;
  readonly source: TokenSource;
  /** `<home>/token`, whether or not it is the source. */
  readonly path: string;
  /** True when this call wrote a new token file. */
  readonly created: boolean;
}

/** The file name of the token inside RUMMY_HOME. */
export const TOKEN_FILE = "token";

const LOOPBACK_NAMES = new Set(["localhost", "localhost."]);

/** True for names and addresses that only ever reach this machine. */
export function isLoopback(host: string): boolean {
  const h = unbracket(host.toLowerCase());
  if (LOOPBACK_NAMES.has(h) || h === "::1") return true;
  return isIP(h) === 4 && h.startsWith("127.");
}

/** True for the wildcard addresses that listen on every interface. */
export function isWildcard(host: string): boolean {
  const h = unbracket(host);
  return h === "0.0.0.0" || h === "::" || h === "";
}

/**
 * The server's token: `RUMMY_TOKEN` from the environment wins (`off` turns
 * auth off); otherwise `<home>/token`, created on first use as 256 random
 * bits readable by the owner only. With `create: false` a missing file
 * yields `{ token: null, source: "file" }` (a client looking for a server's
 * token must not invent one).
 */
export function resolveToken(
  home: string,
  env: Env,
  options: { create?: boolean } = {},
): ResolvedToken {
  const path = join(home, TOKEN_FILE);
  const fromEnv = env.RUMMY_TOKEN?.trim();
  if (fromEnv === "off") return { token: null, source: "off", path, created: false };
  if (fromEnv) return { token: fromEnv, source: "env", path, created: false };
  const existing = readTokenFile(path);
  if (existing) return { token: existing, source: "file", path, created: false };
  if (options.create === false) return { token: null, source: "file", path, created: false };
  const token = newToken();
  try {
    // `wx`: two processes starting at once agree on the first one's token.
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const raced = readTokenFile(path);
    if (raced) return { token: raced, source: "file", path, created: false };
    writeTokenFile(path, token);
  }
  return { token, source: "file", path, created: true };
}

/** Replaces `<home>/token` with a fresh one; servers reading it pick it up at their next start. */
export function rotateToken(home: string): ResolvedToken {
  const path = join(home, TOKEN_FILE);
  const token = newToken();
  writeTokenFile(path, token);
  return { token, source: "file", path, created: true };
}

function newToken(): string {
  return randomBytes(32).toString("base64url");
}

function writeTokenFile(path: string, token: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${token}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
}

function readTokenFile(path: string): string | null {
  if (!existsSync(path)) return null;
  // Anyone else able to read it could drive the server: keep it the owner's.
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const token = readFileSync(path, "utf8").trim();
  return token.length > 0 ? token : null;
}

/** Compares a presented token with the server's in constant time (both hashed to equal length). */
export function tokenMatches(presented: unknown, expected: string): boolean {
  if (typeof presented !== "string") return false;
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Who may open a connection (or load a page) from a browser, and under which Host names. */
export interface SourcePolicy {
  /** Origins allowed besides the server's own (`RUMMY_ALLOWED_ORIGINS`), normalized. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** The configured listening host. */
  readonly host: string;
  readonly port: number;
}

/** Parses `RUMMY_ALLOWED_ORIGINS` (comma-separated origins such as `https://app.example`). */
export function parseAllowedOrigins(raw: string | undefined): Set<string> {
  const origins = new Set<string>();
  for (const item of (raw ?? "").split(",")) {
    const value = item.trim();
    if (!value) continue;
    const origin = normalizeOrigin(value);
    if (!origin)
      throw new RummyError(
        400,
        `RUMMY_ALLOWED_ORIGINS: ${JSON.stringify(value)} is not an origin (scheme://host[:port])`,
      );
    origins.add(origin);
  }
  return origins;
}

/** The origins a page served by this server itself would have. */
export function ownOrigins(policy: Pick<SourcePolicy, "host" | "port">): Set<string> {
  const hosts = ["127.0.0.1", "localhost", "[::1]"];
  if (!isWildcard(policy.host) && !isLoopback(policy.host))
    hosts.push(isIP(unbracket(policy.host)) === 6 ? `[${unbracket(policy.host)}]` : policy.host);
  return new Set(hosts.map((h) => normalizeOrigin(`http://${h}:${policy.port}`)!));
}

export type SourceDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 403; readonly reason: string };

/**
 * The one decision on where a request comes from, for the WebSocket upgrade
 * and any page the server serves: the Host header must name this machine
 * (a loopback name or address, or the configured host) so a DNS-rebound name
 * cannot reach it, and a browser's Origin, when sent, must be the server's
 * own or on `RUMMY_ALLOWED_ORIGINS`. No Origin (CLIs, scripts) passes here;
 * the token is checked separately.
 */
export function checkRequestSource(
  headers: IncomingHttpHeaders,
  policy: SourcePolicy,
): SourceDecision {
  const hostHeader = headers.host;
  if (!hostHeader) return refuse("the request has no Host header");
  const hostname = hostOf(hostHeader);
  if (hostname === null || !hostAllowed(hostname, policy))
    return refuse(
      `Host ${JSON.stringify(hostHeader)} is not this server (expected a loopback name or ${policy.host})`,
    );
  const origin = headers.origin;
  if (origin === undefined) return { ok: true };
  const normalized = normalizeOrigin(origin);
  if (normalized && (ownOrigins(policy).has(normalized) || policy.allowedOrigins.has(normalized)))
    return { ok: true };
  return refuse(
    `Origin ${JSON.stringify(origin)} is not allowed; add it to RUMMY_ALLOWED_ORIGINS to let that page connect`,
  );
}

function refuse(reason: string): SourceDecision {
  return { ok: false, status: 403, reason };
}

function hostAllowed(hostname: string, policy: SourcePolicy): boolean {
  if (isLoopback(hostname)) return true;
  if (hostname === unbracket(policy.host.toLowerCase())) return true;
  // Listening everywhere: an address literal cannot be DNS-rebound, so any is this machine's.
  return isWildcard(policy.host) && isIP(hostname) !== 0;
}

/** The hostname part of a Host header (`name`, `name:port`, `[v6]:port`), lower-cased. */
function hostOf(header: string): string | null {
  try {
    const url = new URL(`http://${header.trim()}`);
    if (url.username || url.password || url.pathname !== "/") return null;
    return unbracket(url.hostname.toLowerCase());
  } catch {
    return null;
  }
}

function normalizeOrigin(value: string): string | null {
  try {
    const url = new URL(value);
    if (url.origin === "null") return null;
    return url.origin;
  } catch {
    return null;
  }
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
