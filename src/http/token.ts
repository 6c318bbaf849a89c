/**
 * The token endpoint (PROTOCOL §8, §10): redeem our own codes, refresh, Mintoken-mode exchange of
 * other endpoints' codes, legacy `action=revoke`, and `GET /token` legacy verification. Parses and
 * validates; the services decide.
 */
import type { Hono } from 'hono';
import { InvalidRequest, TemporarilyUnavailable, UnsupportedGrantType } from '../indieauth/errors.js';
import { validateClientId, validateRedirectUri } from '../indieauth/urls.js';
import type { Services } from '../services.js';
import type { Profile } from '../tokens/codes.js';
import { exchangeWithTrustedEndpoint } from '../tokens/mintoken.js';
import type { TokenPair } from '../tokens/refresh-tokens.js';
import { optional, type Params, readForm, required } from './form.js';
import { INFLIGHT_RETRY_AFTER, type InflightLimit } from './inflight-limit.js';
import { oauthResponse } from './respond.js';
import { verificationAnswer } from './token-answers.js';

/**
 * `exchangeWork`: the per-address limit on Mintoken-mode exchanges in flight (SECURITY R4), which
 * discover the `me` they are sent: a stranger must not keep this server fetching sites at will.
 */
export function tokenRoutes(app: Hono, services: Services, exchangeWork: Pick<InflightLimit, 'run'>): void {
  app.get('/token', async (c) => {
    const answer = await verificationAnswer(services, c.req.header('authorization'));
    return oauthResponse(c, answer.body, answer.status);
  });

  app.post('/token', async (c) => {
    const params = await readForm(c);

    // Legacy revocation (tokens.indieauth.com, Mintoken): always 200, like RFC 7009.
    if (params.get('action') === 'revoke') {
      await revokeAny(services, required(params, 'token'));
      return c.body(null, 200, { 'Cache-Control': 'no-store' });
    }
    if (params.has('action')) throw new InvalidRequest('The only supported "action" is "revoke".');

    const grantType = optional(params, 'grant_type') ?? 'authorization_code';
    if (grantType === 'refresh_token' && services.refreshTokens) {
      const pair = await services.refreshTokens.refresh({
        refreshToken: required(params, 'refresh_token'),
        clientId: clientIdParam(params),
        scope: optional(params, 'scope'),
      });
      services.logger.info(
        { event: 'token.refreshed', me: pair.me, scope: pair.scope },
        'access token refreshed',
      );
      return oauthResponse(c, tokenBody(pair));
    }
    if (grantType !== 'authorization_code') throw new UnsupportedGrantType(grantType);

    const code = required(params, 'code');
    const clientId = clientIdParam(params);
    const redirectUri = validateRedirectUri(required(params, 'redirect_uri'));
    if (!redirectUri.ok) throw new InvalidRequest(`"redirect_uri" is not valid: ${redirectUri.reason}`);
    const codeVerifier = optional(params, 'code_verifier');

    // Our own code (PROTOCOL §8): a token when it has scope, else the identity only (C8).
    const ours = await services.codes.redeem('token', {
      code,
      clientId,
      redirectUri: redirectUri.url,
      codeVerifier,
    });
    if (ours) {
      services.logger.info(
        {
          event: 'code.redeemed',
          at: 'token',
          me: ours.me,
          client_id: clientId,
          scope: ours.scope.join(' '),
        },
        'authorization code redeemed',
      );
      if (!ours.tokens) return oauthResponse(c, identityBody(ours.me, ours.profile));
      return oauthResponse(c, {
        ...tokenBody(ours.tokens),
        ...(ours.profile ? { profile: ours.profile } : {}),
      });
    }

    // Someone else's code (Mintoken mode, PROTOCOL §10); `me` may come as ?me= on the endpoint URL.
    const me = optional(params, 'me') ?? c.req.query('me');
    if (!me) {
      throw new InvalidRequest(
        'The code is not one this server issued, and "me" is missing: send the profile URL (in the body or as ?me= on the token endpoint URL) so the code can be verified with its authorization endpoint.',
      );
    }
    const issued = await exchangeWork.run(
      c,
      () =>
        exchangeWithTrustedEndpoint(services, {
          code,
          clientId,
          redirectUri: redirectUri.url,
          me,
          codeVerifier,
        }),
      () => {
        throw new TemporarilyUnavailable(
          'Too many code exchanges at once from your address; wait for the others to finish, then try again.',
          INFLIGHT_RETRY_AFTER,
        );
      },
    );
    services.logger.info(
      { event: 'token.issued', mode: 'mintoken', me: issued.me, client_id: clientId, scope: issued.scope },
      'access token issued',
    );
    return oauthResponse(c, tokenBody(issued));
  });
}

export function clientIdParam(params: Params): string {
  const clientId = validateClientId(required(params, 'client_id'));
  if (!clientId.ok) throw new InvalidRequest(`"client_id" is not valid: ${clientId.reason}`);
  return clientId.url;
}

/** The identity answer (IndieAuth §5.3.3), also IndieLogin's `/token` shape without scope. */
export function identityBody(me: string, profile: Profile | undefined): Record<string, unknown> {
  return profile ? { me, profile } : { me };
}

/** The access-token answer (IndieAuth §5.3.3, RFC 6749 §5.1). */
function tokenBody(pair: TokenPair): Record<string, unknown> {
  return {
    access_token: pair.accessToken,
    token_type: 'Bearer',
    scope: pair.scope,
    me: pair.me,
    expires_in: pair.expiresIn,
    ...(pair.refreshToken ? { refresh_token: pair.refreshToken } : {}),
  };
}

/** Revokes an access token, or a refresh token and its grant (RFC 7009 §2.1). */
export async function revokeAny(services: Services, token: string): Promise<void> {
  await services.tokens.revoke(token);
  await services.refreshTokens?.revoke(token);
}
