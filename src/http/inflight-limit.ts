/**
 * At most `max` requests that fetch other sites run at once per client address (SECURITY R4): one
 * visitor pointing twenty sign-ins at a slow 50 MB site must not take the event loop from token
 * verification for everyone else. The sign-in routes share one such limit; Mintoken-mode code
 * exchanges (which discover the `me` they are sent) have their own. The rate limits (R5) count
 * starts over minutes; this counts requests in flight right now, so it lives in memory per instance
 * (a Map of address → count).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { renderError } from './pages.js';

export const DEFAULT_SIGNIN_INFLIGHT = 4;
/**
 * Mintoken-mode exchanges come from an app's server, one address for all the app's users, so a
 * burst of sign-ins there must not be refused; a stranger's still cannot keep more than this many
 * discoveries going at once.
 */
export const DEFAULT_EXCHANGE_INFLIGHT = 16;

export interface InflightLimitOptions {
  /** Concurrent requests allowed per address. */
  max: number;
  clientIp: (c: Context) => string;
}

export interface InflightLimit {
  /** For the sign-in routes: a 429 page when the request's address is at the limit. */
  middleware: MiddlewareHandler;
  /**
   * Runs `work` holding one place for the request's address, giving it back when `work` settles;
   * `refused` instead when the address is at the limit.
   */
  run<T>(c: Context, work: () => Promise<T>, refused: () => T): Promise<T>;
  /** Requests in flight for an address now (for tests and metrics). */
  inFlight(ip: string): number;
}

/** Seconds a refused client is told to wait (`Retry-After`). */
export const INFLIGHT_RETRY_AFTER = '5';

export function inflightLimit(options: InflightLimitOptions): InflightLimit {
  const counts = new Map<string, number>();
  const acquire = (c: Context) => {
    const ip = options.clientIp(c);
    const current = counts.get(ip) ?? 0;
    if (current >= options.max) return undefined;
    counts.set(ip, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(ip) ?? 1) - 1;
      if (left > 0) counts.set(ip, left);
      else counts.delete(ip);
    };
  };
  const run = async <T>(c: Context, work: () => Promise<T>, refused: () => T): Promise<T> => {
    const release = acquire(c);
    if (release === undefined) return refused();
    try {
      return await work();
    } finally {
      release();
    }
  };
  const middleware: MiddlewareHandler = (c, next) =>
    run<Response | undefined>(
      c,
      async () => {
        await next();
        return undefined;
      },
      () => {
        c.header('Retry-After', INFLIGHT_RETRY_AFTER);
        return renderError(
          c,
          {
            title: 'Too many sign-ins at once',
            message: 'Too many sign-ins at once from your address; wait for the others to finish.',
            next: 'Try again in a few seconds.',
          },
          429,
        );
      },
    );
  return { middleware, run, inFlight: (ip) => counts.get(ip) ?? 0 };
}
