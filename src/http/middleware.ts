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
