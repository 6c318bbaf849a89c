/**
 * Rate limits (SECURITY R5): fixed windows counted in the store, so every instance sees the same
 * counts. Sign-in starts per client IP, email sends per address and per client IP; code guesses are
 * limited per attempt by the email method itself.
 */
import type { Store } from '../store/db.js';
import { hitRateLimit } from '../store/signin.js';

export interface Limit {
  max: number;
  windowSeconds: number;
}

export const DEFAULT_LIMITS = {
  /** GET /authorize and sign-in form posts that start discovery, per client IP. */
  'signin-ip': { max: 60, windowSeconds: 10 * 60 },
  /** Codes mailed to one address. */
  'email-address': { max: 5, windowSeconds: 60 * 60 },
  /** Codes mailed on behalf of one client IP. */
  'email-ip': { max: 20, windowSeconds: 60 * 60 },
} satisfies Record<string, Limit>;

export type LimitName = keyof typeof DEFAULT_LIMITS;

export type LimitCheck = { ok: true } | { ok: false; retryAfterMinutes: number };

export class RateLimiter {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
    private readonly limits: Record<LimitName, Limit> = DEFAULT_LIMITS,
  ) {}

  /** Counts one hit against each named limit; refused when any is over. */
  async check(hits: readonly { name: LimitName; key: string }[]): Promise<LimitCheck> {
    const at = this.clock();
    let retry = 0;
    for (const { name, key } of hits) {
      const limit = this.limits[name];
      const count = await hitRateLimit(this.store.db, `${name}:${key}`, limit.windowSeconds, at);
      if (count > limit.max) {
        const windowEnd = at - (at % limit.windowSeconds) + limit.windowSeconds;
        retry = Math.max(retry, Math.ceil((windowEnd - at) / 60));
      }
    }
    return retry > 0 ? { ok: false, retryAfterMinutes: retry } : { ok: true };
  }
}
