/**
 * Client information (PROTOCOL §6) and the redirect_uri rule (PROTOCOL §3, SECURITY A1–A4), against
 * fixture client sites on loopback reached through connect-to host mappings, on SQLite and PostgreSQL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientInfo, cacheSeconds, checkRedirectUri } from '../../src/indieauth/client-info.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { type Fixture, startFixture } from '../helpers/fixture-server.js';
import { storeTargets } from '../helpers/stores.js';

const HOSTS = [
  'cimd.example',
  'html.example',
  'broken.example',
  'slow.example',
  'cache.example',
  'redirect.example',
  'text.example',
  'big.example',
];

/** Requests per `host/path`, so tests can tell a cached answer from a fetch. */
const hits = new Map<string, number>();
const hitsOf = (url: string): number => {
  const u = new URL(url);
  return hits.get(`${u.host}${u.pathname}`) ?? 0;
};

function json(res: ServerResponse, value: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

async function clientSite(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const host = req.headers.host ?? '';
  const path = new URL(req.url ?? '/', `http://${host}`).pathname;
  const key = `${host}${path}`;
  hits.set(key, (hits.get(key) ?? 0) + 1);
  const self = `http://${host}${path}`;
  res.setHeader('x-accept', req.headers.accept ?? '');

  if (host === 'cimd.example') {
    if (path === '/app.json') {
      return json(
        res,
        {
          client_id: self,
          client_name: '  Example\n  App  ',
          client_uri: 'http://cimd.example/',
          logo_uri: 'https://cimd.example/logo.png',
          redirect_uris: [
            'https://cb.example/callback',
            'http://cimd.example/cb',
            'javascript:alert(1)',
            'data:text/html,<script>alert(1)</script>',
            'file:///etc/passwd',
            'https://cb.example/callback#frag',
            42,
          ],
          extra: 'ignored',
        },
        { 'cache-control': 'public, max-age=300' },
      );
    }
    if (path === '/mismatch.json') {
      return json(res, { client_id: 'http://other.example/app.json', client_name: 'Impostor' });
    }
    if (path === '/dropped.json') {
      return json(res, {
        client_id: self,
        client_name: 12,
        client_uri: 'http://cimd.ex',
        logo_uri: 'http://cimd.example/logo.png',
        redirect_uris: 'https://cb.example/not-an-array',
      });
    }
    if (path === '/other-uri.json') {
      return json(res, {
        client_id: self,
        client_uri: 'https://elsewhere.example/',
        logo_uri: 'javascript:x',
      });
    }
    if (path === '/no-id.json') return json(res, { client_name: 'No id' });
  }

  if (host === 'html.example') {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      link: '<https://cb.example/from-header>; rel="redirect_uri"',
    });
    if (path === '/') {
      return void res.end(`<!doctype html>
        <link rel="redirect_uri" href="/callback">
        <link rel="redirect_uri" href="javascript:alert(1)">
        <div class="h-app"><a class="u-url" href="http://other.example/">x</a><span class="p-name">Other app</span></div>
        <div class="h-x-app">
          <a class="u-url p-name" href="/">Legacy App</a>
          <img class="u-logo" src="https://html.example/logo.png" alt="">
        </div>`);
    }
    if (path === '/http-logo') {
      return void res.end(`<div class="h-app"><a class="u-url p-name" href="/http-logo">App</a>
        <img class="u-logo" src="/logo.png" alt=""></div>`);
    }
    return void res.end('<p>Just a page</p>');
  }

  if (host === 'broken.example') {
    res.writeHead(500, { 'content-type': 'text/plain' });
    return void res.end('oops');
  }
  if (host === 'slow.example') {
    await new Promise((resolve) => setTimeout(resolve, 100));
    return json(res, { client_id: self, client_name: 'Slow' });
  }
  if (host === 'cache.example') {
    const headers: Record<string, string> =
      path === '/short'
        ? { 'cache-control': 'max-age=5' }
        : path === '/no-store'
          ? { 'cache-control': 'no-store' }
          : {};
    return json(res, { client_id: self, client_name: `Cache ${hitsOf(self)}` }, headers);
  }
  if (host === 'redirect.example') {
    res.writeHead(302, { location: 'http://cimd.example/app.json' });
    return void res.end();
  }
  if (host === 'text.example') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return void res.end('hello');
  }
  if (host === 'big.example') {
    return json(res, { client_id: self, padding: 'x'.repeat(70 * 1024) });
  }
  res.writeHead(404).end();
}

