/**
 * Scopes: space-delimited, case-sensitive tokens of %x21 / %x23-5B / %x5D-7E (RFC 6749 §3.3).
 */

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Splits a scope string into unique tokens in their original order; undefined if malformed. */
export function parseScope(value: string | undefined | null): string[] | undefined {
  if (value === undefined || value === null) return [];
  const tokens = value.split(' ').filter((t) => t.length > 0);
  if (!tokens.every((t) => SCOPE_TOKEN.test(t))) return undefined;
  return [...new Set(tokens)];
}

export function formatScope(tokens: readonly string[]): string {
  return tokens.join(' ');
}

/** Scopes Latchkey knows how to describe; others are passed through to resource servers. */
export const KNOWN_SCOPES = [
  'profile',
  'email',
  'create',
  'update',
  'delete',
  'media',
  'read',
  'follow',
  'mute',
  'block',
  'channels',
  'draft',
] as const;
