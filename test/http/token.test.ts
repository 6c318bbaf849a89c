/**
 * The token endpoint end to end (PROTOCOL §10–11): Mintoken-mode exchange against a fixture
 * authorization endpoint on loopback, verification, revocation, introspection, metadata.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_EXCHANGE_INFLIGHT } from '../../src/http/inflight-limit.js';
import { addTrustedEndpoint } from '../../src/store/trusted-endpoints.js';
import { createTestApp, form, type TestApp } from '../helpers/app.js';
import { type Fixture, startFixture } from '../helpers/fixture-server.js';
import { storeTargets } from '../helpers/stores.js';

const CLIENT = 'https://app.example/';
const REDIRECT = 'https://app.example/callback';

/** A selfauth-like site: the homepage names its authorization endpoint, which verifies codes. */
function authorizationSite(req: IncomingMessage, res: ServerResponse): void {
  const host = req.headers.host ?? '';
  const url = new URL(req.url ?? '/', `http://${host}`);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><link rel="authorization_endpoint" href="/auth"><p>${host}</p>`);
    return;
  }
  if (req.method === 'POST' && url.pathname === '/auth') {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const params = new URLSearchParams(body);
      const code = params.get('code') ?? '';
      const me = `http://${host}/`;
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (params.get('client_id') !== CLIENT || params.get('redirect_uri') !== REDIRECT) {
        return json(400, { error: 'invalid_grant' });
      }
      if (code.startsWith('good')) return json(200, { me, scope: 'create update' });
      if (code === 'noscope') return json(200, { me, scope: '' });
      if (code === 'otherme') return json(200, { me: 'http://bob.example/', scope: 'create' });
      if (code === 'samehost-otherme') return json(200, { me: `http://${host}/other`, scope: 'create' });
      if (code === 'html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return res.end('<html><body>Welcome!</body></html>');
      }
      if (code === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"me": ');
      }
      if (code === 'slow') return; // never answers
      return json(400, { error: 'invalid_grant', error_description: 'unknown code' });
    });
    return;
  }
  res.writeHead(404).end();
}