describe.each(storeTargets)('client information on $name', (target) => {
  let site: Fixture;
  let t: TestApp;

  beforeAll(async () => {
    hits.clear(); // each store target starts with an empty cache
    site = await startFixture(clientSite);
    t = await createTestApp(target, {
      connectTo: [
        ...HOSTS.map((host) => ({ host, address: '127.0.0.1', port: site.port })),
        { host: 'down.example', address: '127.0.0.1', port: 1 },
      ],
    });
  });
  afterAll(async () => {
    await t.close();
    await site.close();
  });

  const get = (clientId: string) => t.services.clientInfo.get(clientId);

  it('reads a CIMD JSON document: name, client_uri, https logo, valid redirect URIs only (A4)', async () => {
    const info = await get('http://cimd.example/app.json');
    expect(info).toEqual({
      clientId: 'http://cimd.example/app.json',
      name: 'Example App',
      clientUri: 'http://cimd.example/',
      logoUri: 'https://cimd.example/logo.png',
      redirectUris: ['https://cb.example/callback', 'http://cimd.example/cb'],
      source: 'metadata',
    });
  });

  it('asks for JSON first and HTML second', async () => {
    const res = await t.services.fetcher('http://text.example/accept', {
      accept: 'application/json, text/html;q=0.9',
      maxBytes: 1024,
    });
    expect(res.headers.get('x-accept')).toBe('application/json, text/html;q=0.9');
  });

  it('ignores a document whose client_id is not its own URL, with a problem, and does not cache it', async () => {
    const id = 'http://cimd.example/mismatch.json';
    const info = await get(id);
    expect(info.source).toBe('none');
    expect(info.name).toBeUndefined();
    expect(info.redirectUris).toEqual([]);
    expect(info.problem).toContain('http://other.example/app.json');
    await get(id);
    expect(hitsOf(id)).toBe(2);
  });

  it('ignores a JSON document without client_id', async () => {
    const info = await get('http://cimd.example/no-id.json');
    expect(info.source).toBe('none');
    expect(info.problem).toContain('client_id');
  });

  it('drops a non-https logo (E7), a client_uri that is not a prefix on the same origin, and badly typed fields', async () => {
    const dropped = await get('http://cimd.example/dropped.json');
    expect(dropped).toEqual({
      clientId: 'http://cimd.example/dropped.json',
      redirectUris: [],
      source: 'metadata',
    });
    const other = await get('http://cimd.example/other-uri.json');
    expect(other.clientUri).toBeUndefined();
    expect(other.logoUri).toBeUndefined();
    expect(other.source).toBe('metadata');
  });

  it('reads a legacy HTML page: the matching h-x-app gives name and logo, rel=redirect_uri from Link header and HTML', async () => {
    const info = await get('http://html.example/');
    expect(info).toEqual({
      clientId: 'http://html.example/',
      name: 'Legacy App',
      logoUri: 'https://html.example/logo.png',
      redirectUris: ['https://cb.example/from-header', 'http://html.example/callback'],
      source: 'h-app',
    });
  });

  it('drops an http logo from an h-app', async () => {
    const info = await get('http://html.example/http-logo');
    expect(info.name).toBe('App');
    expect(info.logoUri).toBeUndefined();
  });

  it('an HTML page without a matching h-app still gives its redirect URIs and says why there is no name', async () => {
    const info = await get('http://html.example/plain');
    expect(info.source).toBe('h-app');
    expect(info.name).toBeUndefined();
    expect(info.redirectUris).toEqual(['https://cb.example/from-header']);
    expect(info.problem).toContain('no h-app');
  });

  it('a failing fetch gives source none with a problem, and is never cached', async () => {
    const id = 'http://broken.example/';
    const first = await get(id);
    expect(first.source).toBe('none');
    expect(first.problem).toContain('HTTP status 500');
    const second = await get(id);
    expect(second.source).toBe('none');
    expect(hitsOf(id)).toBe(2);
    const rows = await t.services.store.db.selectFrom('client_cache').select('client_id').execute();
    expect(rows.map((r) => r.client_id)).not.toContain(id);
  });

  it('an unreachable client is not fatal', async () => {
    const info = await get('http://down.example/');
    expect(info).toMatchObject({ source: 'none', redirectUris: [] });
    expect(info.problem).toContain('could not fetch http://down.example/');
  });

  it('a redirecting client_id is not followed (CIMD forbids redirects)', async () => {
    const info = await get('http://redirect.example/');
    expect(info.source).toBe('none');
    expect(info.problem).toContain('redirects to http://cimd.example/app.json');
  });

  it('neither JSON nor HTML, or JSON over 64 KiB, is refused', async () => {
    expect((await get('http://text.example/')).problem).toContain('text/plain');
    expect((await get('http://big.example/')).problem).toContain('64 KiB');
  });

  it('caches a good document for its max-age, then fetches it again', async () => {
    const id = 'http://cimd.example/app.json';
    const before = hitsOf(id);
    t.clock.now += 10;
    await get(id);
    t.clock.now += 280;
    expect((await get(id)).name).toBe('Example App');
    expect(hitsOf(id)).toBe(before);
    t.clock.now += 20; // past 300 s since the first read
    await get(id);
    expect(hitsOf(id)).toBe(before + 1);
  });

  it('caches for 10 minutes by default, and at least 60 s whatever the header says', async () => {
    const plain = 'http://cache.example/default';
    expect((await get(plain)).name).toBe('Cache 1');
    t.clock.now += 599;
    expect((await get(plain)).name).toBe('Cache 1');
    t.clock.now += 2;
    expect((await get(plain)).name).toBe('Cache 2');

    for (const id of ['http://cache.example/short', 'http://cache.example/no-store']) {
      await get(id);
      t.clock.now += 59;
      await get(id);
      expect(hitsOf(id)).toBe(1);
      t.clock.now += 2;
      await get(id);
      expect(hitsOf(id)).toBe(2);
    }
  });

  it('coalesces 10 concurrent gets of one client_id into one fetch', async () => {
    const id = 'http://slow.example/';
    const results = await Promise.all(Array.from({ length: 10 }, () => get(id)));
    expect(hitsOf(id)).toBe(1);
    for (const info of results) expect(info.name).toBe('Slow');
  });

  it('never fetches a loopback client_id', async () => {
    const before = [...hits.values()].reduce((a, b) => a + b, 0);
    for (const id of [`http://localhost:${site.port}/`, `http://127.0.0.1:${site.port}/`, 'http://[::1]/']) {
      const info = await get(id);
      expect(info.source).toBe('none');
      expect(info.problem).toContain('loopback');
    }
    expect([...hits.values()].reduce((a, b) => a + b, 0)).toBe(before);
  });

  it('an invalid client_id is not fetched', async () => {
    const info = await get('https://app.example/#frag');
    expect(info.source).toBe('none');
    expect(info.problem).toContain('not valid');
  });
});

