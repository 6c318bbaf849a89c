/**
 * The sign-in flow end to end in-process (PROTOCOL §7, §9): real store, real fetcher reaching
 * fixture sites on loopback, a real SMTP server, the fixture IndieAuth server. Security rows are named
 * after SECURITY.md ids.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { createTestApp, form, type TestApp } from '../helpers/app.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';
import { storeTargets } from '../helpers/stores.js';
import { Walker } from '../helpers/walker.js';

const ISSUER = 'https://login.test/';
const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const VERIFIER = 'a'.repeat(20) + 'B'.repeat(23);
const CHALLENGE = s256(VERIFIER);

function authorizeUrl(extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    state: 'st-1 &=?',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...extra,
  });
  return `/authorize?${params}`;
}

function callbackParams(location: string | undefined): URLSearchParams {
  expect(location).toBeDefined();
  const url = new URL(location as string);
  expect(url.origin + url.pathname).toBe(REDIRECT);
  return url.searchParams;
}

describe.each(storeTargets.slice(0, 1))('sign-in flow ($name)', (target) => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let t: TestApp;
  let walker: Walker;

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await web?.close();
    await smtp?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    Object.assign(web.idp, { returnMe: undefined, iss: undefined, error: undefined });
    web.page(CLIENT, clientApp('Test App', CLIENT));
    web.page(
      'http://alice.test/',
      homepage('Alice', '<link rel="me" href="mailto:alice@alice.test"><link rel="pgpkey" href="/key.asc">'),
    );
    web.page('http://bob.test/', homepage('Bob', '<a rel="me" href="mailto:bob@bob.test">email</a>'));
    web.page(
      'http://carol.test/',
      homepage('Carol', '<link rel="authorization_endpoint" href="http://idp.test/auth">'),
    );
    t = await createTestApp(target, { connectTo: web.connectTo, config: { smtpUrl: smtp.url } });
    walker = new Walker(t.app);
  });
  afterEach(async () => {
    await t?.close();
  });

  async function signInByEmail(me: string, address: string, extra: Record<string, string> = {}) {
    const first = await walker.get(authorizeUrl({ me, ...extra }));
    expect(first.status).toBe(200);
    expect(first.text).toContain(`Your site links to ${address}`);
    const sent = await walker.post('/signin/step/email.send', {
      step: first.step('/signin/step/email.send'),
    });
    expect(sent.status).toBe(200);
    const code = smtp.codeIn(await smtp.nextMessage(address));
    return walker.post('/signin/step/email.verify', { step: sent.step('/signin/step/email.verify'), code });
  }

  it('signs in by email: one method goes straight to it, the code comes back with state and iss (E6)', async () => {
    const done = await signInByEmail('http://bob.test/', 'bob@bob.test');
    expect(done.status).toBe(303);
    const params = callbackParams(done.location);
    expect(params.get('state')).toBe('st-1 &=?');
    expect(params.get('iss')).toBe(ISSUER);
    const code = params.get('code') ?? '';
    const redeemed = await t.app.request(
      '/token',
      form({
        grant_type: 'authorization_code',
        code,
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      }),
    );
    expect(redeemed.status).toBe(200);
    expect(await redeemed.json()).toEqual({ me: 'http://bob.test/' });
  });

  it('offers a chooser when the site links several methods', async () => {
    const page = await walker.get(authorizeUrl({ me: 'http://alice.test/' }));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Email a code to alice@alice.test');
    expect(page.text).toContain('Sign a challenge with your PGP key');
    const chosen = await walker.post('/signin/choose', { step: page.step('/signin/choose'), candidate: '0' });
    expect(chosen.text).toContain('Latchkey will email a one-time code');
  });

  it('shows the sign-in form without me; a bare domain tries https://…/, and http only when chosen', async () => {
    const page = await walker.get(authorizeUrl());
    expect(page.status).toBe(200);
    expect(page.body).toContain('<label for="me">');
    const bare = await walker.post('/signin/site', { step: page.step('/signin/site'), me: 'bob.test' });
    // The fixture speaks only http: the TLS handshake to https://bob.test/ gets a plain-HTTP answer.
    expect(bare.status).toBe(400);
    expect(bare.text).toContain("bob.test doesn't answer over a secure connection (https).");
    expect(bare.text).not.toContain('TLS handshake');
    // The http address is offered as a button (a form carrying it), never fetched on its own.
    expect(bare.body).toMatch(
      /<form method="post" action="\/signin\/site"[^>]*>\s*<input type="hidden" name="step" value="[^"]+"\/?>\s*<input type="hidden" name="me" value="http:\/\/bob\.test\/"/,
    );
    expect(bare.text).toContain('Try http://bob.test/ instead');
    const next = await walker.post('/signin/site', {
      step: bare.step('/signin/site'),
      me: 'http://bob.test/',
    });
    expect(next.text).toContain('Your site links to bob@bob.test');
  });

  it('delegates to the site’s own IndieAuth server with PKCE, state and me, and checks the answer', async () => {
    const start = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
    expect(start.status).toBe(302);
    const upstream = new URL(start.location ?? '');
    expect(upstream.origin + upstream.pathname).toBe('http://idp.test/auth');
    expect(upstream.searchParams.get('client_id')).toBe(ISSUER);
    expect(upstream.searchParams.get('code_challenge_method')).toBe('S256');
    expect(upstream.searchParams.get('me')).toBe('http://carol.test/');
    const back = await web.visit(upstream.href);
    const done = await walker.get(back.location ?? '');
    expect(done.status).toBe(302);
    const params = callbackParams(done.location);
    expect(params.get('iss')).toBe(ISSUER);
    expect(params.get('state')).toBe('st-1 &=?');
    const redemption = web.idp.redemptions.at(-1);
    expect(redemption?.get('code_verifier')).toBeTruthy();
    const redeemed = await t.app.request(
      '/authorize',
      form({
        code: params.get('code') ?? '',
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      }),
    );
    expect(await redeemed.json()).toEqual({ me: 'http://carol.test/' });
  });

  it('E2: /authorize has no CORS headers', async () => {
    const page = await walker.get(authorizeUrl(), { origin: 'http://evil.test' });
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
  });
});
