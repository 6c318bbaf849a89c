/**
 * Operator client rules, pure (PROTOCOL §6 `latchkey clients allow|deny`, SECURITY A10). A rule names
 * an origin — scheme, host, port; host case-insensitive, IDNs as punycode, default ports dropped —
 * and an optional path prefix matched on whole segments:
 *
 * - `https://a.example/` (path `/`) matches the whole origin, so `?`, `/app` and `/?v=2` variants of
 *   a denied client are denied too;
 * - `https://a.example/app` and `https://a.example/app/` match `/app`, `/app/` and everything below,
 *   never `/apple`;
 * - the query is not part of a rule: `https://a.example/?v=2` is the rule `https://a.example/`.
 *
 * Percent-escapes of unreserved characters are decoded in both paths before comparing (RFC 3986
 * §6.2.2.2), so `/%61pp` cannot slip past a rule on `/app`.
 */
import { validateClientId } from './urls.js';

export type ClientDecision = 'allow' | 'deny';

export interface ClientRule {
  /** Canonical text, as stored and shown: origin + path, no query (`https://a.example/app/`). */
  key: string;
  /** `scheme://host[:port]`, as the WHATWG parser serialises it (lowercase punycode host). */
  origin: string;
  /** The path prefix without a trailing slash; '' for the whole origin. */
  base: string;
}

export interface DecidedRule extends ClientRule {
  decision: ClientDecision;
}

export type RuleCheck = { ok: true; rule: ClientRule } | { ok: false; reason: string };

/** Where a client_id sits, for matching: its origin and its normalised path. */
export interface ClientLocation {
  origin: string;
  path: string;
}

/** Parses what an operator typed (or a stored key) into a rule; the client_id rules apply (PROTOCOL §3). */
export function parseClientRule(raw: string): RuleCheck {
  const check = validateClientId(raw);
  if (!check.ok) return check;
  const location = locateClient(check.url);
  if (!location) return { ok: false, reason: 'it is not a valid URL' };
  const base = location.path.endsWith('/') ? location.path.slice(0, -1) : location.path;
  return { ok: true, rule: { key: location.origin + location.path, origin: location.origin, base } };
}

/** The origin and normalised path of a client_id; undefined when it is not an http(s) URL. */
export function locateClient(clientId: string): ClientLocation | undefined {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  const port = url.port === '' ? '' : `:${url.port}`;
  return { origin: `${url.protocol}//${host}${port}`, path: decodeUnreserved(url.pathname || '/') };
}

/** True when the rule covers the client: same origin, and the path is the prefix or below it. */
export function ruleMatches(rule: ClientRule, client: ClientLocation): boolean {
  if (client.origin !== rule.origin) return false;
  return rule.base === '' || client.path === rule.base || client.path.startsWith(`${rule.base}/`);
}

export type Verdict = { ok: true } | { ok: false; why: 'denied' | 'not-allowed' };

/**
 * The one client policy rule (SECURITY A10): Latchkey's own clients (the issuer URL and below: the
 * demo, the account page) are always allowed; otherwise any matching `deny` refuses (deny wins over
 * allow); with any `allow` rule present (allow-list mode) only clients an allow rule covers pass;
 * with no rules everyone does.
 */
export function decideClient(rules: readonly DecidedRule[], own: ClientRule, clientId: string): Verdict {
  if (rules.length === 0) return { ok: true };
  const client = locateClient(clientId);
  if (client && ruleMatches(own, client)) return { ok: true };
  if (client && rules.some((r) => r.decision === 'deny' && ruleMatches(r, client))) {
    return { ok: false, why: 'denied' };
  }
  if (!rules.some((r) => r.decision === 'allow')) return { ok: true };
  if (client && rules.some((r) => r.decision === 'allow' && ruleMatches(r, client))) return { ok: true };
  return { ok: false, why: 'not-allowed' };
}

/** The rule covering Latchkey's own clients: its issuer URL and everything below it. */
export function ownClientsRule(issuer: string): ClientRule {
  // Not parseClientRule: an issuer may be an address a client_id could not be (a private IP).
  const location = locateClient(issuer);
  // Config only accepts http(s) issuers; were it otherwise, a rule with no origin matches nothing.
  if (!location) return { key: issuer, origin: '', base: '' };
  const base = location.path.endsWith('/') ? location.path.slice(0, -1) : location.path;
  return { key: location.origin + location.path, origin: location.origin, base };
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : encoded.toUpperCase();
  });
}
