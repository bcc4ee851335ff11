import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { definePlugin } from "@rummy/core";

/** The page's assets, built from page/ by `pnpm --filter @rummy/web build:page` and shipped in the package. */
export const ASSETS_DIR = new URL("../assets/", import.meta.url);

/** Files the page is made of: URL path → asset file and content type. */
const FILES: Readonly<Record<string, readonly [file: string, type: string]>> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/app.css": ["app.css", "text/css; charset=utf-8"],
  "/favicon.svg": ["favicon.svg", "image/svg+xml"],
};

/**
 * The page may run only its own script and talk only to its own origin
 * (the WebSocket on the same port). No inline script or style anywhere.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function loadAssets(): Map<string, { body: Buffer; type: string }> {
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    let body: Buffer;
    try {
      body = readFileSync(new URL(file, ASSETS_DIR));
    } catch {
      throw new Error(
        `the page's ${file} is missing from ${ASSETS_DIR.pathname}: build it with \`pnpm --filter @rummy/web build:page\``,
      );
    }
    out.set(path, { body, type });
  }
  return out;
}

/**
 * `web`: serves the page on the server's port (the transport hands it plain
 * HTTP from loopback only), and `getProjects` so the page can list projects.
 * Everything the page shows it reads over the public JSON-RPC protocol.
 */
export default definePlugin({
  name: "web",
  version: "0.1.0",
  setup(ctx) {
    const assets = loadAssets();
    ctx.registerHttpRoute("/", (request: IncomingMessage, response: ServerResponse) => {
      const method = request.method ?? "GET";
      if (method !== "GET" && method !== "HEAD") {
        response.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
        response.end("method not allowed\n");
        return;
      }
      const path = new URL(request.url ?? "/", "http://localhost").pathname;
      const asset = assets.get(path);
      if (!asset) {
        response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        response.end("not found\n");
        return;
      }
      response.writeHead(200, {
        "content-type": asset.type,
        "content-length": asset.body.length,
        "content-security-policy": CONTENT_SECURITY_POLICY,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "no-referrer",
        "cross-origin-opener-policy": "same-origin",
        "cache-control": "no-cache",
      });
      response.end(method === "HEAD" ? undefined : asset.body);
    });

    ctx.registerRpc("getProjects", {
      description:
        "The server's projects: [{ name, root, created }] (say rummy/hello with one to use it).",
      requiresInit: false,
      handler: () =>
        ctx.core.projects.list().map((p) => ({ name: p.name, root: p.root, created: p.createdAt })),
    });
  },
});
