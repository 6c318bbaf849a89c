/**
 * `GET /userinfo` (PROTOCOL §10; IndieAuth §5.3.4 profile information): a bearer token with the
 * `profile` scope reads the name, url and photo the person's h-card gave at sign-in; with `email`
 * too, the address they proved. Errors per RFC 6750 §3 in `WWW-Authenticate`.
 */
import type { Hono } from 'hono';
import { InvalidToken, OAuthError } from '../indieauth/errors.js';
import { parseScope } from '../indieauth/scopes.js';
import type { Services } from '../services.js';
import { findGrantProfile } from '../store/tokens.js';
import { selectProfile } from '../tokens/codes.js';
import { bearerToken } from './form.js';

/** RFC 6750 §3.1: the token is fine but lacks the scope this resource needs. */
class InsufficientScope extends OAuthError {
  constructor(scope: string) {
    super('insufficient_scope', `The access token needs the "${scope}" scope.`, 403);
    this.headers['WWW-Authenticate'] = `Bearer error="insufficient_scope", scope="${scope}"`;
  }
}

export function userinfoRoutes(app: Hono, services: Services): void {
  app.get('/userinfo', async (c) => {
    const token = bearerToken(c.req.header('authorization'));
    if (!token) throw new InvalidToken('Send the access token in an "Authorization: Bearer" header.', true);
    const active = await services.tokens.verify(token);
    if (!active) throw new InvalidToken('The access token is unknown, expired or revoked.');
    const scope = parseScope(active.scope) ?? [];
    if (!scope.includes('profile')) throw new InsufficientScope('profile');
    const stored = await findGrantProfile(services.store.db, active.id);
    const profile = selectProfile(stored ?? JSON.stringify({ url: active.me }), scope) ?? {};
    c.header('Cache-Control', 'no-store');
    return c.json({ url: active.me, ...profile });
  });
}
