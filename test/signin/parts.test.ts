/**
 * The small parts of the sign-in core: session cookies and key rotation (SECURITY R7), store-backed
 * rate limits (R5, both stores), the email code alphabet, the demo relying party, Latchkey's client
 * document and the metadata for the authorization endpoint (PROTOCOL §11).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mailtoAddress, newEmailCode, normaliseEmailCode } from '../../src/signin/methods/email/index.js';
import { RateLimiter } from '../../src/signin/rate-limit.js';
import { newSession, openSession, sealSession, sessionCookieHeader } from '../../src/signin/session.js';
import { clientApp, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startFixture } from '../helpers/fixture-server.js';
import { startSmtp } from '../helpers/smtp.js';
import { storeTargets } from '../helpers/stores.js';
import { Walker } from '../helpers/walker.js';

describe('session cookies', () => {
  it('R7: a new key signs, old keys still verify until removed', () => {
    const session = newSession();
    const sealedWithOld = sealSession(session, ['old-key']);
    expect(openSession(sealedWithOld, ['new-key', 'old-key'])?.hash).toBe(session.hash);
    expect(openSession(sealedWithOld, ['new-key'])).toBeUndefined();
    const sealedWithNew = sealSession(session, ['new-key', 'old-key']);
    expect(openSession(sealedWithNew, ['new-key'])?.id).toBe(session.id);
  });

  it('tampered or malformed cookies are no session', () => {
    const sealed = sealSession(newSession(), ['k']);
    expect(openSession(`${sealed}x`, ['k'])).toBeUndefined();
    // Another id under the same signature (the first character changed, whatever it was).
    const otherId = `${sealed.startsWith('A') ? 'B' : 'A'}${sealed.slice(1)}`;
    expect(openSession(otherId, ['k'])).toBeUndefined();
    expect(openSession('nodot', ['k'])).toBeUndefined();
    expect(openSession(undefined, ['k'])).toBeUndefined();
  });

  it('the cookie is HttpOnly, SameSite=Lax, and __Host-/Secure over https', () => {
    const https = sessionCookieHeader('https://login.example/', 'v');
    expect(https).toMatch(/^__Host-latchkey=v; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax; Secure$/);
    expect(sessionCookieHeader('http://localhost:3000/', 'v')).not.toContain('Secure');
  });
});

describe('email codes', () => {
  it('are 10 characters from an alphabet without look-alikes, typed in any case with spaces', () => {
    for (let i = 0; i < 50; i++) expect(newEmailCode()).toMatch(/^[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{10}$/);
    expect(normaliseEmailCode(' abcd-efgh 23 ')).toBe('ABCDEFGH23');
  });

  it('only plain mailto: addresses are email candidates', () => {
    expect(mailtoAddress('mailto:Alice@Example.COM')).toBe('Alice@example.com');
    expect(mailtoAddress('mailto:alice@example.com?subject=hi')).toBe('alice@example.com');
    for (const bad of [
      'mailto:',
      'mailto:a@b',
      'mailto:a b@example.com',
      'https://example.com',
      'mailto:<a@example.com>',
    ]) {
      expect(mailtoAddress(bad), bad).toBeUndefined();
    }
  });
});

describe.each(storeTargets)('rate limits on $name', (target) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(target);
  });
  afterEach(async () => {
    await t?.close();
  });

  it('R5: a fixed window counts hits from every caller and resets', async () => {
    const limits = new RateLimiter(t.services.store, () => t.clock.now, {
      'signin-ip': { max: 3, windowSeconds: 60 },
      'email-address': { max: 1, windowSeconds: 60 },
      'email-ip': { max: 1, windowSeconds: 60 },
    });
    t.clock.now = 6_000_000; // the start of a window
    const hit = () => limits.check([{ name: 'signin-ip', key: '192.0.2.1' }]);
    const results = await Promise.all([hit(), hit(), hit(), hit(), hit()]);
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(await limits.check([{ name: 'signin-ip', key: '192.0.2.2' }])).toEqual({ ok: true });
    t.clock.now += 60;
    expect(await hit()).toEqual({ ok: true });
  });

  it('R5: sign-in starts are limited per client IP, and X-Forwarded-For counts only from a trusted proxy', async () => {
    await t.close();
    t = await createTestApp(target, { config: { trustProxy: ['10.0.0.0/8'] } });
    const limits = new RateLimiter(t.services.store, () => t.clock.now);
    for (let i = 0; i < 60; i++) await limits.check([{ name: 'signin-ip', key: 'unknown' }]);
    const walker = new Walker(t.app);
    const page = await walker.get(
      '/authorize?client_id=http://127.0.0.1:9/&redirect_uri=http://127.0.0.1:9/cb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256',
      // Not from a trusted proxy (in-process requests have no socket): the header is ignored.
      { 'x-forwarded-for': '198.51.100.7' },
    );
    expect(page.status).toBe(429);
    expect(page.text).toContain('Too many sign-ins');
  });
  it('R5: /authorize requests that end in an error redirect still count, and fetch nothing once limited', async () => {
    let fetches = 0;
    const client = await startFixture((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<link rel="redirect_uri" href="http://elsewhere.test/cb">');
    });
    try {
      await t.close();
      t = await createTestApp(target, {
        connectTo: [{ host: 'scan.test', address: '127.0.0.1', port: client.port }],
      });
      const limits = new RateLimiter(t.services.store, () => t.clock.now);
      for (let i = 0; i < 59; i++) await limits.check([{ name: 'signin-ip', key: 'unknown' }]);
      // A malformed scope ends in an error redirect, which first needs the client's published URIs.
      const query = new URLSearchParams({
        client_id: 'http://scan.test/',
        redirect_uri: 'http://elsewhere.test/cb',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        scope: 'create "quoted"',
      });
      const walker = new Walker(t.app);
      const last = await walker.get(`/authorize?${query}`);
      expect(last.status).toBe(302);
      expect(new URL(last.location ?? '').searchParams.get('error')).toBe('invalid_scope');
      expect(fetches).toBe(1);
      const limited = await walker.get(`/authorize?${query}`);
      expect(limited.status).toBe(429);
      expect(fetches).toBe(1);
    } finally {
      await client.close();
    }
  });
});

describe.each(storeTargets.slice(0, 1))('demo and metadata ($name)', (target) => {
  it('the home page signs a person in to Latchkey itself, checking state and iss', async () => {
    const web = await startFixtureWeb();
    const smtp = await startSmtp();
    web.page('http://bob.test/', homepage('Bob', '<link rel="me" href="mailto:bob@bob.test">'));
    web.page('http://app.test/', clientApp('unused', 'http://app.test/'));
    const t = await createTestApp(target, {
      connectTo: web.connectTo,
      config: { smtpUrl: smtp.url, publicUrl: 'http://localhost:3000/' },
    });
    try {
      const walker = new Walker(t.app, 'http://localhost:3000');
      const start = await walker.get('/demo/start?me=http://bob.test/');
      expect(start.status).toBe(302);
      const authorize = new URL(start.location ?? '');
      expect(authorize.searchParams.get('client_id')).toBe('http://localhost:3000/');
      const send = await walker.get(authorize.pathname + authorize.search);
      const sent = await walker.post('/signin/step/email.send', {
        step: send.step('/signin/step/email.send'),
      });
      const code = smtp.codeIn(await smtp.nextMessage('bob@bob.test'));
      const done = await walker.post('/signin/step/email.verify', {
        step: sent.step('/signin/step/email.verify'),
        code,
      });
      const back = new URL(done.location ?? '');
      expect(back.pathname).toBe('/demo/callback');
      const forged = new URL(back);
      forged.searchParams.set('iss', 'https://evil.example/');
      expect((await walker.get(forged.pathname + forged.search)).status).toBe(400);
      const result = await walker.get(back.pathname + back.search);
      expect(result.status).toBe(200);
      expect(result.text).toContain('You are signed in as http://bob.test/');
      // The state cookie is single-use.
      expect((await walker.get(back.pathname + back.search)).status).toBe(400);
    } finally {
      await t.close();
      await web.close();
      await smtp.close();
    }
  });

  it('GET / answers Latchkey’s client ID metadata document to JSON requests; metadata names every endpoint', async () => {
    const t = await createTestApp(target);
    try {
      const doc = await t.app.request('/', { headers: { accept: 'application/json' } });
      expect(await doc.json()).toEqual({
        client_id: 'https://login.test/',
        client_name: 'Latchkey',
        client_uri: 'https://login.test/',
        redirect_uris: [
          'https://login.test/signin/indieauth/callback',
          'https://login.test/demo/callback',
          'https://login.test/account/callback',
        ],
      });
      const meta = (await (await t.app.request('/.well-known/oauth-authorization-server')).json()) as Record<
        string,
        unknown
      >;
      expect(meta).toMatchObject({
        issuer: 'https://login.test/',
        authorization_endpoint: 'https://login.test/authorize',
        token_endpoint: 'https://login.test/token',
        userinfo_endpoint: 'https://login.test/userinfo',
        service_documentation: 'https://login.test/docs',
        client_id_metadata_document_supported: true,
        authorization_response_iss_parameter_supported: true,
        code_challenge_methods_supported: ['S256'],
      });
    } finally {
      await t.close();
    }
  });
});
