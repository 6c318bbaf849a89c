/**
 * `GET /metrics` (PROTOCOL §14) against a real server: a scripted workload over HTTP (fast path and
 * Hono, sign-ins, codes, tokens, refresh, revocation, outbound fetches, a purge), then every
 * counter must have moved by exactly the scripted amount, and nothing else may have moved. Also the
 * access rules (METRICS_TOKEN, or loopback only), bounded route labels and METRICS_TOKEN's config.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { Events } from '../../src/events.js';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import { insertCode } from '../../src/store/codes.js';
import { addTrustedEndpoint } from '../../src/store/trusted-endpoints.js';
import { randomToken, sha256 } from '../../src/tokens/secrets.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { RawClient } from '../helpers/raw-client.js';
import { startTestServer } from '../helpers/server.js';
import { storeTargets } from '../helpers/stores.js';
import { Walker } from '../helpers/walker.js';

const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const VERIFIER = 'v'.repeat(20) + 'W'.repeat(23);
const ME = 'http://carol.test/';

/** `name{a="1",b="2"}` → value, labels sorted; comments dropped. */
type Samples = Map<string, number>;

function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, name, value]) => `${name}="${value}"`)
      .sort();
    samples.set(key(match[1] as string, labels), Number(match[3]));
  }
  return samples;
}

function key(name: string, labels: string[]): string {
  return labels.length > 0 ? `${name}{${labels.join(',')}}` : name;
}

/** A sample's key from a label object, in the parser's form. */
function sample(name: string, labels: Record<string, string> = {}): string {
  return key(
    name,
    Object.entries(labels)
      .map(([k, v]) => `${k}="${v}"`)
      .sort(),
  );
}

/** What moved between two scrapes (only series that changed). */
function delta(before: Samples, after: Samples, prefix: string): Map<string, number> {
  const moved = new Map<string, number>();
  for (const [k, v] of after) {
    if (!k.startsWith(prefix)) continue;
    const d = v - (before.get(k) ?? 0);
    if (d !== 0) moved.set(k, Math.round(d * 1e9) / 1e9);
  }
  return moved;
}

/** The HTTP requests the script made, by the route pattern the server should label them with. */
class Script {
  readonly requests = new Map<string, number>();
  record(route: string, method: string, status: number): void {
    const k = sample('latchkey_http_requests_total', { route, method, status: String(status) });
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
  }
}

/** Route patterns for the paths the script requests (what Hono's router would name). */
function patternOf(url: string): string {
  const path = new URL(url).pathname;
  if (/^\/signin\/[^/]+\/callback$/.test(path)) return '/signin/:id/callback';
  return path;
}

