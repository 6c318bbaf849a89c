/**
 * The authorization request (`GET /authorize`, PROTOCOL §7, IndieAuth §5.2, RFC 6749 §4.1.1) as a
 * pure decision: a valid request, an error page for the developer (bad client_id or redirect_uri:
 * never redirect to an unverified address, RFC 6749 §4.1.2.1, SECURITY A5), or an error to send back
 * to the client's redirect_uri with `state` and `iss` (RFC 9207).
 *
 * Whether a cross-origin redirect_uri is published by the client needs its client document; the
 * route checks that after this syntax check and before any redirect (PROTOCOL §6).
 */
import type { OAuthErrorCode } from './errors.js';
import { validateChallenge } from './pkce.js';
import { parseScope } from './scopes.js';
import { normaliseSignInInput, validateClientId, validateProfileUrl, validateRedirectUri } from './urls.js';

export interface AuthorizationRequest {
  /** `code` (IndieAuth), or `id`: the legacy sign-in-only form (also when absent). */
  responseType: 'code' | 'id';
  clientId: string;
  /** Loopback client_ids are never fetched (PROTOCOL §6). */
  clientIsLoopback: boolean;
  redirectUri: string;
  state: string | undefined;
  /** null only when the operator allows legacy clients without PKCE (SECURITY B6). */
  codeChallenge: string | null;
  /** Requested scopes; empty for plain sign-in (always empty for `response_type=id`). */
  scope: string[];
  /** The canonical profile URL hint, when `me` was given and valid. */
  me: string | undefined;
  /** `prompt=login`: prove identity again even if the browser is signed in. */
  forceLogin: boolean;
}

/** An error to send to the (syntactically valid) redirect_uri. */
export interface RedirectError {
  error: OAuthErrorCode | 'unsupported_response_type';
  description: string;
}

export type AuthorizationRequestCheck =
  | { kind: 'ok'; request: AuthorizationRequest }
  | { kind: 'error_page'; reason: string }
  | { kind: 'redirect_error'; redirectUri: string; state: string | undefined; error: RedirectError };

export interface AuthorizationRequestOptions {
  /** Operator switch for clients that cannot do PKCE (PROTOCOL §7); off by default. */
  allowNoPkce: boolean;
}

