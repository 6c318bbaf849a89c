/**
 * What sign-in pages say so people can trust them (issue 10, item 6), in-process against fixture
 * sites: the app named with its host beside it, the consent page's redirect_uri and plain-http
 * warnings, a returning visitor typing a bare domain, and https that fails — no TLS at all (http is
 * offered, as a button) versus a bad certificate (it is not). Also the favicon and the header logo.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import { FAVICON_PATH } from '../../src/views/logo.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';
import { storeTargets } from '../helpers/stores.js';
import { Walker } from '../helpers/walker.js';

const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const VERIFIER = 'v'.repeat(43);
const TLS = new URL('../fixtures/tls/', import.meta.url);

function authorizeUrl(extra: Record<string, string> = {}): string {
  return `/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    state: 'st',
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
    ...extra,
  })}`;
}

describe.each(storeTargets.slice(0, 1))('pages people trust ($name)', (target) => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let tlsSite: Server;
  let tlsPort: number;
  let t: TestApp;
  let walker: Walker;

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
    // An https site whose certificate (the test CA's, for social.test and friends) names other hosts.
    tlsSite = createServer(
      { cert: readFileSync(new URL('server.pem', TLS)), key: readFileSync(new URL('server-key.pem', TLS)) },
      (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hello</p>'),
    );
    await new Promise<void>((resolve) => tlsSite.listen(0, '127.0.0.1', resolve));
    tlsPort = (tlsSite.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => tlsSite?.close(() => resolve()));
    await web?.close();
    await smtp?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    web.page(CLIENT, clientApp('Test App', CLIENT));
    web.page('http://bob.test/', homepage('Bob', '<link rel="me" href="mailto:bob@bob.test">'));
    t = await createTestApp(target, {
      connectTo: [...web.connectTo, { host: 'wrongname.test', address: '127.0.0.1', port: tlsPort }],
      config: { smtpUrl: smtp.url },
    });
    walker = new Walker(t.app);
  });
  afterEach(async () => {
    await t?.close();
  });

  /** Signs in as http://bob.test/ by email; returns the page after the code (consent or redirect). */
  async function signInAsBob(extra: Record<string, string> = {}) {
    const first = await walker.get(authorizeUrl({ me: 'http://bob.test/', ...extra }));
    const sent = await walker.post('/signin/step/email.send', {
      step: first.step('/signin/step/email.send'),
    });
    const code = smtp.codeIn(await smtp.nextMessage('bob@bob.test'));
    return walker.post('/signin/step/email.verify', { step: sent.step('/signin/step/email.verify'), code });
  }

  it('the sign-in page names the app by its client name with its host beside it', async () => {
    const page = await walker.get(authorizeUrl());
    expect(page.text).toContain('Test App (app.test) wants you to sign in with your website.');
    expect(page.text).toContain('App address: http://app.test/');
  });

  it('without a name the host stands in; a long name is cut, escaped, and look-alike names are flagged (E7, E8)', async () => {
    web.page(CLIENT, { body: '<!doctype html><p>no h-app here</p>' });
    const plain = await walker.get(authorizeUrl());
    expect(plain.text).toContain('app.test wants you to sign in with your website.');

    const long = `<b>github.com</b> ${'Very long app name '.repeat(10)}`;
    const other = 'http://other.test/';
    web.page(other, {
      type: 'application/json',
      body: JSON.stringify({ client_id: other, client_name: long, redirect_uris: [`${other}cb`] }),
    });
    const page = await walker.get(authorizeUrl({ client_id: other, redirect_uri: `${other}cb` }));
    expect(page.body).not.toContain('<b>github.com</b>');
    expect(page.body).toContain('&lt;b&gt;github.com&lt;/b&gt;');
    const shown = /<strong>([^<]*)<\/strong>/.exec(page.body)?.[1] ?? '';
    expect(shown.endsWith('…')).toBe(true);
    expect(Array.from(shown.replace(/&[a-z]+;/g, '&')).length).toBeLessThanOrEqual(60);
    // The host is always beside the name, and the look-alike warning still shows (E8).
    expect(page.text).toContain('(other.test) wants you to sign in');
    expect(page.text).toContain('names github.com');
  });

  it('E8: an international client_id host still gets its warning on the sign-in page', async () => {
    const page = await walker.get(
      authorizeUrl({ client_id: 'http://аpp.test/', redirect_uri: 'http://аpp.test/cb' }),
    );
    expect(page.text).toContain('аpp.test wants you to sign in');
    expect(page.text).toContain('international letters');
    expect(page.text).toContain('xn--pp-6kc.test');
  });

  it('the consent page shows the redirect_uri and says a plain-http app is not secure', async () => {
    const consent = await signInAsBob({ scope: 'create' });
    expect(consent.status).toBe(200);
    expect(consent.text).toContain('Sends you back to (redirect_uri) http://app.test/callback');
    expect(consent.text).toContain('This app does not use a secure connection');
    expect(consent.text).toContain('Others on the network could see what passes between you and the app');
    expect(consent.text).not.toContain('runs on this computer');
  });

  it('the consent page says a loopback http app runs on this computer, without the network warning', async () => {
    const consent = await signInAsBob({
      scope: 'create',
      client_id: 'http://127.0.0.1:8123/',
      redirect_uri: 'http://127.0.0.1:8123/callback',
    });
    expect(consent.status).toBe(200);
    expect(consent.text).toContain('Sends you back to (redirect_uri) http://127.0.0.1:8123/callback');
    expect(consent.text).toMatch(/This app runs on this computer \(its address is on 127\.0\.0\.1 ?\)/);
    expect(consent.text).not.toContain('does not use a secure connection');
  });

  it('a returning visitor typing a bare domain gets "Continue as" for the site proved over http, no error', async () => {
    const done = await signInAsBob();
    expect(done.status).toBe(303);
    const form = await walker.get(authorizeUrl());
    expect(form.text).toContain('Continue as http://bob.test/');
    // The primary action is "Continue as"; typing another site is the secondary one.
    expect(form.body).toMatch(/<button type="submit" name="me" value="http:\/\/bob\.test\/">/);
    expect(form.body).toContain(
      '<button type="submit" class="secondary">Sign in with a different site</button>',
    );
    expect(form.body).not.toContain('class="problem"');
    const typed = await walker.post('/signin/site', { step: form.step('/signin/site'), me: 'bob.test' });
    expect(typed.status).toBe(200);
    expect(typed.text).toContain('Continue as http://bob.test/?');
    expect(typed.body).not.toContain('class="problem"');
    // The app's own form may send the bare domain as the `me` hint: the same.
    const hinted = await walker.get(authorizeUrl({ me: 'bob.test', state: 'again' }));
    expect(hinted.text).toContain('Continue as http://bob.test/?');
    expect(hinted.body).not.toContain('class="problem"');
    // An explicit https:// is taken at its word: it is not the http identity.
    const explicit = await walker.post('/signin/site', {
      step: hinted.step('/signin/site'),
      me: 'https://bob.test/',
    });
    expect(explicit.text).not.toContain('Continue as http://bob.test/?');
  });

  it('a certificate for another name is named as such, and plain http is not offered', async () => {
    const page = await walker.get(authorizeUrl());
    const answer = await walker.post('/signin/site', {
      step: page.step('/signin/site'),
      me: 'wrongname.test',
    });
    expect(answer.status).toBe(400);
    expect(answer.text).toContain(
      'wrongname.test has a secure connection (https), but its security certificate is for a different name.',
    );
    expect(answer.text).toContain('does not switch to plain http instead');
    expect(answer.body).not.toContain('value="http://wrongname.test/"');
    expect(answer.text).not.toContain('Try http://');
  });

  it('serves its own favicon (also as /favicon.ico) and links it from every page, logo beside the name', async () => {
    const page = await walker.get('/');
    expect(page.body).toContain(`<link rel="icon" type="image/svg+xml" href="${FAVICON_PATH}"/>`);
    expect(page.body).toMatch(/<a href="\/" class="brand"><svg class="logo"[^>]*aria-hidden="true"/);
    const versioned = await t.app.request(FAVICON_PATH);
    expect(versioned.status).toBe(200);
    expect(versioned.headers.get('content-type')).toBe('image/svg+xml');
    expect(versioned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const svg = await versioned.text();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 32 32"/);
    // Nothing in it loads or runs anything (SECURITY E1).
    expect(svg).not.toMatch(/<script|href=|url\(/);
    for (const path of ['/favicon.svg', '/favicon.ico']) {
      const res = await t.app.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe('image/svg+xml');
      expect(res.headers.get('cache-control'), path).toBe('public, max-age=86400');
      expect(await res.text(), path).toBe(svg);
    }
  });
});
