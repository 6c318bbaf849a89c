/**
 * The operator's client policy (PROTOCOL §6 `latchkey clients allow|deny`, SECURITY A10): rules match
 * by origin and path prefix on whole segments, and a denied client's codes, access tokens and refresh
 * tokens stop working at every endpoint — the Hono routes and the node:http fast path alike — on
 * SQLite and PostgreSQL. Policy changes go through `services.clientPolicy`, what the CLI calls.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { isClientPermitted } from '../../src/indieauth/client-policy.js';
import {
  type DecidedRule,
  decideClient,
  ownClientsRule,
  parseClientRule,
} from '../../src/indieauth/client-rules.js';
import { s256 } from '../../src/indieauth/pkce.js';
import { silentLogger } from '../../src/log.js';
import { type RunningServer, startServer } from '../../src/server.js';
import type { Services } from '../../src/services.js';
import type { NewCode } from '../../src/tokens/codes.js';
import { type FixtureWeb, startFixtureWeb } from '../fixtures/sites.js';
import { createTestApp, form, type TestApp } from '../helpers/app.js';
import { storeTargets } from '../helpers/stores.js';

const VERIFIER = 'a-verifier-that-is-long-enough-for-rfc7636-0123456789';
const ME = 'https://alice.example/';
const ISSUER = 'https://login.test/';

function rules(...entries: Array<[string, 'allow' | 'deny']>): DecidedRule[] {
  return entries.map(([raw, decision]) => {
    const parsed = parseClientRule(raw);
    if (!parsed.ok) throw new Error(parsed.reason);
    return { ...parsed.rule, decision };
  });
}
const permitted = (list: DecidedRule[], clientId: string) =>
  decideClient(list, ownClientsRule(ISSUER), clientId).ok;

describe('A10 client rules (pure)', () => {
  it('A10: a deny on http://evil.example/ also denies the ?, /app and /?v=2 variants', () => {
    const deny = rules(['http://evil.example/', 'deny']);
    for (const variant of [
      'http://evil.example/',
      'http://evil.example/?',
      'http://evil.example/app',
      'http://evil.example/?v=2',
      'http://evil.example/app/deeper?x=1',
      'http://EVIL.example/',
      'http://evil.example:80/app',
    ]) {
      expect(permitted(deny, variant), variant).toBe(false);
    }
    // Another origin is another client: scheme, host and port all count.
    for (const other of ['https://evil.example/', 'http://evil.example:8080/', 'http://sub.evil.example/']) {
      expect(permitted(deny, other), other).toBe(true);
    }
  });

  it('A10: a rule is stored as origin + path, without the query; IDN hosts as punycode', () => {
    const key = (raw: string) => {
      const parsed = parseClientRule(raw);
      return parsed.ok ? parsed.rule.key : parsed.reason;
    };
    expect(key('http://evil.example/?')).toBe('http://evil.example/');
    expect(key('http://evil.example/?v=2')).toBe('http://evil.example/');
    expect(key('https://A.example:443')).toBe('https://a.example/');
    expect(key('https://bücher.example/app/')).toBe('https://xn--bcher-kva.example/app/');
    expect(permitted(rules(['https://bücher.example/', 'deny']), 'https://xn--bcher-kva.example/x')).toBe(
      false,
    );
    expect(parseClientRule('javascript:alert(1)').ok).toBe(false);
  });

  it('A10: a path prefix matches whole segments: /app covers /app and /app/x, never /apple', () => {
    const deny = rules(['https://a.example/app', 'deny']);
    expect(permitted(deny, 'https://a.example/app')).toBe(false);
    expect(permitted(deny, 'https://a.example/app/')).toBe(false);
    expect(permitted(deny, 'https://a.example/app/x')).toBe(false);
    expect(permitted(deny, 'https://a.example/app?v=2')).toBe(false);
    expect(permitted(deny, 'https://a.example/%61pp/x')).toBe(false);
    expect(permitted(deny, 'https://a.example/apple')).toBe(true);
    expect(permitted(deny, 'https://a.example/')).toBe(true);
    expect(permitted(deny, 'https://a.example/other/app')).toBe(true);

    const slash = rules(['https://a.example/app/', 'deny']);
    expect(permitted(slash, 'https://a.example/app/')).toBe(false);
    expect(permitted(slash, 'https://a.example/app/x/y')).toBe(false);
    expect(permitted(slash, 'https://a.example/apple')).toBe(true);
  });

  it('A10: deny wins over allow; allow-list mode admits only what an allow rule covers', () => {
    const list = rules(['https://a.example/', 'allow'], ['https://a.example/bad/', 'deny']);
    expect(permitted(list, 'https://a.example/good')).toBe(true);
    expect(permitted(list, 'https://a.example/bad/x')).toBe(false);
    expect(permitted(list, 'https://b.example/')).toBe(false);
  });

  it("first run: allow-list mode still allows Latchkey's own clients (the issuer URL and below)", () => {
    const list = rules(['https://mine.example/', 'allow'], ['https://login.test/', 'deny']);
    expect(permitted(list, ISSUER)).toBe(true);
    expect(permitted(list, 'https://login.test/account')).toBe(true);
    expect(permitted(list, 'https://other.example/')).toBe(false);
  });
});

describe.each(storeTargets)('A10 client policy on $name', (target) => {
  let web: FixtureWeb;
  let t: TestApp;
  let secret: string;

  beforeAll(async () => {
    web = await startFixtureWeb();
  });
  afterAll(async () => {
    await web.close();
  });
  beforeEach(async () => {
    t = await createTestApp(target, { connectTo: web.connectTo });
    secret = (await t.services.resourceServers.create('rs')).secret;
  });
  afterEach(async () => {
    await t.close();
  });

  const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
  const issue = (clientId: string, overrides: Partial<NewCode> = {}) =>
    t.services.codes.issue({
      clientId,
      redirectUri: `${clientId.replace(/\/?(\?.*)?$/, '')}/callback`,
      codeChallenge: s256(VERIFIER),
      me: ME,
      scope: ['create', 'profile'],
      profile: { name: 'Alice', url: ME },
      authMethod: 'email',
      ...overrides,
    });
  const redeem = (path: '/token' | '/authorize', clientId: string, code: string) =>
    t.app.request(
      path,
      form({
        grant_type: 'authorization_code',
        code,
        client_id: clientId,
        redirect_uri: `${clientId.replace(/\/?(\?.*)?$/, '')}/callback`,
        code_verifier: VERIFIER,
      }),
    );
  const refresh = (clientId: string, token: unknown) =>
    t.app.request(
      '/token',
      form({ grant_type: 'refresh_token', refresh_token: String(token), client_id: clientId }),
    );
  const bearer = (token: unknown) => ({ headers: { authorization: `Bearer ${String(token)}` } });
  const introspect = (token: unknown) =>
    t.app.request('/introspect', form({ token: String(token) }, { authorization: `Bearer ${secret}` }));

  it('A10: sign-in refuses the ?, /app and /?v=2 variants of a denied client', async () => {
    await t.services.clientPolicy.set('http://evil.test/', 'deny');
    for (const clientId of ['http://evil.test/?', 'http://evil.test/app', 'http://evil.test/?v=2']) {
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: 'http://evil.test/callback',
        state: 's',
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
      });
      const res = await t.app.request(`/authorize?${query}`, { headers: { accept: 'text/html' } });
      expect(res.status, clientId).toBe(403);
      expect(await res.text(), clientId).toContain('blocked the client');
      expect((await isClientPermitted(t.services.store, clientId, ISSUER)).ok, clientId).toBe(false);
    }
    expect((await isClientPermitted(t.services.store, 'http://other.test/', ISSUER)).ok).toBe(true);
  });

  it("A10: a denied client's codes, access and refresh tokens stop working at every endpoint", async () => {
    const client = 'http://evil.example/app';
    const tokens = await json(await redeem('/token', client, await issue(client)));
    const forToken = await issue(client);
    const forAuthorize = await issue(client);
    expect((await t.app.request('/token', bearer(tokens.access_token))).status).toBe(200);
    const bystander = await json(
      await redeem('/token', 'https://good.example/', await issue('https://good.example/')),
    );

    // What `latchkey clients deny http://evil.example/` calls: a rule on the whole origin.
    const change = await t.services.clientPolicy.set('http://evil.example/?', 'deny');
    expect(change).toMatchObject({ rule: 'http://evil.example/', revokedGrants: 1 });

    const codeAtToken = await redeem('/token', client, forToken);
    expect(codeAtToken.status).toBe(400);
    expect((await json(codeAtToken)).error).toBe('invalid_grant');
    const codeAtAuthorize = await redeem('/authorize', client, forAuthorize);
    expect(codeAtAuthorize.status).toBe(400);
    expect((await json(codeAtAuthorize)).error).toBe('invalid_grant');
    expect((await refresh(client, tokens.refresh_token)).status).toBe(400);
    expect(await json(await introspect(tokens.access_token))).toEqual({ active: false });
    const verified = await t.app.request('/token', bearer(tokens.access_token));
    expect(verified.status).toBe(401);
    expect(verified.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await t.app.request('/userinfo', bearer(tokens.access_token))).status).toBe(401);

    // Other clients are untouched.
    expect((await t.app.request('/token', bearer(bystander.access_token))).status).toBe(200);
    expect((await json(await introspect(bystander.access_token))).active).toBe(true);
  });

  it('A10: the rule itself refuses, without revocation: allow-list mode cuts off unlisted clients', async () => {
    const client = 'https://app.example/';
    const tokens = await json(await redeem('/token', client, await issue(client)));
    const code = await issue(client);
    await t.services.clientPolicy.set('https://mine.example/', 'allow');
    expect((await t.app.request('/token', bearer(tokens.access_token))).status).toBe(401);
    expect(await json(await introspect(tokens.access_token))).toEqual({ active: false });
    expect((await refresh(client, tokens.refresh_token)).status).toBe(400);
    expect((await redeem('/token', client, code)).status).toBe(400);
    // Allow-list mode only refuses: removing the allow rule lets the client in again.
    expect(await t.services.clientPolicy.remove('https://mine.example/')).toBe(true);
    expect((await t.app.request('/token', bearer(tokens.access_token))).status).toBe(200);
    expect((await redeem('/token', client, code)).status).toBe(200);
  });

  it('A10: a deny revoked the grants it covered; they stay revoked after the rule is removed', async () => {
    const client = 'https://app.example/';
    const tokens = await json(await redeem('/token', client, await issue(client)));
    await t.services.clientPolicy.set(client, 'deny');
    await t.services.clientPolicy.remove(client);
    expect((await t.app.request('/token', bearer(tokens.access_token))).status).toBe(401);
    expect((await refresh(client, tokens.refresh_token)).status).toBe(400);
    // New sign-ins work again.
    const fresh = await json(await redeem('/token', client, await issue(client)));
    expect((await t.app.request('/token', bearer(fresh.access_token))).status).toBe(200);
  });

  it("first run: allow-list mode still allows Latchkey's own demo client", async () => {
    await t.services.clientPolicy.set('https://app.example/', 'allow');
    const start = await t.app.request('/demo/start?me=');
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get('location') as string);
    expect(location.searchParams.get('client_id')).toBe(ISSUER);
    const signIn = await t.app.request(`${location.pathname}${location.search}`, {
      headers: { accept: 'text/html' },
    });
    expect(signIn.status).toBe(200);
    expect(await signIn.text()).not.toContain('not allowed here');
    // The demo redeems its code at the authorization endpoint; that works too.
    const code = await t.services.codes.issue({
      clientId: ISSUER,
      redirectUri: `${ISSUER}demo/callback`,
      codeChallenge: s256(VERIFIER),
      me: ME,
      scope: [],
      authMethod: 'email',
    });
    const redeemed = await t.app.request(
      '/authorize',
      form({
        grant_type: 'authorization_code',
        code,
        client_id: ISSUER,
        redirect_uri: `${ISSUER}demo/callback`,
        code_verifier: VERIFIER,
      }),
    );
    expect(redeemed.status).toBe(200);
    expect(await json(redeemed)).toEqual({ me: ME });
  });
});

describe.each(storeTargets)('A10 over real sockets (fast path) on $name', (target) => {
  let server: RunningServer;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    const created = await target.create();
    dispose = created.dispose;
    server = await startServer(testConfig({ databaseUrl: created.url, port: 0 }), {
      logger: silentLogger(),
    });
  });
  afterAll(async () => {
    await server.close();
    await dispose();
  });

  it('A10: GET /token and POST /introspect on the fast path refuse a denied client at once', async () => {
    const s: Services = server.services;
    const grant = {
      me: ME,
      clientId: 'http://evil.example/app',
      scope: 'create',
      source: 'code' as const,
      authorizationEndpoint: null,
    };
    const { accessToken } = await s.store.write((tx) => s.tokens.issueForNewGrant(tx, grant));
    const { secret } = await s.resourceServers.create('fast');
    const verify = () => fetch(`${server.url}token`, { headers: { authorization: `Bearer ${accessToken}` } });
    const introspect = async () =>
      (await (
        await fetch(`${server.url}introspect`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${secret}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: new URLSearchParams({ token: accessToken }).toString(),
        })
      ).json()) as Record<string, unknown>;
    expect((await verify()).status).toBe(200);
    expect((await introspect()).active).toBe(true);
    await s.clientPolicy.set('http://evil.example/', 'deny');
    const refused = await verify();
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('invalid_token');
    expect(await introspect()).toEqual({ active: false });
  });
});
