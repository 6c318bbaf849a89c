/**
 * Token introspection (RFC 7662) and revocation (RFC 7009).
 */
import type { Hono } from 'hono';
import { InvalidClient } from '../indieauth/errors.js';
import type { Services } from '../services.js';
import { bearerToken, readForm, required } from './form.js';
import { oauthResponse } from './respond.js';

export function introspectionRoutes(app: Hono, services: Services): void {
  // RFC 7662 §2.1: the caller must be authorized; Latchkey uses resource-server bearer secrets.
  app.post('/introspect', async (c) => {
    const server = await services.resourceServers.authenticate(bearerToken(c.req.header('authorization')));
    if (!server) {
      throw new InvalidClient(
        'Introspection needs a resource-server credential: "Authorization: Bearer <secret>" from `latchkey resource-server add NAME`.',
      );
    }
    const params = await readForm(c);
    const active = await services.tokens.verify(required(params, 'token'));
    // RFC 7662 §2.2: an inactive token gets `{"active": false}` and nothing else (SECURITY D2).
    if (!active) return oauthResponse(c, { active: false });
    return oauthResponse(c, {
      active: true,
      me: active.me,
      client_id: active.clientId,
      scope: active.scope,
      exp: active.expiresAt,
      iat: active.issuedAt,
    });
  });

  // RFC 7009 §2.2: 200 whether or not the token was known (SECURITY D3).
  app.post('/revoke', async (c) => {
    const params = await readForm(c);
    await services.tokens.revoke(required(params, 'token'));
    return c.body(null, 200, { 'Cache-Control': 'no-store' });
  });
}
