/**
 * Our own authorization codes and refresh tokens at the endpoints (PROTOCOL §8, §10;
 * SECURITY B3–B5, C1–C9, D5, D6). Codes are issued through the code service, as the authorization
 * endpoint does after a person signs in and consents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { NewCode } from '../../src/tokens/codes.js';
import { createTestApp, form, type TestApp } from '../helpers/app.js';
import { storeTargets } from '../helpers/stores.js';

const CLIENT = 'https://app.example/';
const REDIRECT = 'https://app.example/callback';
const VERIFIER = 'a-verifier-that-is-long-enough-for-rfc7636-0123456789';
const ME = 'https://alice.example/';

describe.each(storeTargets)('codes and refresh tokens on $name', (target) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(target);
  });
  afterAll(async () => {
    await t.close();
  });

  const issue = (overrides: Partial<NewCode> = {}) =>
    t.services.codes.issue({
      clientId: CLIENT,
      redirectUri: REDIRECT,
      codeChallenge: s256(VERIFIER),
      me: ME,
      scope: ['create', 'profile'],
      profile: { name: 'Alice', url: ME, photo: 'https://alice.example/me.jpg', email: 'alice@example.com' },
      authMethod: 'email',
      ...overrides,
    });
  const redeem = (
    path: '/token' | '/authorize' | '/auth',
    code: string,
    extra: Record<string, string> = {},
  ) =>
    t.app.request(
      path,
      form({
        grant_type: 'authorization_code',
        code,
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
        ...extra,
      }),
    );
  const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
  const verify = (token: unknown) =>
    t.app.request('/token', { headers: { authorization: `Bearer ${String(token)}` } });

  it('a code with scope becomes an access token, a refresh token and the profile at /token', async () => {
    const res = await redeem('/token', await issue());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await json(res);
    expect(body).toMatchObject({
      token_type: 'Bearer',
      scope: 'create profile',
      me: ME,
      expires_in: 7 * 86400,
    });
    expect(body.profile).toEqual({ name: 'Alice', url: ME, photo: 'https://alice.example/me.jpg' });
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await verify(body.access_token)).status).toBe(200);
  });

  it('the email scope adds the proven email to the profile', async () => {
    const body = await json(await redeem('/token', await issue({ scope: ['profile', 'email'] })));
    expect((body.profile as Record<string, string>).email).toBe('alice@example.com');
  });

  it('C8: a code without scope never yields an access token ({me} only)', async () => {
    const res = await redeem('/token', await issue({ scope: [] }));
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ me: ME });
  });

  it('POST /authorize answers {me, profile} and the scope for separate token endpoints', async () => {
    const res = await redeem('/authorize', await issue());
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      me: ME,
      scope: 'create profile',
      profile: { name: 'Alice', url: ME, photo: 'https://alice.example/me.jpg' },
    });
    const signInOnly = await redeem('/auth', await issue({ scope: [] }));
    expect(await json(signInOnly)).toEqual({ me: ME });
  });

  it("legacy POST /auth without grant_type: an unknown code is the seed's 404", async () => {
    const res = await t.app.request(
      '/auth',
      form({ code: 'unknown', client_id: CLIENT, redirect_uri: REDIRECT }),
    );
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({
      error: 'invalid_request',
      error_description: 'The code provided was not valid',
    });
    const modern = await redeem('/authorize', 'unknown');
    expect(modern.status).toBe(400);
    expect((await json(modern)).error).toBe('invalid_grant');
  });

  it('B3: a wrong verifier is invalid_grant', async () => {
    const res = await redeem('/token', await issue(), { code_verifier: `${VERIFIER}x` });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_grant');
  });

  it('B4: a missing verifier for a code with a challenge is invalid_grant', async () => {
    const code = await issue();
    const res = await t.app.request(
      '/token',
      form({ grant_type: 'authorization_code', code, client_id: CLIENT, redirect_uri: REDIRECT }),
    );
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_grant');
  });

  it('B5: a verifier sent for a code issued without a challenge is refused (downgrade)', async () => {
    const code = await issue({ codeChallenge: null });
    const res = await redeem('/token', code);
    expect(res.status).toBe(400);
    const ok = await t.app.request(
      '/token',
      form({ grant_type: 'authorization_code', code, client_id: CLIENT, redirect_uri: REDIRECT }),
    );
    expect(ok.status).toBe(200);
  });

  it('C1: a second valid redemption is refused and the tokens of the first are revoked', async () => {
    const code = await issue();
    const first = await json(await redeem('/token', code));
    expect((await verify(first.access_token)).status).toBe(200);
    const second = await redeem('/token', code);
    expect(second.status).toBe(400);
    expect((await json(second)).error).toBe('invalid_grant');
    expect((await verify(first.access_token)).status).toBe(401);
    const refresh = await t.app.request(
      '/token',
      form({ grant_type: 'refresh_token', refresh_token: String(first.refresh_token), client_id: CLIENT }),
    );
    expect(refresh.status).toBe(400);
  });

  it('C2: an invalid replay (wrong verifier or client) revokes nothing', async () => {
    const code = await issue();
    const first = await json(await redeem('/token', code));
    expect((await redeem('/token', code, { code_verifier: `${VERIFIER}x` })).status).toBe(400);
    expect((await redeem('/token', code, { client_id: 'https://evil.example/' })).status).toBe(400);
    expect((await verify(first.access_token)).status).toBe(200);
  });

  it('C3: an invalid attempt does not consume the code', async () => {
    const code = await issue();
    expect((await redeem('/token', code, { code_verifier: `${VERIFIER}x` })).status).toBe(400);
    expect((await redeem('/token', code, { redirect_uri: 'https://app.example/other' })).status).toBe(400);
    expect((await redeem('/token', code)).status).toBe(200);
  });

  it('C4: an expired code is refused', async () => {
    const code = await issue();
    t.clock.now += 61;
    try {
      const res = await redeem('/token', code);
      expect(res.status).toBe(400);
      expect(String((await json(res)).error_description)).toContain('expired');
    } finally {
      t.clock.now -= 61;
    }
  });

  it('C5: another client_id is refused', async () => {
    const res = await redeem('/token', await issue(), { client_id: 'https://other.example/' });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toBe('invalid_grant');
  });

  it('C6: another or a missing redirect_uri is refused', async () => {
    const code = await issue();
    for (const redirect of [
      'https://app.example/callback/',
      'https://app.example/callback?x=1',
      'https://APP.example/callback',
    ]) {
      expect((await redeem('/token', code, { redirect_uri: redirect })).status, redirect).toBe(400);
    }
    const missing = await t.app.request(
      '/authorize',
      form({ grant_type: 'authorization_code', code, client_id: CLIENT, code_verifier: VERIFIER }),
    );
    expect(missing.status).toBe(400);
    expect((await redeem('/token', code)).status).toBe(200);
  });

  it('C7: a code redeemed at /authorize cannot be redeemed at /token, and vice versa', async () => {
    const a = await issue();
    expect((await redeem('/authorize', a)).status).toBe(200);
    expect((await redeem('/token', a)).status).toBe(400);
    const b = await issue();
    const tokens = await json(await redeem('/token', b));
    expect((await redeem('/authorize', b)).status).toBe(400);
    expect((await verify(tokens.access_token)).status).toBe(401);
  });

  it('C9: 50 concurrent redemptions of one code give exactly one success', async () => {
    const code = await issue();
    const responses = await Promise.all(Array.from({ length: 50 }, () => redeem('/token', code)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 400)).toHaveLength(49);
  });

  it('C10: a used code replayed after it expired is still a replay and revokes the first tokens', async () => {
    const code = await issue();
    const first = await json(await redeem('/token', code));
    expect((await verify(first.access_token)).status).toBe(200);
    t.clock.now += 61; // past the code's 60 s, well within the access token's 7 days
    try {
      const replay = await redeem('/token', code);
      expect(replay.status).toBe(400);
      const body = await json(replay);
      expect(body.error).toBe('invalid_grant');
      expect(String(body.error_description)).toContain('already used');
      expect((await verify(first.access_token)).status).toBe(401);
      const refreshed = await t.app.request(
        '/token',
        form({ grant_type: 'refresh_token', refresh_token: String(first.refresh_token), client_id: CLIENT }),
      );
      expect(refreshed.status).toBe(400);
    } finally {
      t.clock.now -= 61;
    }
  });

  it('C10: after expiry an invalid replay (wrong verifier or client) still revokes nothing (C2)', async () => {
    const code = await issue();
    const first = await json(await redeem('/token', code));
    t.clock.now += 61;
    try {
      expect((await redeem('/token', code, { code_verifier: `${VERIFIER}x` })).status).toBe(400);
      expect((await redeem('/token', code, { client_id: 'https://evil.example/' })).status).toBe(400);
      expect((await redeem('/authorize', code, { code_verifier: `${VERIFIER}x` })).status).toBe(400);
      expect((await verify(first.access_token)).status).toBe(200);
    } finally {
      t.clock.now -= 61;
    }
  });

  it('C10: a used code replayed after expiry at the other endpoint (/authorize) revokes too', async () => {
    const code = await issue();
    const first = await json(await redeem('/token', code));
    t.clock.now += 3600;
    try {
      expect((await redeem('/authorize', code)).status).toBe(400);
      expect((await verify(first.access_token)).status).toBe(401);
    } finally {
      t.clock.now -= 3600;
    }
  });

  describe('refresh tokens', () => {
    const refresh = (token: unknown, extra: Record<string, string> = {}) =>
      t.app.request(
        '/token',
        form({ grant_type: 'refresh_token', refresh_token: String(token), client_id: CLIENT, ...extra }),
      );

    it('C10: a rotated refresh token presented after its expiry is reuse: the grant is revoked', async () => {
      const day = 86400;
      const first = await json(await redeem('/token', await issue()));
      t.clock.now += 29 * day; // the first refresh token (30 days) is still valid: rotate it
      try {
        const second = await json(await refresh(first.refresh_token));
        expect(second.refresh_token).toBeDefined();
        t.clock.now += 2 * day; // now the first one has expired; the second pair has not
        expect((await verify(second.access_token)).status).toBe(200);
        const reuse = await refresh(first.refresh_token);
        expect(reuse.status).toBe(400);
        expect(String((await json(reuse)).error_description)).toContain('already used');
        expect((await verify(second.access_token)).status).toBe(401);
        expect((await refresh(second.refresh_token)).status).toBe(400);
      } finally {
        t.clock.now -= 31 * day;
      }
    });

    it('C10: a rotated, expired refresh token sent by another client_id revokes nothing (C2)', async () => {
      const day = 86400;
      const first = await json(await redeem('/token', await issue()));
      t.clock.now += 29 * day;
      try {
        const second = await json(await refresh(first.refresh_token));
        t.clock.now += 2 * day;
        const other = await refresh(first.refresh_token, { client_id: 'https://other.example/' });
        expect(other.status).toBe(400);
        expect((await verify(second.access_token)).status).toBe(200);
        expect((await refresh(second.refresh_token)).status).toBe(200);
      } finally {
        t.clock.now -= 31 * day;
      }
    });

    it('a refresh rotates: new access and refresh tokens, same grant', async () => {
      const first = await json(await redeem('/token', await issue()));
      const res = await refresh(first.refresh_token);
      expect(res.status).toBe(200);
      const second = await json(res);
      expect(second).toMatchObject({ token_type: 'Bearer', scope: 'create profile', me: ME });
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect((await verify(second.access_token)).status).toBe(200);
    });

    it('D5: reuse of a rotated refresh token revokes the grant', async () => {
      const first = await json(await redeem('/token', await issue()));
      const second = await json(await refresh(first.refresh_token));
      const reuse = await refresh(first.refresh_token);
      expect(reuse.status).toBe(400);
      expect((await json(reuse)).error).toBe('invalid_grant');
      expect((await verify(first.access_token)).status).toBe(401);
      expect((await verify(second.access_token)).status).toBe(401);
      expect((await refresh(second.refresh_token)).status).toBe(400);
    });

    it('D5: two concurrent refreshes with one token: one wins, then the grant is revoked', async () => {
      const first = await json(await redeem('/token', await issue()));
      const responses = await Promise.all([refresh(first.refresh_token), refresh(first.refresh_token)]);
      expect(responses.map((r) => r.status).sort()).toEqual([200, 400]);
      const winner = await json(responses.find((r) => r.status === 200) as Response);
      expect((await verify(winner.access_token)).status).toBe(401);
    });

    it('D6: a refresh may narrow the scope but never widen it', async () => {
      const first = await json(await redeem('/token', await issue()));
      const wider = await refresh(first.refresh_token, { scope: 'create profile delete' });
      expect(wider.status).toBe(400);
      expect((await json(wider)).error).toBe('invalid_scope');
      const narrower = await refresh(first.refresh_token, { scope: 'create' });
      expect(narrower.status).toBe(200);
      expect((await json(narrower)).scope).toBe('create');
    });

    it('a refresh token from another client_id is refused', async () => {
      const first = await json(await redeem('/token', await issue()));
      expect((await refresh(first.refresh_token, { client_id: 'https://other.example/' })).status).toBe(400);
      expect((await refresh(first.refresh_token)).status).toBe(200);
    });

    it("revoking a refresh token (RFC 7009) ends its grant's access tokens too", async () => {
      const first = await json(await redeem('/token', await issue()));
      expect((await t.app.request('/revoke', form({ token: String(first.refresh_token) }))).status).toBe(200);
      expect((await verify(first.access_token)).status).toBe(401);
      expect((await refresh(first.refresh_token)).status).toBe(400);
    });

    it('expired refresh tokens are refused', async () => {
      const first = await json(await redeem('/token', await issue()));
      t.clock.now += 30 * 86400 + 1;
      try {
        expect((await refresh(first.refresh_token)).status).toBe(400);
      } finally {
        t.clock.now -= 30 * 86400 + 1;
      }
    });
  });

  it('D7: codes and refresh tokens are stored only as hashes', async () => {
    const code = await issue();
    const body = await json(await redeem('/token', code));
    let dump = '';
    for (const table of ['auth_codes', 'refresh_tokens', 'access_tokens'] as const) {
      dump += JSON.stringify(await t.services.store.db.selectFrom(table).selectAll().execute());
    }
    expect(dump).not.toContain(code);
    expect(dump).not.toContain(String(body.refresh_token));
    expect(dump).not.toContain(String(body.access_token));
  });
});

describe('refresh tokens switched off (REFRESH_TOKENS=false)', () => {
  it('issues no refresh token and refuses the refresh_token grant', async () => {
    const [sqlite] = storeTargets;
    const t = await createTestApp(sqlite as (typeof storeTargets)[number], {
      config: { refreshTokens: false },
    });
    try {
      const code = await t.services.codes.issue({
        clientId: CLIENT,
        redirectUri: REDIRECT,
        codeChallenge: s256(VERIFIER),
        me: ME,
        scope: ['create'],
        authMethod: 'email',
      });
      const res = await t.app.request(
        '/token',
        form({
          grant_type: 'authorization_code',
          code,
          client_id: CLIENT,
          redirect_uri: REDIRECT,
          code_verifier: VERIFIER,
        }),
      );
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.access_token).toBeDefined();
      expect(body.refresh_token).toBeUndefined();
      const refused = await t.app.request(
        '/token',
        form({ grant_type: 'refresh_token', refresh_token: 'x', client_id: CLIENT }),
      );
      expect(((await refused.json()) as Record<string, string>).error).toBe('unsupported_grant_type');
      const meta = (await (await t.app.request('/.well-known/oauth-authorization-server')).json()) as Record<
        string,
        unknown
      >;
      expect(meta.grant_types_supported).toEqual(['authorization_code']);
    } finally {
      await t.close();
    }
  });
});