// Nothing here is counted by the store, but the writes that emit (transactions, conditional
// updates) differ per dialect, so the workload runs on both.
describe.each(storeTargets)('GET /metrics on $name', (target) => {
  let web: FixtureWeb;
  let server: RunningServer;
  let dispose: (() => Promise<void>) | undefined;
  let base: string;
  /** Responses the fixture web gave Latchkey's fetcher (not the test's own browser visits). */
  const fetched = { ok: 0, http_error: 0 };

  beforeAll(async () => {
    web = await startFixtureWeb();
    web.page(CLIENT, clientApp('Metrics App', CLIENT));
    web.page(ME, homepage('Carol', '<link rel="authorization_endpoint" href="http://idp.test/auth">'));
    web.fixture.server.on('request', (req, res) => {
      if (!String(req.headers['user-agent']).startsWith('Latchkey/')) return;
      res.once('finish', () => {
        fetched[res.statusCode >= 400 ? 'http_error' : 'ok']++;
      });
    });
    const created = await target.create();
    dispose = created.dispose;
    server = await startTestServer({
      databaseUrl: created.url,
      // down.test: nothing listens on port 1, so fetching it fails with a network error.
      connectTo: [...web.connectTo, { host: 'down.test', address: '127.0.0.1', port: 1 }],
    });
    base = server.url;
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
    await web?.close();
  });

  const scrape = async (headers: Record<string, string> = {}) => {
    const res = await fetch(new URL('/metrics', base), { headers });
    return { res, samples: parseMetrics(await res.text()) };
  };

  it('counts a scripted workload exactly, the fast path under the same labels as Hono', async () => {
    const script = new Script();
    const call = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(new URL(path, base), { redirect: 'manual', ...init });
      script.record(patternOf(res.url || new URL(path, base).href), init.method ?? 'GET', res.status);
      return res;
    };
    const form = (values: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(values).toString(),
    });
    /** The sign-in pages over real HTTP, each request recorded like the others. */
    const browser = () =>
      new Walker(
        {
          request: async (url: string, init: RequestInit) => {
            const res = await fetch(url, { ...init, redirect: 'manual' });
            script.record(patternOf(url), init.method ?? 'GET', res.status);
            return res;
          },
        } as unknown as Hono,
        base.replace(/\/$/, ''),
      );
    const authorize = `/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      state: 'st',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      scope: 'create',
      me: ME,
    })}`;

    // No purge may be under way; the baseline scrape itself is a request the second scrape counts.
    await server.purgeNow();
    const before = (await scrape()).samples;
    script.record('/metrics', 'GET', 200);
    const fetchedBefore = { ...fetched };

    // 1. A sign-in by delegation to the site's IndieAuth server: started, finished, a code.
    const alice = browser();
    const start = await alice.get(authorize);
    expect(start.status).toBe(302);
    const back = await web.visit(start.location ?? '');
    const consent = await alice.get(back.location ?? '');
    expect(consent.status).toBe(200);
    const approved = await alice.post('/signin/consent', {
      step: consent.step('/signin/consent'),
      decision: 'approve',
      'scope.create': 'on',
    });
    expect(approved.status).toBe(303);
    const code = new URL(approved.location ?? '').searchParams.get('code') ?? '';

    // 2. A sign-in the IndieAuth server refuses: started, failed.
    web.idp.error = 'access_denied';
    const bob = browser();
    const refusedStart = await bob.get(authorize);
    const refusedBack = await web.visit(refusedStart.location ?? '');
    const refused = await bob.get(refusedBack.location ?? '');
    expect(refused.text).toContain('did not sign you in');
    web.idp.error = undefined;

    // 3. The code becomes an access and a refresh token.
    const exchanged = await call(
      '/token',
      form({
        grant_type: 'authorization_code',
        code,
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      }),
    );
    expect(exchanged.status).toBe(200);
    const pair = (await exchanged.json()) as { access_token: string; refresh_token: string };

    // 4. Verification: the fast path (JSON) and Hono (form-encoded answers), valid and invalid.
    const bearer = (token: string, accept?: string) => ({
      headers: { authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) },
    });
    for (let i = 0; i < 7; i++) expect((await call('/token', bearer(pair.access_token))).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await call('/token', bearer(randomToken()))).status).toBe(401);
    const formAccept = 'application/x-www-form-urlencoded';
    for (let i = 0; i < 2; i++)
      expect((await call('/token', bearer(pair.access_token, formAccept))).status).toBe(200);

    // 5. Introspection on the fast path: two active, one inactive.
    const { secret } = await server.services.resourceServers.create('metrics-test');
    const auth = { authorization: `Bearer ${secret}` };
    for (const token of [pair.access_token, pair.access_token, randomToken()]) {
      expect((await call('/introspect', form({ token }, auth))).status).toBe(200);
    }

    // 6. Refresh, then revoke the new access token, then the new refresh token (its grant).
    const refreshedRes = await call(
      '/token',
      form({ grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: CLIENT }),
    );
    expect(refreshedRes.status).toBe(200);
    const refreshed = (await refreshedRes.json()) as { access_token: string; refresh_token: string };
    expect((await call('/revoke', form({ token: refreshed.access_token }))).status).toBe(200);
    expect((await call('/revoke', form({ token: refreshed.refresh_token }))).status).toBe(200);

    // 7. A Mintoken-mode exchange whose discovery cannot connect: one `network` fetch (the server
    // trusts an endpoint, else the exchange is refused before any fetch).
    await addTrustedEndpoint(server.services.store.db, 'http://down.test/auth');
    const down = await call(
      '/token',
      form({ code: 'x', client_id: CLIENT, redirect_uri: REDIRECT, me: 'http://down.test/' }),
    );
    expect(down.status).toBeGreaterThanOrEqual(400);

    // 8. Paths no route matches share one label.
    expect((await call('/no-such-page-4711')).status).toBe(404);
    expect((await call('/token/../../etc/passwd-0815')).status).toBe(404);
    script.requests.delete(
      sample('latchkey_http_requests_total', { route: '/no-such-page-4711', method: 'GET', status: '404' }),
    );
    script.requests.delete(
      sample('latchkey_http_requests_total', { route: '/etc/passwd-0815', method: 'GET', status: '404' }),
    );
    script.record('unmatched', 'GET', 404);
    script.record('unmatched', 'GET', 404);

    // 9. A purge that finds three codes expired more than the week kept.
    const longAgo = Math.floor(Date.now() / 1000) - 30 * 86400;
    for (let i = 0; i < 3; i++) {
      await insertCode(server.services.store.db, {
        code_hash: sha256(randomToken()),
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_challenge: null,
        me: ME,
        scope: '',
        profile: null,
        auth_method: 'indieauth',
        client_name: null,
        client_logo: null,
        proof_fresh: 1,
        created_at: longAgo,
        expires_at: longAgo + 60,
        used_at: null,
        used_by: null,
        grant_id: null,
      });
    }
    await server.purgeNow();

    const { res, samples: after } = await scrape();
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');

    const counter = (name: string, labels: Record<string, string> = {}) => [sample(name, labels)] as const;
    const expected = new Map<string, number>([
      [...counter('latchkey_signins_started_total', { method: 'indieauth' }), 2],
      [...counter('latchkey_signins_finished_total', { method: 'indieauth' }), 1],
      [...counter('latchkey_signins_failed_total', { method: 'indieauth', reason: 'refused' }), 1],
      [...counter('latchkey_codes_issued_total', { method: 'indieauth' }), 1],
      [...counter('latchkey_codes_redeemed_total', { at: 'token' }), 1],
      [...counter('latchkey_tokens_issued_total', { kind: 'access', via: 'code' }), 1],
      [...counter('latchkey_tokens_issued_total', { kind: 'refresh', via: 'code' }), 1],
      [...counter('latchkey_tokens_issued_total', { kind: 'access', via: 'refresh' }), 1],
      [...counter('latchkey_tokens_issued_total', { kind: 'refresh', via: 'refresh' }), 1],
      // 7 + 2 GET /token and 2 introspections with the live token; 3 unknown tokens and 1 introspected.
      [...counter('latchkey_tokens_verified_total', { active: 'true' }), 11],
      [...counter('latchkey_tokens_verified_total', { active: 'false' }), 4],
      [...counter('latchkey_tokens_refreshed_total'), 1],
      [...counter('latchkey_tokens_revoked_total', { kind: 'access' }), 1],
      [...counter('latchkey_tokens_revoked_total', { kind: 'grant' }), 1],
      [...counter('latchkey_outbound_fetches_total', { outcome: 'network' }), 1],
      [...counter('latchkey_purge_runs_total', { result: 'ok' }), 1],
      [...counter('latchkey_purge_rows_total'), 3],
      ...script.requests,
    ]);
    const ok = fetched.ok - fetchedBefore.ok;
    const httpError = fetched.http_error - fetchedBefore.http_error;
    expect(ok).toBeGreaterThan(0);
    expected.set(sample('latchkey_outbound_fetches_total', { outcome: 'ok' }), ok);
    if (httpError > 0)
      expected.set(sample('latchkey_outbound_fetches_total', { outcome: 'http_error' }), httpError);

    const moved = delta(before, after, 'latchkey_');
    // Latency moves with every request; its counts are checked below, the rest must match exactly.
    for (const k of [...moved.keys()])
      if (k.startsWith('latchkey_http_request_duration_seconds')) moved.delete(k);
    expect(Object.fromEntries([...moved].sort())).toEqual(Object.fromEntries([...expected].sort()));

    // The fast path and Hono both count under `/token`; the histogram saw each request once.
    const tokenGets = (status: string) =>
      script.requests.get(
        sample('latchkey_http_requests_total', { route: '/token', method: 'GET', status }),
      ) ?? 0;
    expect(tokenGets('200')).toBe(9);
    expect(tokenGets('401')).toBe(3);
    const histogramCount = sample('latchkey_http_request_duration_seconds_count', {
      route: '/token',
      method: 'GET',
    });
    expect((after.get(histogramCount) ?? 0) - (before.get(histogramCount) ?? 0)).toBe(12);
    const inf = sample('latchkey_http_request_duration_seconds_bucket', {
      route: '/token',
      method: 'GET',
      le: '+Inf',
    });
    expect(after.get(inf)).toBe(after.get(histogramCount));

    // No raw path became a label, and nothing names a person, a client or a token.
    const text = [...after.keys()].join('\n');
    expect(text).not.toContain('4711');
    expect(text).not.toContain('passwd');
    for (const secretish of [ME, CLIENT, 'carol', pair.access_token, pair.refresh_token, secret]) {
      expect(text).not.toContain(secretish);
    }
    // Process metrics are there too.
    expect([...after.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total'))).toBe(true);
  });

  // The fast path counts an answer sent in the turn its request was read at once, and one that waits
  // (here: for the rest of its body) when its response closes; the two must never overlap or miss.
  it('counts each fast-path introspection once, answered at once, after its body, or abandoned', async () => {
    const { secret } = await server.services.resourceServers.create(`fast-${target.name}`);
    const introspections = (status: string, samples: Samples) =>
      samples.get(sample('latchkey_http_requests_total', { route: '/introspect', method: 'POST', status })) ??
      0;
    const timed = (samples: Samples) =>
      samples.get(
        sample('latchkey_http_request_duration_seconds_count', { route: '/introspect', method: 'POST' }),
      ) ?? 0;
    const before = (await scrape()).samples;

    // At once: the whole request in one write.
    const whole = await fetch(new URL('/introspect', base), {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${randomToken()}`,
    });
    expect(await whole.json()).toEqual({ active: false });

    // After its body: `100 Continue` shows the handler has run before the body is sent.
    const body = `token=${randomToken()}`;
    const head =
      `POST /introspect HTTP/1.1\r\nHost: latchkey.test\r\nAuthorization: Bearer ${secret}\r\n` +
      'Content-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\n';
    const late = await RawClient.open(server.port);
    late.write(`${head}Content-Length: ${body.length}\r\n\r\n`);
    expect((await late.response(0))?.status).toBe(100);
    late.write(body);
    const lateAnswer = await late.response(1);
    late.socket.destroy();
    expect(lateAnswer?.status).toBe(200);
    expect(lateAnswer?.body).toBe('{"active":false}');

    // Abandoned: half the body, then the client hangs up.
    const gone = await RawClient.open(server.port);
    gone.write(`${head}Content-Length: 1000\r\n\r\n`);
    expect((await gone.response(0))?.status).toBe(100);
    gone.write('token=half');
    gone.socket.destroy();

    await expect
      .poll(
        async () => introspections('aborted', (await scrape()).samples) - introspections('aborted', before),
      )
      .toBe(1);
    const after = (await scrape()).samples;
    expect(introspections('200', after) - introspections('200', before)).toBe(2);
    expect(timed(after) - timed(before)).toBe(3);
  });

  // Pipelined requests are parsed in one turn; all but the first answer wait in node behind the
  // one before, so the server watches them instead of counting them at once.
  it('counts pipelined fast-path verifications once each', async () => {
    const count = (samples: Samples) =>
      samples.get(
        sample('latchkey_http_requests_total', { route: '/token', method: 'GET', status: '401' }),
      ) ?? 0;
    const before = (await scrape()).samples;
    const requests = 40;
    const client = await RawClient.open(server.port);
    const one = `GET /token HTTP/1.1\r\nHost: latchkey.test\r\nAuthorization: Bearer ${randomToken()}\r\n\r\n`;
    client.write(one.repeat(requests));
    await client.response(requests - 1);
    client.socket.destroy();
    expect(client.responses.filter((r) => r.body.includes('"error":"invalid_token"'))).toHaveLength(requests);
    // Each response closed (and was counted) before its bytes could reach this client.
    expect(count((await scrape()).samples) - count(before)).toBe(requests);
  });

  it('without METRICS_TOKEN answers loopback peers, never a request relayed by a proxy', async () => {
    const direct = await scrape();
    expect(direct.res.status).toBe(200);
    const relayed = await fetch(new URL('/metrics', base), { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(relayed.status).toBe(403);
    expect(relayed.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await relayed.json()) as { error: string }).error).toBe('forbidden');
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  const TOKEN = 'm3tr1cs-t0ken-for-the-test-0123456789';
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({ metricsToken: TOKEN });
  });
  afterAll(async () => {
    await server?.close();
  });

  const get = (authorization?: string) =>
    fetch(new URL('/metrics', server.url), authorization ? { headers: { authorization } } : {});

  it('is 401 with WWW-Authenticate without the token or with a wrong one, 200 with it', async () => {
    for (const wrong of [
      undefined,
      'Bearer ',
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${'x'.repeat(TOKEN.length)}`,
      `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
    ]) {
      const res = await get(wrong);
      expect({ wrong, status: res.status }).toEqual({ wrong, status: 401 });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(((await res.json()) as { error: string }).error).toBe('invalid_token');
    }
    const res = await get(`Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('# TYPE latchkey_http_requests_total counter');
  });

  it('counts the refused scrapes under /metrics like any request', async () => {
    const res = await get(`Bearer ${TOKEN}`);
    const samples = parseMetrics(await res.text());
    expect(
      samples.get(
        sample('latchkey_http_requests_total', { route: '/metrics', method: 'GET', status: '401' }),
      ),
    ).toBe(6);
  });
});

