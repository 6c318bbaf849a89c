/**
 * URL rules for profile URLs, client_ids and redirect URIs (IndieAuth §3.2–3.3, PROTOCOL §3).
 *
 * Every check looks at the **raw** string as well as the parsed one: the WHATWG URL parser silently
 * drops `..` segments and default ports, accepts `https:example.com`, and rewrites odd IPv4 spellings
 * (`0x7f.1`, `2130706433`, `127.1`), so a parsed URL alone cannot tell what the person typed.
 * Framework-free and pure; `reason` strings are plain words that complete "… is not valid: ".
 */
import { domainToASCII, domainToUnicode } from 'node:url';

export type UrlCheck = { ok: true; url: string } | { ok: false; reason: string };

export type ClientIdCheck = { ok: true; url: string; loopback: boolean } | { ok: false; reason: string };

/** Longer URLs are refused outright; no real profile, client or callback URL comes close. */
export const MAX_URL_LENGTH = 2048;

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
/** Controls, whitespace (incl. CR/LF, NBSP, BOM) and bidi overrides: SECURITY A6 and display safety. */
const FORBIDDEN_CHARS = /[\p{Cc}\s\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const LABEL = /^[a-z0-9_-]{1,63}$/;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

interface RawParts {
  scheme: string;
  userinfo: boolean;
  /** Host as typed (IPv6 literals keep their brackets). */
  host: string;
  /** Port as typed, `''` for `host:`; undefined when there is no colon. */
  port: string | undefined;
  path: string;
  fragment: string | undefined;
}

/** `parsed` is undefined when the WHATWG parser refuses the URL; callers report that after their raw checks. */
type Split = { ok: true; parts: RawParts; parsed: URL | undefined } | { ok: false; reason: string };

const NOT_A_URL = 'it is not a valid URL';

/** Shared raw checks for all three kinds: characters, scheme, `//`, parseability. */
function splitRaw(raw: string, what: string): Split {
  if (typeof raw !== 'string' || raw.length === 0) return { ok: false, reason: 'it is empty' };
  if (raw.length > MAX_URL_LENGTH) {
    return { ok: false, reason: `it is longer than ${MAX_URL_LENGTH} characters` };
  }
  if (FORBIDDEN_CHARS.test(raw)) {
    return {
      ok: false,
      reason: 'it contains a space, line break or other control character, which a URL cannot have',
    };
  }
  if (raw.includes('\\'))
    return { ok: false, reason: 'it contains a backslash (\\); URLs use forward slashes' };

  const scheme = SCHEME.exec(raw);
  if (!scheme || scheme[1]?.includes('.')) {
    return {
      ok: false,
      reason: `it has no scheme; ${what} starts with https:// (like https://example.com/)`,
    };
  }
  const name = (scheme[1] as string).toLowerCase();
  if (name !== 'http' && name !== 'https') {
    return { ok: false, reason: `it uses the "${name}:" scheme; only http:// and https:// URLs are allowed` };
  }
  const rest = raw.slice(scheme[0].length);
  if (!rest.startsWith('//') || rest.startsWith('///')) {
    return {
      ok: false,
      reason: `it should have exactly two slashes after "${name}:" (like ${name}://example.com/)`,
    };
  }

  const afterSlashes = rest.slice(2);
  const hashAt = afterSlashes.indexOf('#');
  const fragment = hashAt >= 0 ? afterSlashes.slice(hashAt + 1) : undefined;
  const beforeHash = hashAt >= 0 ? afterSlashes.slice(0, hashAt) : afterSlashes;
  const authorityEnd = beforeHash.search(/[/?]/);
  const authority = authorityEnd >= 0 ? beforeHash.slice(0, authorityEnd) : beforeHash;
  const pathAndQuery = authorityEnd >= 0 ? beforeHash.slice(authorityEnd) : '';
  const queryAt = pathAndQuery.indexOf('?');
  const path = queryAt >= 0 ? pathAndQuery.slice(0, queryAt) : pathAndQuery;

  const at = authority.lastIndexOf('@');
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  let host = hostPort;
  let port: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    host = close >= 0 ? hostPort.slice(0, close + 1) : hostPort;
    const tail = close >= 0 ? hostPort.slice(close + 1) : '';
    if (tail.startsWith(':')) port = tail.slice(1);
    else if (tail !== '') return { ok: false, reason: NOT_A_URL };
  } else {
    const colon = hostPort.indexOf(':');
    if (colon >= 0) {
      host = hostPort.slice(0, colon);
      port = hostPort.slice(colon + 1);
    }
  }

  let parsed: URL | undefined;
  try {
    parsed = new URL(raw);
  } catch {
    parsed = undefined;
  }
  return { ok: true, parts: { scheme: name, userinfo: at >= 0, host, port, path, fragment }, parsed };
}

