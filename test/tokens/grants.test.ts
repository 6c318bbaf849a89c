/**
 * Grants (PROTOCOL §13, §14; SECURITY D9): an operator's revoke — `latchkey tokens revoke ID`,
 * `grants revoke ID`, `grants revoke --me URL` — ends the grant's access AND refresh tokens at once,
 * on SQLite and PostgreSQL. The tests call what the CLI commands call: `services.grants`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import { listAccessTokens } from '../../src/store/tokens.js';
import { createTestApp, form, type TestApp } from '../helpers/app.js';
import { storeTargets } from '../helpers/stores.js';

const CLIENT = 'https://app.example/';
const REDIRECT = 'https://app.example/callback';
const VERIFIER = 'a-verifier-that-is-long-enough-for-rfc7636-0123456789';
const ALICE = 'https://alice.example/';
const BOB = 'https://bob.example/';

describe.each(storeTargets)('grants on $name', (target) => {
  let t: TestApp;
  let secret: string;
  beforeAll(async () => {
    t = await createTestApp(target);
    secret = (await t.services.resourceServers.create('rs')).secret;
  });
  afterAll(async () => {
    await t.close();
  });

  const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
  /** A signed-in app: a code with scope redeemed at /token (access + refresh token). */
  const signIn = async (me = ALICE, clientId = CLIENT) => {
    const code = await t.services.codes.issue({
      clientId,
      redirectUri: REDIRECT,
      codeChallenge: s256(VERIFIER),
      me,
      scope: ['create'],
      authMethod: 'email',
    });
    const res = await t.app.request(
      '/token',
      form({
        grant_type: 'authorization_code',
        code,
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      }),
    );
    expect(res.status).toBe(200);
    const body = await json(res);
    return { access: String(body.access_token), refresh: String(body.refresh_token), clientId };
  };
  const refresh = (app: { refresh: string; clientId: string }) =>
    t.app.request(
      '/token',
      form({ grant_type: 'refresh_token', refresh_token: app.refresh, client_id: app.clientId }),
    );
  const verify = (token: string) =>
    t.app.request('/token', { headers: { authorization: `Bearer ${token}` } });
  const introspect = async (token: string) =>
    json(await t.app.request('/introspect', form({ token }, { authorization: `Bearer ${secret}` })));

  /** Every way an app could keep going after a revoke is refused. */
  const expectCutOff = async (app: { access: string; refresh: string; clientId: string }) => {
    const refreshed = await refresh(app);
    expect(refreshed.status).toBe(400);
    expect((await json(refreshed)).error).toBe('invalid_grant');
    expect((await verify(app.access)).status).toBe(401);
    expect(await introspect(app.access)).toEqual({ active: false });
  };
  const expectWorking = async (app: { access: string }) => {
    expect((await verify(app.access)).status).toBe(200);
    expect((await introspect(app.access)).active).toBe(true);
  };

  /** The access-token row `latchkey tokens list` shows for an app (its ID is what the operator types). */
  const tokenRow = async (me: string, clientId: string) => {
    const rows = await listAccessTokens(t.services.store.db, { me });
    const row = rows.find((r) => r.clientId === clientId);
    expect(row).toBeDefined();
    return row as NonNullable<typeof row>;
  };

  it('D9: after `tokens revoke ID` the refresh token is refused too (the whole grant ends)', async () => {
    const app = await signIn(ALICE, 'https://tokens-revoke.example/');
    const other = await signIn(ALICE, 'https://bystander.example/');
    const row = await tokenRow(ALICE, app.clientId);
    expect(await t.services.grants.revokeForAccessToken(row.id)).toBe(row.grantId);
    await expectCutOff(app);
    await expectWorking(other);
    // Revoking again finds nothing to end (the CLI then exits 1).
    expect(await t.services.grants.revokeForAccessToken(row.id)).toBeUndefined();
  });

  it('D9: `tokens revoke ID` of an access token the app revoked itself still ends its refresh token', async () => {
    const app = await signIn(BOB, 'https://self-revoked.example/');
    expect((await t.app.request('/revoke', form({ token: app.access }))).status).toBe(200);
    const row = await tokenRow(BOB, app.clientId);
    expect(row.revokedAt).not.toBeNull();
    expect(await t.services.grants.revokeForAccessToken(row.id)).toBe(row.grantId);
    const refreshed = await refresh(app);
    expect(refreshed.status).toBe(400);
    const grant = await t.services.grants.get(row.grantId);
    expect(grant?.revokedAt).not.toBeNull();
    expect(grant).toMatchObject({ accessTokens: 0, refreshTokens: 0 });
  });

  it('D9: after `grants revoke ID` the access and refresh tokens all stop working', async () => {
    const app = await signIn(ALICE, 'https://grants-by-id.example/');
    const rotated = await json(await refresh(app)); // two access tokens, one live refresh token
    const grants = await t.services.grants.list({ clientId: 'https://grants-by-id.example/' });
    expect(grants).toHaveLength(1);
    const [grant] = grants;
    expect(grant).toMatchObject({
      me: ALICE,
      clientId: 'https://grants-by-id.example/',
      scope: 'create',
      accessTokens: 2,
      refreshTokens: 1,
      revokedAt: null,
    });
    expect(grant?.createdAt).toBe(t.clock.now);
    expect(grant?.expiresAt).toBeGreaterThan(t.clock.now);
    expect(await t.services.grants.revoke(grant?.id as string)).toBe(true);
    expect(await t.services.grants.revoke(grant?.id as string)).toBe(false);
    await expectCutOff(app);
    await expectCutOff({
      access: String(rotated.access_token),
      refresh: String(rotated.refresh_token),
      clientId: app.clientId,
    });
    expect(await t.services.grants.list({ clientId: 'https://grants-by-id.example/' })).toEqual([]);
    const all = await t.services.grants.list({
      clientId: 'https://grants-by-id.example/',
      includeInactive: true,
    });
    expect(all).toHaveLength(1);
    expect(all[0]?.revokedAt).not.toBeNull();
  });

  it('D9: `grants revoke --me URL` ends every grant of that person and nobody else', async () => {
    const carol = 'https://carol.example/';
    const apps = [await signIn(carol, 'https://one.example/'), await signIn(carol, 'https://two.example/')];
    const dave = await signIn('https://dave.example/', 'https://one.example/');
    expect((await t.services.grants.list({ me: carol })).map((g) => g.clientId).sort()).toEqual([
      'https://one.example/',
      'https://two.example/',
    ]);
    expect(await t.services.grants.revokeForMe(carol)).toBe(2);
    for (const app of apps) await expectCutOff(app);
    await expectWorking(dave);
    expect(await t.services.grants.list({ me: carol })).toEqual([]);
    expect(await t.services.grants.revokeForMe(carol)).toBe(0);
  });

  it('grants list shows last use once a token was used', async () => {
    const app = await signIn('https://erin.example/');
    expect((await t.services.grants.list({ me: 'https://erin.example/' }))[0]?.lastUsedAt).toBeNull();
    await verify(app.access);
    const [grant] = await t.services.grants.list({ me: 'https://erin.example/' });
    expect(grant?.lastUsedAt).toBe(t.clock.now);
    expect(await t.services.grants.revokeForClient(CLIENT)).toBeGreaterThan(0);
    await expectCutOff(app);
  });

  it('last use is written at most once a minute per token and per resource server, and a revoke after a touch still cuts off (D4)', async () => {
    const me = 'https://frank.example/';
    const app = await signIn(me, 'https://touch.example/');
    const start = t.clock.now;
    const lastUse = async () => ({
      token: (await tokenRow(me, 'https://touch.example/')).lastUsedAt,
      server: (await t.services.resourceServers.list()).find((s) => s.name === 'rs')?.lastUsedAt,
    });
    try {
      // Earlier tests used the resource server at `start` already; the token is new.
      await expectWorking(app);
      expect(await lastUse()).toEqual({ token: start, server: start });
      // On SQLite the cached rows still say "never used": the touch must not be repeated for that.
      t.clock.now = start + 59;
      await expectWorking(app);
      await expectWorking(app);
      expect(await lastUse()).toEqual({ token: start, server: start });
      t.clock.now = start + 60;
      await expectWorking(app);
      expect(await lastUse()).toEqual({ token: start + 60, server: start + 60 });
      const row = await tokenRow(me, 'https://touch.example/');
      expect(await t.services.grants.revokeForAccessToken(row.id)).toBe(row.grantId);
      await expectCutOff(app);
    } finally {
      t.clock.now = start;
    }
  });
});
