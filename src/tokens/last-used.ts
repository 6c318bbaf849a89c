/**
 * `last_used_at` bookkeeping for credentials checked on every resource-server request (access
 * tokens, resource-server secrets): written at most once a minute per credential, so verification
 * and introspection stay read-mostly.
 *
 * The decision cannot rest on the row alone. On SQLite the row comes from the read cache
 * (store/read-cache.ts), and a touch is an update the cache lets pass (the query names the column
 * `untracked`): otherwise every token's first use in a minute would drop every cached token, and
 * with many tokens in use the cache would serve almost nothing. The cached row's `last_used_at`
 * may therefore be older than the database's, never newer; this ledger remembers this process's
 * own touches so a stale row does not cause a write per request.
 */

import type { MaybePromise } from '../maybe-promise.js';

/** Seconds between two writes of one credential's `last_used_at`. */
export const TOUCH_INTERVAL = 60;

export function isTouchDue(lastUsedAt: number | null, at: number): boolean {
  return lastUsedAt === null || lastUsedAt <= at - TOUCH_INTERVAL;
}

/**
 * This process's touches of the last one to two minutes, in two generations: an entry is dropped
 * only once it is at least TOUCH_INTERVAL old, when it no longer changes any decision. Only
 * credentials that were found and valid are ever noted, so its size is bounded by real use.
 */
export class LastUsedLedger {
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private rotatedAt = Number.NEGATIVE_INFINITY;

  /**
   * True when credential `id`, whose row says it was last used at `stored`, is due a touch at
   * `at`; the touch is then noted at once, so concurrent requests with the same credential do not
   * each write it. Call `forget` if the write fails.
   */
  claim(id: string, stored: number | null, at: number): boolean {
    const noted = this.current.get(id) ?? this.previous.get(id);
    const last = noted === undefined || (stored !== null && stored > noted) ? stored : noted;
    if (!isTouchDue(last, at)) return false;
    if (at - this.rotatedAt >= TOUCH_INTERVAL) {
      this.previous = this.current;
      this.current = new Map();
      this.rotatedAt = at;
    }
    this.current.set(id, at);
    return true;
  }

  /**
   * `value` at once when no touch is due; otherwise after `write` (the touch) succeeded. A failed
   * write is forgotten, so the next use tries again, and fails the request as before.
   */
  touchIfDue<T>(
    id: string,
    stored: number | null,
    at: number,
    value: T,
    write: (id: string, at: number) => Promise<unknown>,
  ): MaybePromise<T> {
    if (!this.claim(id, stored, at)) return value;
    return write(id, at).then(
      () => value,
      (error: unknown) => {
        this.forget(id);
        throw error;
      },
    );
  }

  /** Undoes a claim whose write did not happen, so the next use tries again. */
  forget(id: string): void {
    this.current.delete(id);
    this.previous.delete(id);
  }

  /** Entries held (tests). */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}
