import { describe, expect, it } from 'vitest';
import {
  authorizationResponseUrl,
  checkAuthorizationRequest,
} from '../../src/indieauth/authorization-request.js';
import { s256 } from '../../src/indieauth/pkce.js';

const CHALLENGE = s256('a-verifier-that-is-long-enough-for-rfc7636-0123456789');
const base = {
  response_type: 'code',
  client_id: 'https://app.example/',
  redirect_uri: 'https://app.example/callback',
  state: 'xyz',
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
};
const check = (params: Record<string, string | undefined>, allowNoPkce = false) => {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...base, ...params })) if (v !== undefined) query.append(k, v);
  return checkAuthorizationRequest(query, { allowNoPkce });
};

describe('authorization request (PROTOCOL §7)', () => {
  it('accepts a complete request', () => {
    const result = check({ scope: 'create profile', me: 'alice.example', prompt: 'login' });
    expect(result).toEqual({
      kind: 'ok',
      request: {
        responseType: 'code',
        clientId: 'https://app.example/',
        clientIsLoopback: false,
        redirectUri: 'https://app.example/callback',
        state: 'xyz',
        codeChallenge: CHALLENGE,
        scope: ['create', 'profile'],
        me: 'https://alice.example/',
        forceLogin: true,
      },
    });
  });

  it('A5: invalid or missing client_id or redirect_uri is an error page, never a redirect', () => {
    for (const params of [
      { client_id: undefined },
      { client_id: 'app.example' },
      { client_id: 'https://10.0.0.1/' },
      { redirect_uri: undefined },
      { redirect_uri: 'javascript:alert(1)' },
      { redirect_uri: 'data:text/html,hi' },
      { redirect_uri: 'file:///etc/passwd' },
      { redirect_uri: 'https://app.example/cb#frag' },
    ]) {
      expect(check(params).kind, JSON.stringify(params)).toBe('error_page');
    }
    const twice = new URLSearchParams(base);
    twice.append('redirect_uri', 'https://evil.example/');
    expect(checkAuthorizationRequest(twice, { allowNoPkce: false }).kind).toBe('error_page');
  });

  it('A6: control characters in any parameter are refused', () => {
    const result = check({ scope: 'create', me: 'https://alice.example/\r\nSet-Cookie: a=b' });
    expect(result).toMatchObject({ kind: 'redirect_error', error: { error: 'invalid_request' } });
    expect(check({ client_id: 'https://app.example/\n' }).kind).toBe('error_page');
  });

  it('A7: state with reserved characters comes back byte-for-byte; oversized state is refused', () => {
    const state = 'a&b=c?d/e+f%20g h#i;j,k:l@m$n!o*p\'q(r)s"t<u>v';
    const ok = check({ state });
    expect(ok.kind).toBe('ok');
    const url = authorizationResponseUrl('https://app.example/callback', 'https://login.example/', {
      code: 'c',
      state,
    });
    expect(new URL(url).searchParams.get('state')).toBe(state);
    const big = check({ state: 'x'.repeat(2049) });
    expect(big).toMatchObject({
      kind: 'redirect_error',
      state: undefined,
      error: { error: 'invalid_request' },
    });
    expect(check({ state: 'caf\u00e9' }).kind).toBe('redirect_error');
  });

  it('A8: an invalid scope, once client and redirect are valid, redirects with error, state and iss', () => {
    const result = check({ scope: 'create "quoted"' });
    expect(result).toMatchObject({ kind: 'redirect_error', state: 'xyz', error: { error: 'invalid_scope' } });
    if (result.kind !== 'redirect_error') throw new Error('unreachable');
    const url = new URL(
      authorizationResponseUrl(result.redirectUri, 'https://login.example/', {
        ...result.error,
        state: result.state,
      }),
    );
    expect(url.searchParams.get('error')).toBe('invalid_scope');
    expect(url.searchParams.get('state')).toBe('xyz');
    expect(url.searchParams.get('iss')).toBe('https://login.example/');
  });

  it('B1: plain or unknown PKCE methods are refused', () => {
    for (const method of ['plain', 'S512']) {
      expect(check({ code_challenge_method: method })).toMatchObject({ kind: 'redirect_error' });
    }
  });

  it('B2: malformed challenges are refused', () => {
    expect(check({ code_challenge: 'too-short' })).toMatchObject({ kind: 'redirect_error' });
  });

  it('B6: no challenge at all is refused unless the operator enabled legacy clients', () => {
    const without = { code_challenge: undefined, code_challenge_method: undefined };
    expect(check(without)).toMatchObject({ kind: 'redirect_error', error: { error: 'invalid_request' } });
    const legacy = check(without, true);
    expect(legacy).toMatchObject({ kind: 'ok', request: { codeChallenge: null } });
    // A challenge that is sent must still be valid, even in legacy mode.
    expect(check({ code_challenge_method: 'plain' }, true).kind).toBe('redirect_error');
  });

  it('response_type: code, or id / absent for the legacy sign-in-only form; others refused', () => {
    expect(check({ response_type: 'id', scope: 'create' })).toMatchObject({
      kind: 'ok',
      request: { responseType: 'id', scope: [] },
    });
    expect(check({ response_type: undefined })).toMatchObject({
      kind: 'ok',
      request: { responseType: 'id' },
    });
    expect(check({ response_type: 'token' })).toMatchObject({
      error: { error: 'unsupported_response_type' },
    });
  });

  it('an invalid me hint is ignored rather than trusted', () => {
    expect(check({ me: 'https://127.0.0.1/' })).toMatchObject({ kind: 'ok', request: { me: undefined } });
  });

  it('loopback client_ids are recognised so they are never fetched', () => {
    const result = check({ client_id: 'http://127.0.0.1:8080/', redirect_uri: 'http://127.0.0.1:8080/cb' });
    expect(result).toMatchObject({ kind: 'ok', request: { clientIsLoopback: true } });
  });

  it("the response keeps the client's own query as it was and always carries iss", () => {
    const url = authorizationResponseUrl('https://app.example/cb?x=a%20b&y', 'https://login.example/', {
      code: 'the-code',
      state: 's',
    });
    expect(url).toBe(
      'https://app.example/cb?x=a%20b&y&code=the-code&state=s&iss=https%3A%2F%2Flogin.example%2F',
    );
    expect(
      authorizationResponseUrl('https://app.example/cb?', 'https://i/', { code: 'c', state: undefined }),
    ).toBe('https://app.example/cb?code=c&iss=https%3A%2F%2Fi%2F');
  });
});
