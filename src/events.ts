/**
 * One typed event bus per Services (DESIGN layout): the services, the fetcher, the purge and the
 * request handler emit what happened; the metrics (src/metrics.ts) subscribe. Events carry only
 * bounded values (route patterns, method ids, outcomes), never a `me`, client_id, token or email,
 * because whatever listens may turn fields into metric labels.
 *
 * Synchronous and cheap: `token.verified` runs on every resource-server request (the fast path),
 * so `emit` is one property read and a loop over an array, allocating nothing; callers on hot paths
 * pass preallocated payloads (`ACTIVE`, `INACTIVE`). Instances, not a global, so two servers in one
 * process (tests) never mix their counts.
 */
import type { FetchErrorCode } from './net/types.js';

/** Why a started sign-in did not finish: the method refused the proof (wrong code, rate limit, …). */
export type SignInFailure = 'refused';

/** How an outbound fetch ended: an answer (`ok` below 400, `http_error` from 400) or a FetchError code. */
export type FetchOutcome = 'ok' | 'http_error' | FetchErrorCode;

export interface EventMap {
  /** One answered (or abandoned: status `aborted`) HTTP request, counted once in src/server.ts. */
  'http.request': { route: string; method: string; status: string; seconds: number };
  /** A method began proving an identity (the attempt moved to `proving`). */
  'signin.started': { method: string };
  /** The method proved the identity. */
  'signin.finished': { method: string };
  'signin.failed': { method: string; reason: SignInFailure };
  /** An authorization code was issued; `method` is how the person proved their site. */
  'code.issued': { method: string };
  'code.redeemed': { at: 'authorize' | 'token' };
  /** After the issuing transaction committed. */
  'token.issued': { kind: 'access' | 'refresh'; via: 'code' | 'mintoken' | 'refresh' };
  /** Every access-token verification (`GET /token`, `/introspect`, `/userinfo`, the fast path). */
  'token.verified': { active: boolean };
  'token.refreshed': Record<string, never>;
  /** `access`: one access token by value (RFC 7009); `grant`: grants ended, with their tokens. */
  'token.revoked': { kind: 'access' | 'grant'; count: number };
  'fetch.done': { outcome: FetchOutcome };
  /** One purge run (SECURITY R6); `ok: false` when it failed, `rows` then 0. */
  'purge.run': { ok: boolean; rows: number };
}

export type EventName = keyof EventMap;
export type Listener<K extends EventName> = (event: EventMap[K]) => void;

/** Preallocated payloads for the hot verification path. */
export const ACTIVE: EventMap['token.verified'] = Object.freeze({ active: true });
export const INACTIVE: EventMap['token.verified'] = Object.freeze({ active: false });
export const NO_FIELDS: Record<string, never> = Object.freeze({});

export class Events {
  /** Copy-on-write arrays, so a listener added or removed during `emit` never disturbs the loop. */
  private readonly listeners: { [K in EventName]?: Listener<K>[] } = {};

  /**
   * @param onListenerError A broken listener must not fail the request that emitted (a metrics bug
   *   is not a 500 on `GET /token`); it is reported here instead.
   */
  constructor(private readonly onListenerError?: (error: unknown, type: EventName) => void) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends EventName>(type: K, listener: Listener<K>): () => void {
    const current = (this.listeners[type] ?? []) as Listener<K>[];
    this.setListeners(type, [...current, listener]);
    return () => {
      const now = (this.listeners[type] ?? []) as Listener<K>[];
      this.setListeners(
        type,
        now.filter((l) => l !== listener),
      );
    };
  }

  emit<K extends EventName>(type: K, event: EventMap[K]): void {
    const list = this.listeners[type] as Listener<K>[] | undefined;
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as Listener<K>)(event);
      } catch (error) {
        this.onListenerError?.(error, type);
      }
    }
  }

  private setListeners<K extends EventName>(type: K, list: Listener<K>[]): void {
    (this.listeners as Record<K, Listener<K>[] | undefined>)[type] = list.length > 0 ? list : undefined;
  }
}