function fragmentReason(fragment: string): string {
  return `it contains a fragment ("#${fragment}"); remove the part from # on`;
}

/** Rules shared by profile URLs and client_ids (IndieAuth §3.2–3.3): no fragment, no user/password. */
function fragmentOrUserinfoReason(parts: RawParts): string | undefined {
  if (parts.fragment !== undefined) return fragmentReason(parts.fragment);
  if (parts.userinfo) return 'it contains a user name or password (the part before "@")';
  return undefined;
}

/**
 * A `.` or `..` segment, also one hidden from the URL parser that a web server may still resolve:
 * behind an encoded slash or backslash (`/~alice/%2e%2e%2f~mallory/`: servers that decode `%2F`
 * first serve `/~mallory/`), or before path parameters (`..;x`, which Java servers read as `..`).
 * On a host shared by many people such a URL names someone else's page.
 */
function hasDotSegment(path: string): boolean {
  return path.split(/\/|\\|%2f|%5c/i).some((segment) => DOT_SEGMENT.test(segment.split(';')[0] ?? ''));
}

/**
 * Checks that the host is a plain domain name. The raw host is checked for things the parser would
 * quietly rewrite (percent-encoding, trailing dot); the parsed one for IP addresses in any spelling,
 * since the parser has already turned `0x7f.1` or fullwidth digits into `127.0.0.1`.
 */
function domainReason(rawHost: string, parsed: URL): string | undefined {
  const host = parsed.hostname;
  if (rawHost === '' || host === '') return 'it has no host name';
  if (host.startsWith('[') || IPV4.test(host)) {
    return `its host ${rawHost} is an IP address; use a domain name instead`;
  }
  if (rawHost.includes('%')) return 'its host name contains percent-encoding (%); write the name itself';
  if (rawHost.endsWith('.') || host.endsWith('.')) {
    return 'its host name ends with a dot; write it without the trailing dot';
  }
  if (host.length > 253) return 'its host name is longer than a domain name can be';
  const labels = host.split('.');
  if (labels.some((label) => label === ''))
    return `its host name "${rawHost}" has an empty part between dots`;
  if (!labels.every((label) => LABEL.test(label))) {
    return `its host name "${rawHost}" contains characters a domain name cannot have`;
  }
  return undefined;
}

/**
 * A user profile URL (IndieAuth §3.2, PROTOCOL §3, SECURITY F2): http(s), a path (empty becomes `/`),
 * no `.`/`..` segments, no fragment, no user/password, no port, a domain name (never an IP address).
 * A query string is allowed. The canonical form has a lowercased, punycode host.
 */
export function validateProfileUrl(raw: string): UrlCheck {
  const split = splitRaw(raw, 'a profile URL');
  if (!split.ok) return split;
  const { parts, parsed } = split;
  const common = fragmentOrUserinfoReason(parts);
  if (common) return { ok: false, reason: common };
  if (parts.port !== undefined) {
    return { ok: false, reason: `it contains a port (":${parts.port}"); a profile URL cannot name a port` };
  }
  if (!parsed) return { ok: false, reason: NOT_A_URL };
  const hostProblem = domainReason(parts.host, parsed);
  if (hostProblem) return { ok: false, reason: hostProblem };
  if (hasDotSegment(parts.path)) return { ok: false, reason: 'its path contains a "." or ".." segment' };
  return { ok: true, url: parsed.href };
}

