/**
 * At most `max` sign-in requests that fetch other sites run at once per client address (SECURITY
 * R4): one visitor pointing twenty sign-ins at a slow 50 MB site must not take the event loop from
 * token verification for everyone else. The rate limits (R5) count starts over minutes; this counts
 * requests in flight right now, so it lives in memory per instance (a Map of address → count).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { renderError } from './pages.js';

export const DEFAULT_SIGNIN_INFLIGHT = 4;

export interface InflightLimitOptions {
  /** Concurrent requests allowed per address. */
  max: number;
  clientIp: (c: Context) => string;
}

export interface InflightLimit {
  middleware: MiddlewareHandler;
  /** Requests in flight for an address now (for tests and metrics). */
  inFlight(ip: string): number;
}

export function inflightLimit(options: InflightLimitOptions): InflightLimit {
  const counts = new Map<string, number>();
  const middleware: MiddlewareHandler = async (c, next) => {
    const ip = options.clientIp(c);
    const current = counts.get(ip) ?? 0;
    if (current >= options.max) {
      c.header('Retry-After', '5');
      return renderError(
        c,
        {
          title: 'Too many sign-ins at once',
          message: 'Too many sign-ins at once from your address; wait for the others to finish.',
          next: 'Try again in a few seconds.',
        },
        429,
      );
    }
    counts.set(ip, current + 1);
    try {
      await next();
    } finally {
      const left = (counts.get(ip) ?? 1) - 1;
      if (left > 0) counts.set(ip, left);
      else counts.delete(ip);
    }
  };
  return { middleware, inFlight: (ip) => counts.get(ip) ?? 0 };
}
