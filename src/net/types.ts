/**
 * The outbound-fetch contract (PROTOCOL §4). Every URL Latchkey fetches goes through a `Fetcher`;
 * callers never use `fetch`/undici directly, so the SSRF guard, deadlines and caps apply everywhere.
 */

/** Body caps from PROTOCOL §4. */
export const LIMITS = {
  page: 1024 * 1024,
  json: 64 * 1024,
  key: 1024 * 1024,
} as const;

export interface FetchOptions {
  /** DELETE exists for one provider call: GitHub's token revocation (PROTOCOL §9.1). */
  method?: 'GET' | 'POST' | 'DELETE';
  /** `Accept` header suited to what is fetched (PROTOCOL §4). */
  accept: string;
  /** Bytes; a larger body is cut off and the fetch fails with `too_large` (SECURITY G5). */
  maxBytes: number;
  /** Redirect hops followed by hand, each re-checked; 0 = none (client_id metadata). Default 10. */
  maxRedirects?: number;
  /** Form or JSON body for POST (or DELETE). */
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** One redirect hop, kept so identity rules can tell permanent from temporary (PROTOCOL §5). */
export interface RedirectHop {
  from: string;
  to: string;
  status: number;
}

export interface FetchResult {
  /** The URL that produced this response (after redirects). */
  url: string;
  status: number;
  /** Header names lowercased; repeated headers joined with `, ` except `link`, which keeps each value. */
  headers: Headers;
  body: string;
  redirects: RedirectHop[];
}

export type FetchErrorCode =
  | 'bad_url'
  | 'bad_scheme'
  | 'blocked_address'
  | 'too_many_redirects'
  | 'timeout'
  | 'too_large'
  /** An https URL whose host has no TLS at all: nothing on the https port, or it does not speak TLS. */
  | 'no_tls'
  /** An https URL whose certificate is wrong (expired, another name, untrusted): never worked around. */
  | 'bad_certificate'
  | 'network';

/** A fetch Latchkey refused or could not complete; `message` is safe to show to a person. */
export class FetchError extends Error {
  constructor(
    readonly code: FetchErrorCode,
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = 'FetchError';
  }
}

export type Fetcher = (url: string, options: FetchOptions) => Promise<FetchResult>;