/**
 * A client_id (IndieAuth §3.3, PROTOCOL §3): the profile URL rules, except that a port is allowed and
 * the host may be a loopback interface (`localhost`, `127.0.0.1`, `[::1]`). `loopback` tells callers
 * not to fetch it (PROTOCOL §6).
 */
export function validateClientId(raw: string): ClientIdCheck {
  const split = splitRaw(raw, 'a client_id');
  if (!split.ok) return split;
  const { parts, parsed } = split;
  const common = fragmentOrUserinfoReason(parts);
  if (common) return { ok: false, reason: common };
  if (parts.port !== undefined) {
    const port = Number(parts.port);
    if (!/^\d{1,5}$/.test(parts.port) || port < 1 || port > 65535) {
      return { ok: false, reason: `its port (":${parts.port}") is not a number from 1 to 65535` };
    }
  }
  if (!parsed) return { ok: false, reason: NOT_A_URL };
  const rawHost = parts.host.toLowerCase();
  const literalLoopback = rawHost === '127.0.0.1' || rawHost === '[::1]';
  if (!literalLoopback) {
    const hostProblem = domainReason(parts.host, parsed);
    if (hostProblem) {
      const host = parsed.hostname;
      const ip = host.startsWith('[') || IPV4.test(host);
      let reason = hostProblem;
      if (ip && isLoopbackHost(host)) {
        reason = `its host ${parts.host} is a loopback address spelled unusually; write it as 127.0.0.1 or [::1]`;
      } else if (ip) {
        reason = `its host ${parts.host} is an IP address; only the loopback addresses 127.0.0.1 and [::1] are allowed`;
      }
      return { ok: false, reason };
    }
  }
  if (hasDotSegment(parts.path)) return { ok: false, reason: 'its path contains a "." or ".." segment' };
  return { ok: true, url: parsed.href, loopback: isLoopbackHost(parsed.hostname) };
}

/**
 * A redirect_uri (PROTOCOL §3, SECURITY A1/A4/A6): absolute http(s) only, so `javascript:`, `data:` and
 * `file:` are refused; no fragment (RFC 6749 §3.1.2); no user/password; no `.`/`..` segments (a browser
 * would resolve them to another path than the one compared). Returned as the exact raw string, since
 * it is compared by exact string match.
 */
export function validateRedirectUri(raw: string): UrlCheck {
  const split = splitRaw(raw, 'a redirect URI');
  if (!split.ok) return split;
  const { parts } = split;
  if (parts.fragment !== undefined) return { ok: false, reason: fragmentReason(parts.fragment) };
  if (parts.userinfo)
    return { ok: false, reason: 'it contains a user name or password (the part before "@")' };
  if (parts.host === '') return { ok: false, reason: 'it has no host name' };
  if (hasDotSegment(parts.path)) return { ok: false, reason: 'its path contains a "." or ".." segment' };
  if (!split.parsed) return { ok: false, reason: NOT_A_URL };
  return { ok: true, url: raw };
}

/**
 * What a visitor typed into the sign-in form (PROTOCOL §3): trims it and turns a bare domain
 * (`alice.example`, `alice.example/blog`) into `https://…`. Anything with a scheme, such as
 * `mailto:…`, is left alone so validateProfileUrl can refuse it with a clear reason (SECURITY F2).
 */
export function normaliseSignInInput(raw: string): string {
  const input = raw.trim();
  if (input === '') return input;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(input)) return input;
  if (input.startsWith('//')) return `https:${input}`;
  // `name:` followed by something other than a port number is a scheme (mailto:, javascript:).
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(.?)/.exec(input);
  if (scheme && !scheme[1]?.includes('.') && !/\d/.test(scheme[2] ?? '')) return input;
  const url = `https://${input}`;
  return /^https:\/\/[^/?#]+$/.test(url) ? `${url}/` : url;
}

/**
 * True when the visitor typed no scheme (`alice.example`): the https address is tried, and a site
 * this browser already proved over plain http (`http://alice.example/`) is the same person's too.
 */