describe('METRICS_TOKEN configuration (R9)', () => {
  it('is optional, and kept as given when long enough', () => {
    expect(loadConfig({}).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: ' ' }).metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: 'abcdefghijklmnop' }).metricsToken).toBe('abcdefghijklmnop');
  });

  it('a short or unsendable token is a ConfigError naming the variable, without echoing it', () => {
    for (const bad of ['short-secret', 'has a space inside it', 'quote"in-the-token-value']) {
      let error: unknown;
      try {
        loadConfig({ METRICS_TOKEN: bad });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).variable).toBe('METRICS_TOKEN');
      expect((error as ConfigError).message).toMatch(/^METRICS_TOKEN: /);
      expect((error as ConfigError).message).not.toContain(bad);
    }
  });
});

describe('Events', () => {
  it('delivers synchronously, unsubscribes, and keeps a failing listener from the emitter', () => {
    const failures: string[] = [];
    const events = new Events((_error, type) => failures.push(type));
    events.emit('token.refreshed', {});
    const seen: boolean[] = [];
    events.on('token.verified', () => {
      throw new Error('broken listener');
    });
    const off = events.on('token.verified', (e) => seen.push(e.active));
    events.emit('token.verified', { active: true });
    off();
    events.emit('token.verified', { active: false });
    expect(seen).toEqual([true]);
    expect(failures).toEqual(['token.verified', 'token.verified']);
  });
});
