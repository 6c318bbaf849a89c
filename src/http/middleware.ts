/**
 * Cross-cutting HTTP behaviour: security headers on every response (SECURITY E1) and CORS only on
 * the endpoints servers and browser apps call directly (SECURITY E2: never on /authorize).
 */
import type { MiddlewareHandler } from 'hono';

export const securityHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const headers = c.res.headers;
  if (!headers.has('Content-Security-Policy')) {
    headers.set(
      'Content-Security-Policy',
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
  }
  headers.set('X-Frame-Options', 'DENY');
  headers.set('Referrer-Policy', 'no-referrer');
  headers.set('X-Content-Type-Options', 'nosniff');
};

/** Paths where any origin may call us: no cookies are involved, credentials travel in headers/bodies. */
export const CORS_PATHS = [
  '/token',
  '/introspect',
  '/revoke',
  '/userinfo',
  '/.well-known/oauth-authorization-server',
];

export const cors: MiddlewareHandler = async (c, next) => {
  if (!CORS_PATHS.includes(c.req.path)) return next();
  if (c.req.method === 'OPTIONS') {
    return c.body(null, 204, {
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, Accept',
      'Access-Control-Max-Age': '600',
    });
  }
  await next();
  c.res.headers.set('Access-Control-Allow-Origin', '*');
};