export function typedWithoutScheme(raw: string): boolean {
  const input = raw.trim();
  return !/^https:/i.test(input) && normaliseSignInInput(input).startsWith('https://');
}

/** The same address over plain http, offered only when the person chooses it (never automatically). */
export function plainHttpOf(httpsUrl: string): string | undefined {
  return httpsUrl.startsWith('https://') ? `http://${httpsUrl.slice('https://'.length)}` : undefined;
}

/**
 * A URL for people to read: the punycode host shown in Unicode (PROTOCOL §3). Returns the input when
 * it is not a URL. Never use the result for comparison or storage.
 */
export function displayUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (!parsed.hostname.split('.').some((label) => label.startsWith('xn--'))) return url;
  const unicode = domainToUnicode(parsed.hostname);
  if (unicode === '') return url;
  const auth = parsed.username ? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@` : '';
  const port = parsed.port ? `:${parsed.port}` : '';
  return `${parsed.protocol}//${auth}${unicode}${port}${parsed.pathname}${parsed.search}${parsed.hash}`;
}

/**
 * The punycode (ASCII) host of an internationalised URL, or undefined for a plain ASCII host. Pages
 * show it beside the Unicode form, since letters of other alphabets can imitate a familiar name
 * (SECURITY E8).
 */
export function internationalHost(url: string): { unicode: string; ascii: string } | undefined {
  const parsed = parseHttp(url);
  if (!parsed?.hostname.split('.').some((label) => label.startsWith('xn--'))) return undefined;
  const unicode = domainToUnicode(parsed.hostname);
  return unicode === '' || unicode === parsed.hostname ? undefined : { unicode, ascii: parsed.hostname };
}

function parseHttp(url: string): URL | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Same scheme, host and port (PROTOCOL §3: a redirect_uri elsewhere must be published by the client). */
export function sameOrigin(a: string, b: string): boolean {
  const x = parseHttp(a);
  const y = parseHttp(b);
  return !!x && !!y && x.protocol === y.protocol && x.hostname === y.hostname && x.port === y.port;
}

/**
 * True for hosts that name this machine: `localhost` and `*.localhost` (RFC 6761 §6.3), 127.0.0.0/8
 * in dotted form, and `::1`. Latchkey never fetches a loopback client_id (PROTOCOL §6).
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '[::1]' || h === '::1') return true;
  return IPV4.test(h) && h.startsWith('127.');
}

function asciiHost(host: string): string {
  const trimmed = host.toLowerCase().replace(/\.$/, '');
  return domainToASCII(trimmed) || trimmed;
}

/**
 * Label-wise suffix match (SECURITY A3): `sub.example.com` is within `example.com`;
 * `example.com.evil.example` and `badexample.com` are not. Case-insensitive; IDNs compared as punycode.
 */
export function hostIsWithin(host: string, domain: string): boolean {
  const h = asciiHost(host);
  const d = asciiHost(domain);
  if (h === '' || d === '') return false;
  return h === d || h.endsWith(`.${d}`);
}

/**
 * URL equivalence for back-links (PROTOCOL §9, SECURITY F4): host case-insensitive, `/` for an empty
 * path, `http` and `https` equivalent, the fragment ignored; everything else must match exactly —
 * never a substring or prefix match. Provider profile fields often omit the scheme (`alice.example`),
 * so a scheme-less value is read as a bare domain.
 */
export function urlEquivalent(a: string, b: string): boolean {
  const x = parseHttp(withScheme(a));
  const y = parseHttp(withScheme(b));
  if (!x || !y) return false;
  const key = (u: URL) => {
    const defaultPort = u.protocol === 'http:' ? '80' : '443';
    const port = u.port === '' || u.port === defaultPort ? '' : u.port;
    return [u.username, u.password, u.hostname, port, u.pathname || '/', u.search].join('\n');
  };
  return key(x) === key(y);
}

function withScheme(value: string): string {
  const trimmed = value.trim();
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(trimmed) && !/^[^:/]+\.[^:/]*:\d/.test(trimmed)
    ? trimmed
    : `https://${trimmed.replace(/^\/\//, '')}`;
}
