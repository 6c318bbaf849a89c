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

/** Plain words for the consent page (IndieAuth §5.2.1, Micropub, Microsub scopes). */
const DESCRIPTIONS: Record<string, string> = {
  profile: 'see your name, photo and web address',
  email: 'see the email address you signed in with',
  create: 'publish new posts on your site',
  update: 'edit posts on your site',
  delete: 'delete posts on your site',
  media: 'upload files to your site',
  draft: 'create drafts on your site',
  read: 'read your feeds',
  follow: 'follow and unfollow feeds for you',
  mute: 'mute and unmute for you',
  block: 'block and unblock for you',
  channels: 'manage your reader channels',
};

export function describeScope(scope: string): string {
  return DESCRIPTIONS[scope] ?? 'a permission this app defines; ask the app what it does';
}
