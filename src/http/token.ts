/**
 * The token endpoint (PROTOCOL §10): `POST /token` code exchange and legacy `action=revoke`,
 * `GET /token` legacy verification. Parses and validates; the services decide.
 */
import type { Hono } from 'hono';
import { InvalidRequest, UnsupportedGrantType } from '../indieauth/errors.js';
import { validateClientId, validateRedirectUri } from '../indieauth/urls.js';
import type { Services } from '../services.js';
import { exchangeWithTrustedEndpoint } from '../tokens/mintoken.js';
import { optional, readForm, required } from './form.js';
import { oauthResponse } from './respond.js';
import { verificationAnswer } from './token-answers.js';

export function tokenRoutes(app: Hono, services: Services): void {
  app.get('/token', async (c) => {
    const answer = await verificationAnswer(services, c.req.header('authorization'));
    return oauthResponse(c, answer.body, answer.status);
  });

  app.post('/token', async (c) => {
    const params = await readForm(c);

    // Legacy revocation (tokens.indieauth.com, Mintoken): always 200, like RFC 7009.
    if (params.get('action') === 'revoke') {
      await services.tokens.revoke(required(params, 'token'));
      return c.body(null, 200, { 'Cache-Control': 'no-store' });
    }
    if (params.has('action')) throw new InvalidRequest('The only supported "action" is "revoke".');

    const grantType = optional(params, 'grant_type') ?? 'authorization_code';
    if (grantType !== 'authorization_code') throw new UnsupportedGrantType(grantType);

    const clientId = validateClientId(required(params, 'client_id'));
    if (!clientId.ok) throw new InvalidRequest(`"client_id" is not valid: ${clientId.reason}`);
    const redirectUri = validateRedirectUri(required(params, 'redirect_uri'));
    if (!redirectUri.ok) throw new InvalidRequest(`"redirect_uri" is not valid: ${redirectUri.reason}`);
    // Mintoken required `me` and accepted it on the endpoint URL too (`/token?me=…`).
    const me = optional(params, 'me') ?? c.req.query('me');
    if (!me) {
      throw new InvalidRequest(
        'The "me" parameter is missing: send the profile URL (in the body or as ?me= on the token endpoint URL) so the code can be verified with its authorization endpoint.',
      );
    }

    const issued = await exchangeWithTrustedEndpoint(services, {
      code: required(params, 'code'),
      clientId: clientId.url,
      redirectUri: redirectUri.url,
      me,
      codeVerifier: optional(params, 'code_verifier'),
    });
    services.logger.info(
      {
        event: 'token.issued',
        mode: 'mintoken',
        me: issued.me,
        client_id: clientId.url,
        scope: issued.scope,
      },
      'access token issued',
    );
    return oauthResponse(c, {
      access_token: issued.accessToken,
      token_type: 'Bearer',
      scope: issued.scope,
      me: issued.me,
      expires_in: issued.expiresIn,
    });
  });
}
