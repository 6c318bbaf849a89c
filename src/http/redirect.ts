/**
 * Redirects whose Location Latchkey builds itself (SECURITY A9). Hono's `c.redirect` runs the whole
 * URL through `encodeURI` when it holds a non-Latin-1 character, which encodes the `%` of the
 * parameters we appended a second time (`state=a%26b` arrives as `a%2526b`, `iss` as
 * `http%253A…`). Here only what may not stand in a header is escaped: characters outside printable
 * ASCII become their UTF-8 percent-escapes (RFC 3986 §2.1), and existing escapes are left alone.
 */
import type { Context } from 'hono';

/** A URL string as a Location header value: printable ASCII, each `%XX` kept as it is. */
export function locationHeader(url: string): string {
  return url.replace(/[^\x21-\x7e]+/gu, (run) => encodeURIComponent(run));
}

export function redirectTo(c: Context, url: string, status: 302 | 303 = 302): Response {
  c.header('Location', locationHeader(url));
  return c.body(null, status);
}
