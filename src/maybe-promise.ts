/**
 * A value that is ready now or later. better-sqlite3 answers synchronously, so on SQLite a cached
 * token verification can finish inside the request handler with no promise, microtask or await at
 * all, the way a bare `node:http` handler does (DESIGN "Fast where it matters"); on PostgreSQL the
 * same code waits. `await` treats both alike, so callers that are async anyway need not care.
 */
export type MaybePromise<T> = T | Promise<T>;

/** Runs `next` on the value: at once if it is ready, once it resolves if it is a promise. */
export function after<T, U>(value: MaybePromise<T>, next: (ready: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

const SETTLED = Promise.resolve();

/**
 * Runs `callback` in a microtask, after the code now running and the microtasks already queued:
 * the end of this turn of the event loop. `queueMicrotask` would do the same, but on Node 20 it
 * builds an AsyncResource and a bound function per call (lib/internal/process/task_queues.js),
 * about three times the cost of a settled promise's reaction, and the token hot path calls this
 * once per request. `callback` must not throw: it would surface as an unhandled rejection.
 */
export function atEndOfTurn(callback: () => void): void {
  void SETTLED.then(callback);
}
