import type { IncomingMessage, ServerResponse } from "node:http";
import { badRequest } from "./errors.js";

/** Answers one plain HTTP request (not a WebSocket upgrade) on the server's port. */
export type HttpHandler = (
  request: IncomingMessage,
  response: ServerResponse,
) => void | Promise<void>;

export interface HttpRoute {
  /** A path prefix starting with `/`: `/` matches everything, `/web` matches `/web` and `/web/…`. */
  readonly prefix: string;
  readonly owner: string;
  readonly handler: HttpHandler;
}

const PREFIX_RE = /^\/[A-Za-z0-9._~\-/]*$/;

/**
 * Plain HTTP routes plugins add beside the WebSocket (a web page, say). The
 * transport answers requests from loopback only and consults this registry;
 * the longest matching prefix wins, no match is a 404.
 */
export class HttpRoutes {
  readonly #routes = new Map<string, HttpRoute>();

  register(prefix: string, handler: HttpHandler, owner = "core"): () => void {
    const normalized = prefix.length > 1 ? prefix.replace(/\/+$/, "") : prefix;
    if (!PREFIX_RE.test(normalized)) throw badRequest(`invalid HTTP route prefix '${prefix}'`);
    if (typeof handler !== "function") throw badRequest(`HTTP route '${prefix}' needs a handler`);
    const existing = this.#routes.get(normalized);
    if (existing)
      throw badRequest(`HTTP route '${normalized}' is already registered by ${existing.owner}`);
    const route: HttpRoute = { prefix: normalized, owner, handler };
    this.#routes.set(normalized, route);
    return () => {
      if (this.#routes.get(normalized) === route) this.#routes.delete(normalized);
    };
  }

  /** The route for a request path (no query), longest prefix first. */
  match(pathname: string): HttpRoute | undefined {
    let best: HttpRoute | undefined;
    for (const route of this.#routes.values()) {
      const hit =
        route.prefix === "/" ||
        pathname === route.prefix ||
        pathname.startsWith(`${route.prefix}/`);
      if (hit && (!best || route.prefix.length > best.prefix.length)) best = route;
    }
    return best;
  }

  list(): readonly HttpRoute[] {
    return [...this.#routes.values()];
  }
}
