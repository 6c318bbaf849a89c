/**
 * Token introspection (RFC 7662) and revocation (RFC 7009).
 */
import type { Hono } from 'hono';
import type { Services } from '../services.js';
import { readForm, required } from './form.js';
import { oauthResponse } from './respond.js';
import { revokeAny } from './token.js';
import { authenticateIntrospection, introspectionAnswer } from './token-answers.js';

export function introspectionRoutes(app: Hono, services: Services): void {
  app.post('/introspect', async (c) => {
    await authenticateIntrospection(services, c.req.header('authorization'));
    const answer = await introspectionAnswer(services, await readForm(c));
    return oauthResponse(c, answer.body, answer.status);
  });

  // RFC 7009 §2.2: 200 whether or not the token was known (SECURITY D3).
  app.post('/revoke', async (c) => {
    const params = await readForm(c);
    await revokeAny(services, required(params, 'token'));
    return c.body(null, 200, { 'Cache-Control': 'no-store' });
  });
}
