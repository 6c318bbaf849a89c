/**
 * The browser session (PROTOCOL §9): a random id in a signed, HttpOnly, SameSite=Lax cookie. The
 * store only knows the id's SHA-256 hash, so a database dump cannot impersonate a browser (SECURITY
 * D7). The signature uses the first `LATCHKEY_SECRET` key; every listed key still verifies, so keys
 * rotate without signing anyone out (SECURITY R7).
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual, randomToken, sha256 } from '../tokens/secrets.js';

/** How long a browser stays signed in to the sites it proved ("Continue as …"). */
export const SESSION_TTL = 30 * 24 * 3600;

export interface Session {
  /** The secret id from the cookie; never stored or logged. */
  id: string;
  /** What the store keys session rows by. */
  hash: string;
}

export function newSession(): Session {
  const id = randomToken();
  return { id, hash: sha256(id) };
}

function mac(purpose: string, value: string, key: string): string {
  return createHmac('sha256', key).update(`${purpose}:${value}`).digest('base64url');
}

/** `value.signature` with the first (current) key; `purpose` keeps one cookie's value from passing as another's. */
export function signValue(purpose: string, value: string, secrets: readonly string[]): string {
  const key = secrets[0];
  if (!key) throw new Error('no secret to sign with');
  return `${value}.${mac(purpose, value, key)}`;
}

/** The value of `signValue`'s output if any configured key signed it (SECURITY R7), else undefined. */
export function verifySigned(
  purpose: string,
  sealed: string | undefined,
  secrets: readonly string[],
): string | undefined {
  if (!sealed) return undefined;
  const dot = sealed.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const value = sealed.slice(0, dot);
  const signature = sealed.slice(dot + 1);
  // Every key is tried (no early exit), so timing does not reveal which key matched.
  let valid = false;
  for (const key of secrets) valid = constantTimeEqual(signature, mac(purpose, value, key)) || valid;
  return valid ? value : undefined;
}

/** The cookie value for a session: `id.signature`. */
export function sealSession(session: Session, secrets: readonly string[]): string {
  return signValue('latchkey-session', session.id, secrets);
}

/** Reads a cookie value; undefined unless some configured key signed it. */
export function openSession(value: string | undefined, secrets: readonly string[]): Session | undefined {
  const id = verifySigned('latchkey-session', value, secrets);
  return id !== undefined && /^[A-Za-z0-9_-]{43}$/.test(id) ? { id, hash: sha256(id) } : undefined;
}

/**
 * The cookie's name: `__Host-` when served over https, so it is pinned to this host, Secure and
 * path `/` (RFC 6265bis §4.1.3.2); a plain name for http development setups.
 */
export function sessionCookieName(issuer: string): string {
  return issuer.startsWith('https:') ? '__Host-latchkey' : 'latchkey_session';
}

/** The Set-Cookie header value for a session (or for clearing it, with `value` empty). */
export function sessionCookieHeader(issuer: string, value: string, maxAge = SESSION_TTL): string {
  const secure = issuer.startsWith('https:');
  const parts = [
    `${sessionCookieName(issuer)}=${value}`,
    'Path=/',
    `Max-Age=${value ? maxAge : 0}`,
    'HttpOnly',
    'SameSite=Lax',
  ];
  if (secure) parts.push('Secure');
  return parts.join('; ');
}
