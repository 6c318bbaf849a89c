/**
 * Code redemption at the authorization endpoint (PROTOCOL §8, IndieAuth §5.3.3): `POST /authorize`
 * (alias `POST /auth`) answers who signed in — `{me, profile?}`, plus `scope` for the legacy flow
 * where a separate token endpoint (e.g. Mintoken) verifies the code here. Servers call this without
 * an Origin, so there is no CSRF check and no CORS (SECURITY E2).
 */
import type { Context, Hono } from 'hono';
import { InvalidGrant, OAuthError } from '../indieauth/errors.js';
import type { Services } from '../services.js';
import { optional, readForm, required } from './form.js';
import { oauthResponse } from './respond.js';
import { clientIdParam, identityBody } from './token.js';

/** The seed's answer to an unknown code on the legacy form (IndieAuth.com developer docs). */
class LegacyInvalidCode extends OAuthError {
  constructor() {
    super('invalid_request', 'The code provided was not valid', 404);
  }
}

export function authorizeRedemptionRoutes(app: Hono, services: Services): void {
  const redeem = async (c: Context) => {
    const params = await readForm(c);
    const legacy = !params.has('grant_type');
    const grantType = optional(params, 'grant_type');
    if (grantType !== undefined && grantType !== 'authorization_code') {
      throw new InvalidGrant(
        `grant_type must be "authorization_code" here, not "${grantType.slice(0, 40)}".`,
      );
    }
    const redemption = await services.codes.redeem('authorize', {
      code: required(params, 'code'),
      clientId: clientIdParam(params),
      redirectUri: optional(params, 'redirect_uri'),
      codeVerifier: optional(params, 'code_verifier'),
    });
    if (!redemption) {
      if (legacy) throw new LegacyInvalidCode();
      throw new InvalidGrant('The authorization code is not valid.');
    }
    services.logger.info(
      { event: 'code.redeemed', at: 'authorize', me: redemption.me, scope: redemption.scope.join(' ') },
      'authorization code redeemed',
    );
    const body = identityBody(redemption.me, redemption.profile);
    if (redemption.scope.length > 0) body.scope = redemption.scope.join(' ');
    return oauthResponse(c, body);
  };
  app.post('/authorize', redeem);
  app.post('/auth', redeem);
}