describe('cacheSeconds (Cache-Control, bounded)', () => {
  it('defaults to 10 minutes and bounds to [60 s, 24 h]', () => {
    expect(cacheSeconds(null)).toBe(600);
    expect(cacheSeconds('public')).toBe(600);
    expect(cacheSeconds('max-age=300')).toBe(300);
    expect(cacheSeconds('max-age=5')).toBe(60);
    expect(cacheSeconds('max-age=9999999')).toBe(86400);
    expect(cacheSeconds('max-age=300, s-maxage=900')).toBe(900);
    expect(cacheSeconds('no-cache, max-age=3000')).toBe(60);
    expect(cacheSeconds('no-store')).toBe(60);
  });
});

describe('checkRedirectUri (PROTOCOL §3)', () => {
  const CLIENT = 'https://app.example/';
  const info = (redirectUris: string[], source: ClientInfo['source'] = 'metadata'): ClientInfo => ({
    clientId: CLIENT,
    redirectUris,
    source,
  });
  const published = info(['https://cb.example/callback', 'http://127.0.0.1:8080/cb']);
  const refused = (redirectUri: string, i = published, clientId = CLIENT) => {
    const check = checkRedirectUri(clientId, redirectUri, i);
    expect(check.ok, redirectUri).toBe(false);
    return check.ok ? '' : check.reason;
  };
  const allowed = (redirectUri: string, i = published, clientId = CLIENT) =>
    expect(checkRedirectUri(clientId, redirectUri, i), redirectUri).toEqual({ ok: true });

  it('A1: a redirect_uri differing in any character from the published one is refused', () => {
    allowed('https://cb.example/callback');
    for (const variant of [
      'https://cb.example/callback/extra',
      'https://cb.example/callback/',
      'https://cb.example/callbac',
      'https://cb.example/callback?x=1',
      'https://cb.example/callback?',
      'https://cb.example/Callback',
      'https://CB.example/callback',
      'HTTPS://cb.example/callback',
      'http://cb.example/callback',
      'https://cb.example:443/callback',
      'https://cb.example/x/../callback',
      'https://cb.example/x/%2e%2e/callback',
      'https://cb.example/x/%2E%2E/callback',
      'https://cb.example./callback',
      'https://cb.example/callback%20',
    ]) {
      refused(variant);
    }
    expect(refused('https://cb.example/Callback')).toContain(
      'The client publishes https://cb.example/callback; a redirect_uri must match a published one character for character',
    );
  });

  it("A1: exact URLs on the client_id's own origin are allowed, dot segments are not", () => {
    allowed('https://app.example/callback', info([]));
    allowed('https://app.example/any/path?with=query', info([], 'none'));
    refused('https://app.example/x/../callback', info([]));
    refused('https://app.example/x/%2e%2e/callback', info([]));
    // Another scheme or port is another origin.
    refused('http://app.example/callback', info([]));
    refused('https://app.example:8443/callback', info([]));
  });

  it('A2: a redirect_uri on another host is refused unless the client publishes it', () => {
    const reason = refused('https://other.example/callback', info([]));
    expect(reason).toContain('does not publish it');
    allowed('https://other.example/callback', info(['https://other.example/callback']));
    expect(
      refused('https://other.example/callback', { ...info([], 'none'), problem: 'It was down.' }),
    ).toContain('could not be read (It was down)');
  });

  it('A3: look-alike hosts never match', () => {
    const client = 'https://example.com/';
    const i: ClientInfo = { clientId: client, redirectUris: ['https://example.com/cb'], source: 'metadata' };
    refused('https://example.com.evil.example/cb', i, client);
    refused('https://evil.example/example.com/cb', i, client);
    refused('https://badexample.com/cb', i, client);
    refused('https://example.com@evil.example/cb', i, client);
    allowed('https://example.com/cb', i, client);
  });

  it('A4: javascript:, data: and file: redirect URIs are refused even if "published"', () => {
    const i = info(['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd']);
    for (const uri of ['javascript:alert(1)', 'data:text/html,x', 'file:///etc/passwd']) {
      expect(refused(uri, i)).toContain('not valid');
    }
  });

  it('RFC 8252 §7.3: a published loopback redirect URI may vary its port, nothing else', () => {
    allowed('http://127.0.0.1:8080/cb');
    allowed('http://127.0.0.1:51234/cb');
    allowed('http://127.0.0.1/cb');
    refused('http://127.0.0.1:51234/cb2');
    refused('http://localhost:51234/cb');
    refused('https://127.0.0.1:51234/cb');
    // A non-loopback published URI never varies its port.
    refused('https://cb.example:8443/callback');
  });

  it('a loopback client_id (never fetched) may use its own host on any port', () => {
    const client = 'http://127.0.0.1/';
    const none: ClientInfo = { clientId: client, redirectUris: [], source: 'none' };
    allowed('http://127.0.0.1:49152/callback', none, client);
    refused('http://localhost:49152/callback', none, client);
    refused('https://127.0.0.1:49152/callback', none, client);
    refused('https://app.example/callback', none, client);
  });
});