/** RFC 6749 Appendix A.5: state is VSCHAR (%x20-7E); Latchkey caps it at 2 KiB (PROTOCOL §7). */
const STATE = /^[\x20-\x7e]{1,2048}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export function checkAuthorizationRequest(
  query: URLSearchParams,
  options: AuthorizationRequestOptions,
): AuthorizationRequestCheck {
  const seen = new Map<string, string>();
  const repeated = new Set<string>();
  for (const [key, value] of query) {
    if (seen.has(key)) repeated.add(key);
    else seen.set(key, value);
  }
  const get = (name: string) => seen.get(name);

  // 1. client_id and redirect_uri: until both are valid, only a page can answer (A5).
  if (repeated.has('client_id') || repeated.has('redirect_uri')) {
    return { kind: 'error_page', reason: 'client_id and redirect_uri must each be sent exactly once.' };
  }
  const rawClientId = get('client_id');
  if (!rawClientId) return { kind: 'error_page', reason: 'The request has no client_id.' };
  const clientId = validateClientId(rawClientId);
  if (!clientId.ok) return { kind: 'error_page', reason: `The client_id is not valid: ${clientId.reason}.` };
  const rawRedirect = get('redirect_uri');
  if (!rawRedirect) return { kind: 'error_page', reason: 'The request has no redirect_uri.' };
  const redirect = validateRedirectUri(rawRedirect);
  if (!redirect.ok)
    return { kind: 'error_page', reason: `The redirect_uri is not valid: ${redirect.reason}.` };

  // 2. From here on errors go back to the client, with state when it is safe to echo (A7).
  const rawState = get('state');
  const stateOk = rawState === undefined || (STATE.test(rawState) && !repeated.has('state'));
  const fail = (error: RedirectError['error'], description: string): AuthorizationRequestCheck => ({
    kind: 'redirect_error',
    redirectUri: redirect.url,
    state: stateOk ? rawState : undefined,
    error: { error, description },
  });
  if (!stateOk) {
    return fail(
      'invalid_request',
      'state must be 1–2048 printable ASCII characters (RFC 6749 Appendix A.5), sent once.',
    );
  }
  if (repeated.size > 0) {
    return fail(
      'invalid_request',
      `Parameters must not be repeated: ${[...repeated].slice(0, 5).join(', ')}.`,
    );
  }
  for (const [key, value] of seen) {
    if (CONTROL.test(value))
      return fail('invalid_request', `The "${key.slice(0, 40)}" parameter contains control characters.`);
  }

  const rawType = get('response_type');
  if (rawType !== undefined && rawType !== 'code' && rawType !== 'id') {
    return fail(
      'unsupported_response_type',
      'response_type must be "code" (or "id" for the legacy sign-in-only form).',
    );
  }
  const responseType = rawType === 'code' ? 'code' : 'id';

  let codeChallenge: string | null = null;
  const challenge = get('code_challenge');
  const method = get('code_challenge_method');
  if (challenge !== undefined || method !== undefined || !options.allowNoPkce) {
    const check = validateChallenge(challenge, method);
    if (!check.ok) return fail('invalid_request', check.reason);
    codeChallenge = check.challenge;
  }

  const scope = parseScope(get('scope'));
  if (scope === undefined)
    return fail('invalid_scope', 'scope must be space-separated tokens of printable ASCII.');

  const meHint = get('me');
  const me = meHint ? validateProfileUrl(normaliseSignInInput(meHint)) : undefined;

  return {
    kind: 'ok',
    request: {
      responseType,
      clientId: clientId.url,
      clientIsLoopback: clientId.loopback,
      redirectUri: redirect.url,
      state: rawState,
      codeChallenge,
      scope: responseType === 'id' ? [] : scope,
      me: me?.ok ? me.url : undefined,
      forceLogin: get('prompt') === 'login',
    },
  };
}

/**
 * The redirect back to the client (RFC 6749 §4.1.2, RFC 9207 §2): the client's own query is kept,
 * our parameters are added (never a fragment), and `iss` is always present.
 */
export function authorizationResponseUrl(
  redirectUri: string,
  issuer: string,
  params: { code: string; state: string | undefined } | (RedirectError & { state: string | undefined }),
): string {
  const ours = new URLSearchParams();
  if ('code' in params) {
    ours.append('code', params.code);
  } else {
    ours.append('error', params.error);
    ours.append('error_description', params.description);
  }
  if (params.state !== undefined) ours.append('state', params.state);
  ours.append('iss', issuer);
  // Appended to the raw string: re-serialising the client's query through URL would re-encode it.
  const separator = redirectUri.includes('?') ? (/[?&]$/.test(redirectUri) ? '' : '&') : '?';
  return `${redirectUri}${separator}${ours.toString()}`;
}

/**
 * An authorization request URL for when Latchkey is the client (the demo, delegation to a person's
 * own IndieAuth server): `response_type=code` with PKCE S256 (RFC 7636 §4.3) and `state`, added to the
 * endpoint's own query (IndieAuth §5.2).
 */
export function clientAuthorizationUrl(
  endpoint: string,
  params: {
    clientId: string;
    redirectUri: string;
    state: string;
    codeChallenge: string;
    me?: string;
    scope?: string;
  },
): string {
  const url = new URL(endpoint);
  const pairs: [string, string | undefined][] = [
    ['response_type', 'code'],
    ['client_id', params.clientId],
    ['redirect_uri', params.redirectUri],
    ['state', params.state],
    ['code_challenge', params.codeChallenge],
    ['code_challenge_method', 'S256'],
    ['me', params.me],
    ['scope', params.scope],
  ];
  for (const [key, value] of pairs) if (value) url.searchParams.set(key, value);
  return url.href;
}