describe.each(storeTargets)('token endpoint on $name', (target) => {
  let site: Fixture;
  let t: TestApp;

  beforeAll(async () => {
    site = await startFixture(authorizationSite);
    const to = (host: string) => ({ host, address: '127.0.0.1', port: site.port });
    t = await createTestApp(target, {
      connectTo: [
        to('alice.example'),
        to('bob.example'),
        to('mallory.example'),
        { host: 'down.example', address: '127.0.0.1', port: 1 },
      ],
    });
    await addTrustedEndpoint(t.services.store.db, 'http://alice.example/auth');
    await addTrustedEndpoint(t.services.store.db, 'http://down.example/auth');
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const exchange = (code: string, me = 'http://alice.example/', extra: Record<string, string> = {}) =>
    t.app.request(
      '/token',
      form({
        grant_type: 'authorization_code',
        code,
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        me,
        ...extra,
      }),
    );

  const issueToken = async (code = `good-${Math.random()}`): Promise<string> => {
    const res = await exchange(code);
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  };

  it('Mintoken: a code from a trusted endpoint becomes an access token', async () => {
    const res = await exchange('good-1');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      token_type: 'Bearer',
      scope: 'create update',
      me: 'http://alice.example/',
      expires_in: 7 * 86400,
    });
    expect(body.access_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('Mintoken: `me` may come as a query parameter on the endpoint URL', async () => {
    const res = await t.app.request(
      '/token?me=http://alice.example/',
      form({
        grant_type: 'authorization_code',
        code: 'good-query',
        client_id: CLIENT,
        redirect_uri: REDIRECT,
      }),
    );
    expect(res.status).toBe(200);
  });

  it('Mintoken: codes from an untrusted authorization endpoint are refused and nothing is stored', async () => {
    const before = await t.services.store.db.selectFrom('access_tokens').select('id').execute();
    const res = await exchange('good-2', 'http://bob.example/');
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toContain('http://bob.example/auth');
    expect(await t.services.store.db.selectFrom('access_tokens').select('id').execute()).toHaveLength(
      before.length,
    );
  });

  it('Mintoken: an empty scope is refused (no token without scope)', async () => {
    const res = await exchange('noscope');
    expect(res.status).toBe(400);
    expect(((await res.json()) as Record<string, string>).error).toBe('invalid_scope');
  });

  it('Mintoken: the endpoint refusing the code gives invalid_grant', async () => {
    const res = await exchange('wrong');
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toContain('HTTP 400');
  });

  it.each([
    ['an endpoint that is down', 'good-down', 'http://down.example/'],
    ['an endpoint that never answers', 'slow', 'http://alice.example/'],
    ['an endpoint answering garbage JSON', 'garbage', 'http://alice.example/'],
    ['an endpoint answering HTML', 'html', 'http://alice.example/'],
  ])('Mintoken: %s gives a clear invalid_grant and stores nothing', async (_name, code, me) => {
    const before = (await t.services.store.db.selectFrom('access_tokens').select('id').execute()).length;
    const res = await exchange(code, me);
    expect(res.status).toBe(400);
    const body = (await res.json()) as Record<string, string>;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description?.length).toBeGreaterThan(20);
    expect((await t.services.store.db.selectFrom('access_tokens').select('id').execute()).length).toBe(
      before,
    );
  });

  it('Mintoken (F1): another `me` is accepted only when it names the same authorization endpoint', async () => {
    const other = await exchange('otherme');
    expect(other.status).toBe(400);
    expect(((await other.json()) as Record<string, string>).error_description).toContain(
      'http://bob.example/',
    );
    const sameEndpoint = await exchange('samehost-otherme');
    expect(sameEndpoint.status).toBe(200);
    expect(((await sameEndpoint.json()) as Record<string, string>).me).toBe('http://alice.example/other');
  });

  it('Mintoken: a code exchanged twice is refused and the first token is revoked', async () => {
    const first = await exchange('good-replay');
    const { access_token } = (await first.json()) as { access_token: string };
    const second = await exchange('good-replay');
    expect(second.status).toBe(400);
    expect(((await second.json()) as Record<string, string>).error).toBe('invalid_grant');
    const check = await t.app.request('/token', { headers: { authorization: `Bearer ${access_token}` } });
    expect(check.status).toBe(401);
  });

  it(`Mintoken: ${DEFAULT_EXCHANGE_INFLIGHT} concurrent exchanges of one code (as many as one address may run at once) issue exactly one token`, async () => {
    const responses = await Promise.all(
      Array.from({ length: DEFAULT_EXCHANGE_INFLIGHT }, () => exchange('good-concurrent')),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 400)).toHaveLength(DEFAULT_EXCHANGE_INFLIGHT - 1);
    const grants = await t.services.store.db
      .selectFrom('redeemed_codes')
      .innerJoin('access_tokens', 'access_tokens.grant_id', 'redeemed_codes.grant_id')
      .select('access_tokens.id')
      .execute();
    const tokens = await t.services.store.db.selectFrom('access_tokens').select('id').execute();
    expect(grants.length).toBe(tokens.length);
  });

  it('refuses bad input with RFC 6749 errors, never a 500', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ grant_type: 'password', code: 'x' }, 'unsupported_grant_type'],
      [{ code: 'x', client_id: CLIENT, redirect_uri: REDIRECT }, 'invalid_request'],
      [
        { code: 'x', client_id: 'not a url', redirect_uri: REDIRECT, me: 'http://alice.example/' },
        'invalid_request',
      ],
      [
        { code: 'x', client_id: CLIENT, redirect_uri: 'javascript:alert(1)', me: 'http://alice.example/' },
        'invalid_request',
      ],
      [{ code: 'x', client_id: CLIENT, redirect_uri: REDIRECT, me: 'http://127.0.0.1/' }, 'invalid_request'],
      [{ client_id: CLIENT, redirect_uri: REDIRECT, me: 'http://alice.example/' }, 'invalid_request'],
      [{ action: 'explode' }, 'invalid_request'],
    ];
    for (const [body, error] of cases) {
      const res = await t.app.request('/token', form(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as Record<string, string>).error, JSON.stringify(body)).toBe(error);
    }
    const repeated = await t.app.request('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'code=a&code=b',
    });
    expect(repeated.status).toBe(400);
    const crlf = await t.app.request(
      '/token',
      form({ code: 'a\r\nSet-Cookie: x=1', client_id: CLIENT, redirect_uri: REDIRECT }),
    );
    expect(crlf.status).toBe(400);
  });

  it('GET /token verifies a bearer token (200), and answers 401 with WWW-Authenticate otherwise', async () => {
    const token = await issueToken();
    const ok = await t.app.request('/token', { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      me: 'http://alice.example/',
      client_id: CLIENT,
      scope: 'create update',
    });

    const missing = await t.app.request('/token');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');

    const bad = await t.app.request('/token', { headers: { authorization: 'Bearer nope' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('expired tokens stop verifying', async () => {
    const token = await issueToken();
    t.clock.now += 7 * 86400 + 1;
    try {
      const res = await t.app.request('/token', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    } finally {
      t.clock.now -= 7 * 86400 + 1;
    }
  });

  it('legacy revocation: POST /token action=revoke revokes and answers 200', async () => {
    const token = await issueToken();
    const res = await t.app.request('/token', form({ action: 'revoke', token }));
    expect(res.status).toBe(200);
    const check = await t.app.request('/token', { headers: { authorization: `Bearer ${token}` } });
    expect(check.status).toBe(401);
  });

  it('RFC 7009: POST /revoke revokes and answers 200', async () => {
    const token = await issueToken();
    const res = await t.app.request('/revoke', form({ token, token_type_hint: 'access_token' }));
    expect(res.status).toBe(200);
    const check = await t.app.request('/token', { headers: { authorization: `Bearer ${token}` } });
    expect(check.status).toBe(401);
  });

  it('D3: revoking an unknown token answers 200', async () => {
    expect((await t.app.request('/revoke', form({ token: 'unknown-token' }))).status).toBe(200);
    expect((await t.app.request('/token', form({ action: 'revoke', token: 'unknown-token' }))).status).toBe(
      200,
    );
  });

  describe('introspection', () => {
    let secret: string;
    beforeAll(async () => {
      secret = (await t.services.resourceServers.create(`micropub-${target.name}`)).secret;
    });
    const introspect = (token: string, auth = `Bearer ${secret}`) =>
      t.app.request('/introspect', form({ token }, { authorization: auth }));

    it('D1: introspection without valid resource-server credentials is 401', async () => {
      const token = await issueToken();
      const none = await t.app.request('/introspect', form({ token }));
      expect(none.status).toBe(401);
      expect((await introspect(token, 'Bearer wrong.secret')).status).toBe(401);
      expect((await introspect(token, `Bearer ${secret.slice(0, -1)}x`)).status).toBe(401);
      expect((await introspect(token, `Basic ${Buffer.from(`a:${secret}`).toString('base64')}`)).status).toBe(
        401,
      );
      // An access token is not a resource-server credential.
      expect((await introspect(token, `Bearer ${token}`)).status).toBe(401);
    });

    it('an active token introspects with me, client_id, scope, exp and iat', async () => {
      const token = await issueToken();
      const res = await introspect(token);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toEqual({
        active: true,
        me: 'http://alice.example/',
        client_id: CLIENT,
        scope: 'create update',
        exp: expect.any(Number),
        iat: expect.any(Number),
      });
      expect((body.exp as number) - (body.iat as number)).toBe(7 * 86400);
    });

    it('D2: unknown, expired, revoked and malformed tokens are exactly {"active": false}', async () => {
      const expired = await issueToken();
      const revoked = await issueToken();
      await t.app.request('/revoke', form({ token: revoked }));
      const cases = ['unknown-token-value', revoked, 'mal formed', 'x'.repeat(5000)];
      for (const token of cases) {
        const res = await introspect(token);
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('{"active":false}');
      }
      t.clock.now += 7 * 86400;
      try {
        expect(await (await introspect(expired)).text()).toBe('{"active":false}');
      } finally {
        t.clock.now -= 7 * 86400;
      }
    });
  });

  it('D7: the database holds no usable token, code or secret (hashes only)', async () => {
    const token = await issueToken('good-d7-code');
    const { secret } = await t.services.resourceServers.create(`d7-${target.name}`);
    const tables = [
      'access_tokens',
      'grants',
      'redeemed_codes',
      'resource_servers',
      'settings',
      'trusted_endpoints',
    ] as const;
    let dump = '';
    for (const table of tables)
      dump += JSON.stringify(await t.services.store.db.selectFrom(table).selectAll().execute());
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.split('.')[1]);
    expect(dump).not.toContain('good-d7-code');
  });

  it('metadata advertises the endpoints this server runs (RFC 8414)', async () => {
    const res = await t.app.request('/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      issuer: 'https://login.test/',
      token_endpoint: 'https://login.test/token',
      introspection_endpoint: 'https://login.test/introspect',
      introspection_endpoint_auth_methods_supported: ['Bearer'],
      revocation_endpoint: 'https://login.test/revoke',
      revocation_endpoint_auth_methods_supported: ['none'],
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(meta.scopes_supported).toContain('create');
  });

  it('GET /health answers {"status":"ok"} once the store answers', async () => {
    const res = await t.app.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers form-encoded only when Accept prefers it', async () => {
    const res = await exchange(`good-${Math.random()}`, 'http://alice.example/', {});
    expect(res.headers.get('content-type')).toContain('application/json');
    const legacy = await t.app.request(
      '/token',
      form(
        { code: 'good-form', client_id: CLIENT, redirect_uri: REDIRECT, me: 'http://alice.example/' },
        { accept: 'application/x-www-form-urlencoded' },
      ),
    );
    expect(legacy.headers.get('content-type')).toContain('application/x-www-form-urlencoded');
    expect(new URLSearchParams(await legacy.text()).get('me')).toBe('http://alice.example/');
  });
});
