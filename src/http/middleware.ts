/**
 * Cross-cutting HTTP behaviour: security headers on every response (SECURITY E1) and CORS only on
 * the endpoints servers and browser apps call directly (SECURITY E2: never on /authorize).
 *
 * Headers are set before the handler runs (`c.header` merges them into whatever response it
 * builds): editing `c.res` afterwards would force the node adapter to materialise the Response,
 * which costs a measurable share of the token-verification hot path.
 */
import type { MiddlewareHandler } from 'hono';

/** The default policy for JSON answers; pages replace it with their own. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  c.header('Content-Security-Policy', API_CSP);
  c.header('X-Frame-Options', 'DENY');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Content-Type-Options', 'nosniff');
  await next();
};

/** Paths where any origin may call us: no cookies are involved, credentials travel in headers/bodies. */
export const CORS_PATHS = new Set([
  '/token',
  '/introspect',
  '/revoke',
  '/userinfo',
  '/.well-known/oauth-authorization-server',
]);

export const cors: MiddlewareHandler = async (c, next) => {
  if (!CORS_PATHS.has(c.req.path)) return next();
  if (c.req.method === 'OPTIONS') {
    return c.body(null, 204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept',
      'Access-Control-Max-Age': '600',
    });
  }
  c.header('Access-Control-Allow-Origin', '*');
  await next();
};

/**
 * Pages a person opens by typing an address; they are moved to the issuer's own host first. A page
 * reached on another name for this server (`127.0.0.1` for `localhost`, `www.` for the bare name)
 * would set cookies and post forms on the wrong origin, which the page CSP (`form-action 'self'`)
 * and the cookie's host then break. OAuth endpoints, callbacks and JSON answers are never moved.
 */
export const ISSUER_HOST_PAGES = new Set([
  '/',
  '/docs',
  '/setup',
  '/faq',
  '/privacy',
  '/demo/start',
  '/account',
]);

/** Headers a reverse proxy adds; behind one, only `X-Forwarded-Host` says which host was asked for. */
const PROXY_HEADERS = ['x-forwarded-for', 'x-real-ip', 'forwarded', 'x-forwarded-proto'];

export function issuerHostRedirect(publicUrl: string): MiddlewareHandler {
  const issuer = new URL(publicUrl);
  return async (c, next) => {
    if ((c.req.method !== 'GET' && c.req.method !== 'HEAD') || !ISSUER_HOST_PAGES.has(c.req.path)) {
      return next();
    }
    if (/^\s*application\/json/i.test(c.req.header('accept') ?? '')) return next();
    const forwardedHost = c.req.header('x-forwarded-host')?.split(',')[0]?.trim();
    // A proxy that rewrote Host without saying the original: the public host is unknown, and a
    // redirect could loop, so the page is served as it is.
    if (!forwardedHost && PROXY_HEADERS.some((name) => c.req.header(name) !== undefined)) return next();
    const asked = (forwardedHost ?? c.req.header('host') ?? '').toLowerCase();
    if (asked === '' || asked === issuer.host) return next();
    const url = new URL(c.req.url);
    c.header('Cache-Control', 'no-store');
    c.header('Location', new URL(url.pathname + url.search, issuer.origin).href);
    return c.body(null, 302);
  };
}
