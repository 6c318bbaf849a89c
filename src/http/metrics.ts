/**
 * `GET /metrics` (PROTOCOL §14) and the one place HTTP requests are counted.
 *
 * Requests are counted in src/server.ts's request handler, for both the fast path and Hono, so none
 * is counted twice or missed: when the response closes, or, for a fast-path answer sent in the turn
 * its request was read, at once. The label is the route *pattern*
 * (`/signin/:id/callback`), never the raw path: every distinct label is a new time series, so a raw
 * path would let anyone grow the server's memory at will. The fast path names its own routes; for
 * Hono, `tagRoute` stores the matched pattern on the IncomingMessage; anything else is `unmatched`.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import ipaddr from 'ipaddr.js';
import type { Events } from '../events.js';
import type { Services } from '../services.js';
import { constantTimeEqual } from '../tokens/secrets.js';
import { incomingOf } from './disconnect.js';

const ROUTE = Symbol('latchkey.route');
type Routed = IncomingMessage & { [ROUTE]?: string };

/**
 * The server's request class: the route label is declared at construction, so setting it does not
 * change the object's shape on every request (which costs V8 a map transition each time).
 */
export class RoutedRequest extends IncomingMessage {
  [ROUTE]: string | undefined = undefined;
}

/** The server's response class: when handling began, for the latency histogram. */
export class TimedResponse extends ServerResponse<RoutedRequest> {
  readonly startedAt = performance.now();
}

export const UNMATCHED = 'unmatched';

/** Names the route pattern a request was answered by (the fast path calls this for its own). */
export function setRoute(req: IncomingMessage, route: string): void {
  (req as Routed)[ROUTE] = route;
}

/**
 * Hono middleware: the last method-specific route the request matched (`app.use` middleware is
 * `ALL`), so a request a middleware answers (a CORS preflight, a rate limit) still counts under its
 * route; a request no route matches stays `unmatched`.
 */
export const tagRoute: MiddlewareHandler = (c, next) => {
  const incoming = incomingOf(c.env);
  if (incoming) {
    const routes = matchedRoutes(c);
    for (let i = routes.length - 1; i >= 0; i--) {
      const route = routes[i];
      if (route && route.method !== 'ALL') {
        setRoute(incoming, route.path);
        break;
      }
    }
  }
  return next();
};

/** Status codes as strings, made once: a fresh string per request would be hashed per request. */
const STATUS_TEXT = Array.from({ length: 600 }, (_, code) => String(code));

/** Methods Node parses are a fixed list, but the label set should not depend on that. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/**
 * Emits `http.request` for one request whose handling began at `started` (performance.now()).
 * Call once per request (src/server.ts): from the response's `close`, with `answered` telling
 * whether it finished, or at once when the whole answer was handed to the socket in the turn the
 * request was read. A request not answered is `aborted`.
 */
export function requestDone(
  events: Events,
  req: IncomingMessage,
  res: ServerResponse,
  started: number,
  answered: boolean,
): void {
  const method = req.method && METHODS.has(req.method) ? req.method : 'other';
  events.emit('http.request', {
    route: (req as Routed)[ROUTE] ?? UNMATCHED,
    method,
    status: answered ? (STATUS_TEXT[res.statusCode] ?? String(res.statusCode)) : 'aborted',
    seconds: (performance.now() - started) / 1000,
  });
}

/** Headers a reverse proxy adds: a request carrying one came from wherever the proxy serves. */
const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'];

/**
 * True for a loopback peer, judged by the socket (never by X-Forwarded-For, which anyone can send),
 * and not relayed by a proxy on the same host: that peer is loopback too, for the whole Internet.
 */
function fromLoopback(c: Context): boolean {
  if (FORWARDING_HEADERS.some((name) => c.req.header(name) !== undefined)) return false;
  const address = incomingOf(c.env)?.socket?.remoteAddress;
  if (!address || !ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'loopback';
}

function refuse(c: Context, status: 401 | 403, description: string) {
  c.header('Cache-Control', 'no-store');
  if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="metrics"');
  return c.json(
    { error: status === 401 ? 'invalid_token' : 'forbidden', error_description: description },
    status,
  );
}

export function metricsRoutes(app: Hono, services: Services): void {
  const token = services.config.metricsToken;
  app.get('/metrics', async (c) => {
    if (token !== undefined) {
      const header = c.req.header('authorization') ?? '';
      const presented = /^Bearer +(\S+)\s*$/i.exec(header)?.[1] ?? '';
      // Hashing both sides first (constantTimeEqual) hides the token's length too (SECURITY D8).
      if (!constantTimeEqual(presented, token))
        return refuse(c, 401, 'Send Authorization: Bearer with the METRICS_TOKEN.');
    } else if (!fromLoopback(c)) {
      return refuse(c, 403, 'Metrics are answered only to loopback unless METRICS_TOKEN is set.');
    }
    const { contentType, body } = await services.metrics.scrape();
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  });
}
