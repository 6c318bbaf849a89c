/**
 * What the hot token endpoints answer, independent of the HTTP adapter: the Hono routes and the
 * node:http fast path both call these, so the rules live in one place (PROTOCOL §10).
 *
 * Each answers synchronously when the store can (SQLite, cached rows: see maybe-promise.ts) and
 * with a promise otherwise; a refusal is an OAuthError, thrown or rejected accordingly.
 */
import { InvalidClient, InvalidToken, type OAuthError } from '../indieauth/errors.js';
import { after, type MaybePromise } from '../maybe-promise.js';
import type { Services } from '../services.js';
import { bearerToken, type Params, required } from './form.js';

export interface Answer {
  status: 200 | 400 | 401 | 413 | 429 | 500;
  body: object;
  headers?: Record<string, string>;
}

/** `GET /token` with a bearer token: legacy verification (`{me, client_id, scope}`) or 401. */
export function verificationAnswer(
  services: Services,
  authorization: string | undefined,
): MaybePromise<Answer> {
  const token = bearerToken(authorization);
  if (!token) throw new InvalidToken('Send the access token in an "Authorization: Bearer" header.', true);
  return after(services.tokens.verify(token), (active) => {
    if (!active) throw new InvalidToken('The access token is unknown, expired or revoked.');
    return { status: 200, body: { me: active.me, client_id: active.clientId, scope: active.scope } };
  });
}

/** RFC 7662 §2.1: the caller must be authorized; Latchkey uses resource-server bearer secrets. */
export function authenticateIntrospection(
  services: Services,
  authorization: string | undefined,
): MaybePromise<void> {
  return after(services.resourceServers.authenticate(bearerToken(authorization)), (server) => {
    if (!server) {
      throw new InvalidClient(
        'Introspection needs a resource-server credential: "Authorization: Bearer <secret>" from `latchkey resource-server add NAME`.',
      );
    }
  });
}

/** RFC 7662 §2.2: an inactive token gets `{"active": false}` and nothing else (SECURITY D2). */
export function introspectionAnswer(services: Services, params: Params): MaybePromise<Answer> {
  return after(services.tokens.verify(required(params, 'token')), (active): Answer => {
    if (!active) return INACTIVE_ANSWER;
    return {
      status: 200,
      body: {
        active: true,
        me: active.me,
        client_id: active.clientId,
        scope: active.scope,
        exp: active.expiresAt,
        iat: active.issuedAt,
      },
    };
  });
}

const INACTIVE_ANSWER: Answer = Object.freeze({ status: 200, body: Object.freeze({ active: false }) });

/** What an unexpected failure answers: no details, no stack trace. */
export const SERVER_ERROR: Answer = {
  status: 500,
  body: { error: 'server_error', error_description: 'Something went wrong on our side. Try again.' },
};

/** The one conversion of an OAuthError into a response (RFC 6749 §5.2, RFC 6750 §3). */
export function errorAnswer(error: OAuthError): Answer {
  return {
    status: error.status as Answer['status'],
    body: error.toJSON(),
    headers: { ...error.headers, 'Cache-Control': 'no-store' },
  };
}
