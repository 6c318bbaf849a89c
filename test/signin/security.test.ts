/**
 * The security list (SECURITY.md A, B6, E, F) for the authorization endpoint and the sign-in flow,
 * driven in-process against real fixture sites, a real SMTP server and real gpg signatures. Each test
 * names its row.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import { sessionCookieName } from '../../src/signin/session.js';
import { sha256 } from '../../src/tokens/secrets.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { createTestApp, form, type TestApp } from '../helpers/app.js';
import { createGpgKey, type GpgKey, gpgAvailable } from '../helpers/gpg.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';
import { storeTargets } from '../helpers/stores.js';
import { type Page, Walker } from '../helpers/walker.js';

const ISSUER = 'https://login.test/';
const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const VERIFIER = 'v'.repeat(43);
const CHALLENGE = s256(VERIFIER);

function authorizeUrl(extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  const all: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    state: 'state-123',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [key, value] of Object.entries(all)) if (value !== undefined) params.set(key, value);
  return `/authorize?${params}`;
}

function redirectParams(page: Page, to = REDIRECT): URLSearchParams {
  expect(page.location, page.text.slice(0, 400)).toBeDefined();
  const url = new URL(page.location as string);
  expect(url.origin + url.pathname).toBe(to);
  return url.searchParams;
}

describe.each(storeTargets)('authorization endpoint and sign-in security ($name)', (target) => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let t: TestApp;
  let walker: Walker;
  let key: GpgKey | undefined;

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
    if (gpgAvailable) key = createGpgKey();
  });
  afterAll(async () => {
    key?.dispose();
    await web?.close();
    await smtp?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    Object.assign(web.idp, { returnMe: undefined, iss: undefined, error: undefined });
    web.page(CLIENT, clientApp('Test App', CLIENT, ['http://other.test/published']));
    web.page('http://bob.test/', homepage('Bob', '<link rel="me" href="mailto:bob@bob.test">'));
    web.page(
      'http://alice.test/',
      homepage('Alice', '<link rel="me" href="mailto:alice@alice.test"><link rel="pgpkey" href="/key.asc">'),
    );
    if (key) web.page('http://alice.test/key.asc', { type: 'application/pgp-keys', body: key.armoredKey });
    t = await createTestApp(target, { connectTo: web.connectTo, config: { smtpUrl: smtp.url } });
    walker = new Walker(t.app);
  });
  afterEach(async () => {
    await t?.close();
  });

  async function emailCodePage(
    me = 'http://bob.test/',
    address = 'bob@bob.test',
    extra: Record<string, string | undefined> = {},
  ) {
    const first = await walker.get(authorizeUrl({ me, ...extra }));
    const sent = await walker.post('/signin/step/email.send', {
      step: first.step('/signin/step/email.send'),
    });
    expect(sent.status, sent.text.slice(0, 300)).toBe(200);
    const code = smtp.codeIn(await smtp.nextMessage(address));
    return { sent, code };
  }

  async function signIn(extra: Record<string, string | undefined> = {}) {
    const { sent, code } = await emailCodePage('http://bob.test/', 'bob@bob.test', extra);
    return walker.post('/signin/step/email.verify', { step: sent.step('/signin/step/email.verify'), code });
  }

  // ---------------------------------------------------------------------------------------------- A

  it('A1: a redirect_uri differing from the published one in any character is refused with a page', async () => {
    for (const variant of [
      'http://other.test/published/extra',
      'http://other.test/published?x=1',
      'http://other.test/Published',
      'http://other.test/x/%2e%2e/published',
      'http://other.test./published',
    ]) {
      const page = await walker.get(authorizeUrl({ redirect_uri: variant }));
      expect(page.status, variant).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.body).not.toContain('code=');
    }
    const published = await walker.get(authorizeUrl({ redirect_uri: 'http://other.test/published' }));
    expect(published.status).toBe(200);
  });

  it('A2: a redirect_uri on another host that the client does not publish is refused', async () => {
    const page = await walker.get(authorizeUrl({ redirect_uri: 'http://evil.test/callback' }));
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(page.text).toContain('does not publish it');
  });

  it('A3: look-alike hosts are not the client', async () => {
    const page = await walker.get(authorizeUrl({ redirect_uri: 'http://app.test.evil.test/callback' }));
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
  });

  it('A4: javascript:, data: and file: redirect URIs are refused', async () => {
    for (const uri of ['javascript:alert(1)', 'data:text/html,hi', 'file:///etc/passwd']) {
      const page = await walker.get(authorizeUrl({ redirect_uri: uri }));
      expect(page.status, uri).toBe(400);
      expect(page.location).toBeUndefined();
    }
  });

  it('A5: invalid or missing client_id/redirect_uri answer a 400 page, never a redirect', async () => {
    for (const extra of [
      { client_id: undefined },
      { client_id: 'not a url' },
      { client_id: 'http://app.test:99999/' },
      { redirect_uri: undefined },
      { redirect_uri: '/relative' },
    ]) {
      const page = await walker.get(authorizeUrl(extra));
      expect(page.status, JSON.stringify(extra)).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.text).toContain('This sign-in link is broken');
    }
  });

  it('A6: control characters in a parameter are refused without echoing them into a header', async () => {
    const page = await walker.get(authorizeUrl({ state: 'a\r\nSet-Cookie: x=y' }));
    const params = redirectParams(page);
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('state')).toBeNull();
    expect(page.headers.get('set-cookie') ?? '').not.toContain('x=y');
    const scope = await walker.get(authorizeUrl({ scope: 'create\nupdate' }));
    expect(redirectParams(scope).get('error')).toBe('invalid_request');
  });

  it('A7: state with reserved characters comes back byte for byte; oversized state is refused', async () => {
    const state = `a+b %20&c=d/é?#${'x'.repeat(10)}`.replace('é', 'e');
    const done = await signIn({ state });
    expect(redirectParams(done).get('state')).toBe(state);
    const big = await walker.get(authorizeUrl({ state: 's'.repeat(2049) }));
    const params = redirectParams(big);
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('state')).toBeNull();
  });

  it('A9: a redirect_uri with non-ASCII, a query and escapes gets state and iss appended once-encoded', async () => {
    const redirect = 'http://app.test/cb/ж?x=%41&y=ü';
    const state = 'a&b=c d/e';
    const expectParams = (page: Page) => {
      expect(page.location).toBeDefined();
      const location = page.location as string;
      expect(location).toMatch(/^[\x21-\x7e]+$/);
      expect(location).not.toContain('%25');
      const url = new URL(location);
      expect(url.origin + url.pathname).toBe('http://app.test/cb/%D0%B6');
      expect(url.searchParams.get('x')).toBe('A');
      expect(url.searchParams.get('y')).toBe('ü');
      expect(url.searchParams.get('state')).toBe(state);
      expect(url.searchParams.get('iss')).toBe(ISSUER);
      return url.searchParams;
    };
    const error = await walker.get(authorizeUrl({ redirect_uri: redirect, state, scope: 'create "q"' }));
    expect(error.status).toBe(302);
    expect(expectParams(error).get('error')).toBe('invalid_scope');

    const { sent, code } = await emailCodePage('http://bob.test/', 'bob@bob.test', {
      redirect_uri: redirect,
      state,
    });
    const done = await walker.post('/signin/step/email.verify', {
      step: sent.step('/signin/step/email.verify'),
      code,
    });
    expect(done.status).toBe(303);
    expect(expectParams(done).get('code')).toBeTruthy();
  });

  it('A8: invalid scope after validation redirects with error, state and iss', async () => {
    const page = await walker.get(authorizeUrl({ scope: 'create "quoted"' }));
    const params = redirectParams(page);
    expect(params.get('error')).toBe('invalid_scope');
    expect(params.get('state')).toBe('state-123');
    expect(params.get('iss')).toBe(ISSUER);
    expect(page.status).toBe(302);
  });

  it('A8/E6: deny on the consent page redirects with access_denied, state and iss (303, E3)', async () => {
    const consent = await signIn({ scope: 'create' });
    expect(consent.status).toBe(200);
    const denied = await walker.post('/signin/consent', {
      step: consent.step('/signin/consent'),
      decision: 'deny',
    });
    expect(denied.status).toBe(303);
    const params = redirectParams(denied);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe('state-123');
    expect(params.get('iss')).toBe(ISSUER);
    expect(params.get('code')).toBeNull();
  });

  // ---------------------------------------------------------------------------------------------- B

  it('B1/B6: no challenge or plain is refused by default, with a redirect error', async () => {
    const none = await walker.get(
      authorizeUrl({ code_challenge: undefined, code_challenge_method: undefined }),
    );
    expect(redirectParams(none).get('error')).toBe('invalid_request');
    const plain = await walker.get(authorizeUrl({ code_challenge_method: 'plain' }));
    expect(redirectParams(plain).get('error')).toBe('invalid_request');
  });

  it('B6: with the operator switch, a client without PKCE may sign in and the consent page says so', async () => {
    await t.close();
    t = await createTestApp(target, {
      connectTo: web.connectTo,
      config: { smtpUrl: smtp.url, allowNoPkce: true },
    });
    walker = new Walker(t.app);
    const consent = await signIn({
      code_challenge: undefined,
      code_challenge_method: undefined,
      scope: 'create',
    });
    expect(consent.text).toContain('does not use PKCE');
  });

  // ---------------------------------------------------------------------------------------------- E

  it('E1: sign-in pages send CSP with frame-ancestors none, X-Frame-Options and no-referrer', async () => {
    const page = await walker.get(authorizeUrl());
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.body).not.toContain('<script');
  });

  it('E2: no CORS on /authorize, CORS on token, userinfo and metadata', async () => {
    const page = await walker.get(authorizeUrl(), { origin: 'http://evil.test' });
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    for (const path of ['/token', '/userinfo', '/.well-known/oauth-authorization-server']) {
      const res = await t.app.request(path, { headers: { origin: 'http://evil.test' } });
      expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
    }
  });

  it('E4: the consent form refuses tampered fields and steps from another session or site', async () => {
    const consent = await signIn({ scope: 'create update' });
    const step = consent.step('/signin/consent');
    const tamperings: Record<string, string>[] = [
      { client_id: 'http://evil.test/' },
      { redirect_uri: 'http://evil.test/' },
      { me: 'http://evil.test/' },
      { 'scope.delete': 'on' },
    ];
    for (const extra of tamperings) {
      const tampered = await walker.post('/signin/consent', { step, decision: 'approve', ...extra });
      expect(tampered.status, JSON.stringify(extra)).toBe(400);
      expect(tampered.location).toBeUndefined();
    }
    // The step was used by the first tampered post: it is single-use.
    const again = await walker.post('/signin/consent', { step, decision: 'approve', 'scope.create': 'on' });
    expect(again.text).toContain('This sign-in page has expired');

    // Signed in now: the next request continues as Bob straight to a new consent page.
    const resumed = await walker.get(authorizeUrl({ me: 'http://bob.test/', scope: 'create' }));
    const second = await walker.post('/signin/continue', {
      step: resumed.step('/signin/continue'),
      me: 'http://bob.test/',
    });
    expect(second.text).toContain('It asks for permission to');
    const stranger = new Walker(t.app);
    const stolen = await stranger.post('/signin/consent', {
      step: second.step('/signin/consent'),
      decision: 'approve',
    });
    expect(stolen.text).toContain('This sign-in page has expired');
    const crossSite = await walker.post(
      '/signin/consent',
      { step: second.step('/signin/consent'), decision: 'approve' },
      { origin: 'http://evil.test' },
    );
    expect(crossSite.status).toBe(400);
    expect(crossSite.text).toContain('sent from another website');
  });

  it('E4: approving with some scopes unticked grants only the ticked ones', async () => {
    const consent = await signIn({ scope: 'profile create update' });
    expect(consent.body).toContain('name="scope.update"');
    const done = await walker.post('/signin/consent', {
      step: consent.step('/signin/consent'),
      decision: 'approve',
      'scope.profile': 'on',
      'scope.create': 'on',
    });
    const code = redirectParams(done).get('code') ?? '';
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
    expect(body.scope).toBe('profile create');
    expect(body.profile).toEqual({
      name: 'Bob',
      url: 'http://bob.test/',
      photo: 'https://img.example/Bob.png',
    });
    const info = await t.app.request('/userinfo', {
      headers: { authorization: `Bearer ${body.access_token}` },
    });
    expect(await info.json()).toEqual({
      name: 'Bob',
      url: 'http://bob.test/',
      photo: 'https://img.example/Bob.png',
    });
  });

  it('E7: remote text is escaped and only https logos are shown; E8: full client_id and redirect host warning', async () => {
    web.page(CLIENT, {
      type: 'application/json',
      body: JSON.stringify({
        client_id: CLIENT,
        client_name: '<script>alert(1)</script> github.com',
        logo_uri: 'http://app.test/logo.png',
        redirect_uris: ['http://other.test/published'],
      }),
    });
    const consent = await signIn({ scope: 'create', redirect_uri: 'http://other.test/published' });
    expect(consent.body).not.toContain('<script>alert(1)</script>');
    expect(consent.body).toContain('&lt;script&gt;');
    expect(consent.body).not.toContain('http://app.test/logo.png');
    expect(consent.text).toContain(CLIENT);
    expect(consent.text).toContain('http://other.test/published');
    expect(consent.text).toContain('different host');
    expect(consent.text).toContain('names github.com');
  });

  it('E8: an internationalised client_id host is shown in Unicode and punycode, with a warning', async () => {
    const consent = await signIn({
      scope: 'create',
      client_id: 'http://аpp.test/',
      redirect_uri: 'http://аpp.test/callback',
    });
    expect(consent.status).toBe(200);
    expect(consent.text).toContain('http://xn--pp-6kc.test/');
    expect(consent.text).toContain('аpp.test');
    expect(consent.text).toContain('international letters');
    expect(consent.body).toMatch(/role="alert"[^>]*>The app/);
    // The sign-in form for the same client warns as well.
    const form = await walker.get(
      authorizeUrl({ client_id: 'http://аpp.test/', redirect_uri: 'http://аpp.test/cb' }),
    );
    expect(form.text).toContain('xn--pp-6kc.test');
    expect(form.text).toContain('international letters');
  });

  // ---------------------------------------------------------------------------------------------- F

  it('F2: invalid profile URLs are refused on the sign-in form', async () => {
    let page = await walker.get(authorizeUrl());
    for (const me of [
      'mailto:bob@bob.test',
      'http://bob.test/../x',
      'http://bob.test/#me',
      'http://u:p@bob.test/',
      'http://bob.test:8080/',
      'http://10.0.0.1/',
    ]) {
      const answer = await walker.post('/signin/site', { step: page.step('/signin/site'), me });
      expect(answer.status, me).toBe(400);
      expect(answer.text).toContain('is not a web address');
      page = answer;
    }
  });

  it('F6: with rel="authn", only those links are offered', async () => {
    web.page(
      'http://erin.test/',
      homepage(
        'Erin',
        '<link rel="me" href="mailto:erin@erin.test"><link rel="me authn" href="mailto:login@erin.test"><link rel="pgpkey" href="/key.asc">',
      ),
    );
    const page = await walker.get(authorizeUrl({ me: 'http://erin.test/' }));
    expect(page.text).toContain('login@erin.test');
    expect(page.text).not.toContain('erin@erin.test');
    expect(page.text).not.toContain('PGP');
  });

  it('F7: five wrong codes end the attempt; a used code is refused; an expired code is refused', async () => {
    const { sent, code } = await emailCodePage();
    let page = sent;
    for (let i = 1; i <= 4; i++) {
      page = await walker.post('/signin/step/email.verify', {
        step: page.step('/signin/step/email.verify'),
        code: 'WRONGCODE1',
      });
      expect(page.text).toContain(`${5 - i} ${5 - i === 1 ? 'try' : 'tries'} left`);
    }
    const last = await walker.post('/signin/step/email.verify', {
      step: page.step('/signin/step/email.verify'),
      code: 'WRONGCODE1',
    });
    expect(last.text).toContain('Too many wrong codes');
    expect(last.location).toBeUndefined();
    expect(code).toMatch(/^[A-Z2-9]{10}$/);

    const fresh = await emailCodePage();
    const expiredAt = t.clock.now;
    t.clock.now += 10 * 60 + 1;
    const expired = await walker.post('/signin/step/email.verify', {
      step: fresh.sent.step('/signin/step/email.verify'),
      code: fresh.code,
    });
    expect(expired.text).toContain('That code has expired');
    t.clock.now = expiredAt;
  });

  it('F7: 50 concurrent wrong guesses cannot get more than 5 tries', async () => {
    const { sent } = await emailCodePage();
    const [attempt] = await t.services.store.db.selectFrom('email_codes').select('attempt_id').execute();
    const { takeEmailTry } = await import('../../src/store/signin.js');
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        takeEmailTry(t.services.store.db, attempt?.attempt_id ?? '', 5, t.clock.now),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(5);
    const page = await walker.post('/signin/step/email.verify', {
      step: sent.step('/signin/step/email.verify'),
      code: 'ANYTHING',
    });
    expect(page.text).toContain('Too many wrong codes');
  });

  it('D7: the store holds only hashes of email codes and step tokens', async () => {
    const { sent, code } = await emailCodePage();
    const step = sent.step('/signin/step/email.verify');
    const codes = await t.services.store.db.selectFrom('email_codes').selectAll().execute();
    const steps = await t.services.store.db.selectFrom('signin_steps').selectAll().execute();
    const dump = JSON.stringify([codes, steps]);
    expect(dump).not.toContain(code);
    expect(dump).not.toContain(step);
    expect(steps.map((s) => s.token_hash)).toContain(sha256(step));
  });

  it('R5: email sends are limited per address', async () => {
    let page = await walker.get(authorizeUrl({ me: 'http://bob.test/' }));
    for (let i = 0; i < 5; i++) {
      page = await walker.post('/signin/step/email.send', { step: page.step('/signin/step/email.send') });
      expect(page.text).toContain('A code is on its way');
      await smtp.nextMessage('bob@bob.test');
      // Ask again from a new attempt (the send page of a new sign-in).
      page = await walker.get(authorizeUrl({ me: 'http://bob.test/' }));
    }
    const limited = await walker.post('/signin/step/email.send', {
      step: page.step('/signin/step/email.send'),
    });
    expect(limited.text).toContain('Too many codes were sent recently');
  });

  it.skipIf(!gpgAvailable)(
    'F8: a PGP signature over the challenge signs in; over anything else it is refused',
    async () => {
      const chooser = await walker.get(authorizeUrl({ me: 'http://alice.test/' }));
      const pgp = await walker.post('/signin/choose', {
        step: chooser.step('/signin/choose'),
        candidate: '1',
      });
      const challenge =
        /<pre id="challenge">([^<]+)<\/pre>/.exec(pgp.body)?.[1]?.replace(/&#39;/g, "'") ?? '';
      expect(challenge).toContain('Sign in to login.test as http://alice.test/');
      const wrong = await walker.post('/signin/step/pgp.verify', {
        step: pgp.step('/signin/step/pgp.verify'),
        signed: key?.clearsign(challenge.replace('Nonce', 'Nonce2')) ?? '',
      });
      expect(wrong.status).toBe(400);
      expect(wrong.text).toContain('not the challenge shown on this page');
      const step = wrong.step('/signin/step/pgp.verify');
      const signed = key?.clearsign(challenge) ?? '';
      const done = await walker.post('/signin/step/pgp.verify', { step, signed });
      expect(done.status).toBe(303);
      expect(redirectParams(done).get('code')).toBeTruthy();
      // The challenge is single-use: the same signature on the same step cannot sign in again.
      const replay = await walker.post('/signin/step/pgp.verify', { step, signed });
      expect(replay.text).toContain('This sign-in page has expired');
    },
  );

  it('F9: a step token of one method, or of another browser, cannot finish a sign-in', async () => {
    const chooser = await walker.get(authorizeUrl({ me: 'http://alice.test/' }));
    const email = await walker.post('/signin/choose', {
      step: chooser.step('/signin/choose'),
      candidate: '0',
    });
    const emailStep = email.step('/signin/step/email.send');
    const asPgp = await walker.post('/signin/step/pgp.verify', { step: emailStep, signed: 'x' });
    expect(asPgp.text).toContain('This sign-in page has expired');
    const other = new Walker(t.app);
    const fresh = await walker.get(authorizeUrl({ me: 'http://bob.test/' }));
    const stolen = await other.post('/signin/step/email.send', {
      step: fresh.step('/signin/step/email.send'),
    });
    expect(stolen.text).toContain('This sign-in page has expired');
  });

  // ---------------------------------------------------------------------------------- delegation

  it('E5: the callback from a person’s IndieAuth server needs this browser’s unused state', async () => {
    web.page(
      'http://carol.test/',
      homepage('Carol', '<link rel="authorization_endpoint" href="http://idp.test/auth">'),
    );
    const start = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
    const back = await web.visit(start.location ?? '');
    const callback = new URL(back.location ?? '');
    const missing = new URL(callback);
    missing.searchParams.delete('state');
    expect((await walker.get(missing.pathname + missing.search)).text).toContain('expired');
    const wrong = new URL(callback);
    wrong.searchParams.set('state', 'nope');
    expect((await walker.get(wrong.pathname + wrong.search)).text).toContain('expired');
    const stranger = new Walker(t.app);
    expect((await stranger.get(callback.pathname + callback.search)).text).toContain('expired');
  });

  it('E6: a wrong iss from the person’s server is refused; a missing one when its metadata promises it', async () => {
    web.page(
      'http://carol.test/',
      homepage('Carol', '<link rel="indieauth-metadata" href="http://idp.test/meta">'),
    );
    web.page('http://idp.test/meta', {
      type: 'application/json',
      body: JSON.stringify({
        issuer: 'http://idp.test/',
        authorization_endpoint: 'http://idp.test/auth',
        token_endpoint: 'http://idp.test/token',
        authorization_response_iss_parameter_supported: true,
      }),
    });
    for (const iss of ['http://evil.test/', undefined]) {
      web.idp.iss = iss;
      const start = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
      const back = await web.visit(start.location ?? '');
      const page = await walker.get(back.location ?? '');
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.text).toContain('refused');
    }
    web.idp.iss = 'http://idp.test/';
    const start = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
    const back = await web.visit(start.location ?? '');
    const done = await walker.get(back.location ?? '');
    expect(redirectParams(done).get('code')).toBeTruthy();
    expect(web.idp.redemptions.at(-1)?.get('client_id')).toBe(ISSUER);
  });

  it('E6 mix-up (RFC 9700 §4.4): a site naming its server only by legacy rels gets answers only from that server’s origin', async () => {
    // No metadata, so no issuer is known; a real server relayed through this site's endpoints would
    // answer with its own iss. An iss from the origin the person was sent to is that server's.
    web.page(
      'http://carol.test/',
      homepage(
        'Carol',
        '<link rel="authorization_endpoint" href="http://idp.test/auth"><link rel="token_endpoint" href="http://idp.test/token">',
      ),
    );
    const redemptions = web.idp.redemptions.length;
    web.idp.iss = 'http://other.test/';
    const relayed = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
    const page = await walker.get((await web.visit(relayed.location ?? '')).location ?? '');
    expect(page.status).toBe(400);
    expect(page.text).toContain(
      'The answer came from the issuer http://other.test/, not from http://idp.test',
    );
    expect(web.idp.redemptions.length).toBe(redemptions);

    for (const iss of ['http://idp.test/', undefined]) {
      web.idp.iss = iss;
      const browser = new Walker(t.app);
      const start = await browser.get(authorizeUrl({ me: 'http://carol.test/' }));
      const done = await browser.get((await web.visit(start.location ?? '')).location ?? '');
      expect(redirectParams(done).get('code'), String(iss)).toBeTruthy();
    }
  });

  it('F1: another me from the person’s server is accepted only if it names the same authorization endpoint', async () => {
    web.page(
      'http://carol.test/',
      homepage('Carol', '<link rel="authorization_endpoint" href="http://idp.test/auth">'),
    );
    web.page(
      'http://dave.test/',
      homepage('Dave', '<link rel="authorization_endpoint" href="http://idp.test/auth">'),
    );
    web.page(
      'http://evil.test/',
      homepage('Evil', '<link rel="authorization_endpoint" href="http://other.test/auth">'),
    );
    web.idp.returnMe = 'http://evil.test/';
    let start = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
    let back = await web.visit(start.location ?? '');
    const refused = await walker.get(back.location ?? '');
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('does not use http://idp.test/auth');

    web.idp.returnMe = 'http://dave.test/';
    start = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
    back = await web.visit(start.location ?? '');
    const done = await walker.get(back.location ?? '');
    const code = redirectParams(done).get('code') ?? '';
    const res = await t.app.request(
      '/authorize',
      form({ code, client_id: CLIENT, redirect_uri: REDIRECT, code_verifier: VERIFIER }),
    );
    expect(((await res.json()) as { me: string }).me).toBe('http://dave.test/');
  });

  /**
   * F10, played exactly as the attacker would: evil.test names carol's authorization endpoint but its
   * own token endpoint, which vouches for carol. The attacker never follows the redirect to carol's
   * server; it calls the callback itself with a made-up code and the `state` it was given.
   */
  async function splitServerAttack(): Promise<Page> {
    web.idp.requests.length = 0;
    web.idp.redemptions.length = 0;
    web.page(
      'http://carol.test/',
      homepage(
        'Carol',
        '<link rel="authorization_endpoint" href="http://idp.test/auth"><link rel="token_endpoint" href="http://idp.test/token">',
      ),
    );
    web.page('http://evil.test/token', {
      type: 'application/json',
      body: JSON.stringify({ me: 'http://carol.test/', scope: 'profile' }),
    });
    const start = await walker.get(authorizeUrl({ me: 'http://evil.test/', scope: 'create' }));
    const upstream = new URL(start.location ?? '');
    expect(upstream.origin + upstream.pathname).toBe('http://idp.test/auth');
    const state = upstream.searchParams.get('state') ?? '';
    return walker.get(`/signin/indieauth/callback?${new URLSearchParams({ code: 'made-up', state })}`);
  }

  it('F10: a site naming the victim’s authorization endpoint and its own token endpoint (legacy rels) cannot sign in as the victim', async () => {
    web.page(
      'http://evil.test/',
      homepage(
        'Evil',
        '<link rel="authorization_endpoint" href="http://idp.test/auth"><link rel="token_endpoint" href="http://evil.test/token">',
      ),
    );
    const page = await splitServerAttack();
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(page.text).toContain('http://carol.test/');
    expect(page.text).toContain('does not redeem codes at http://evil.test/token');
    expect(page.body).not.toContain('/signin/consent');
    expect(web.idp.requests).toHaveLength(0);
    expect(web.idp.redemptions).toHaveLength(0);
    expect(await t.services.store.db.selectFrom('auth_codes').select('me').execute()).toEqual([]);
  });

  it('F10: the same split-server attack through an indieauth-metadata document is refused', async () => {
    web.page(
      'http://evil.test/',
      homepage(
        'Evil',
        '<link rel="indieauth-metadata" href="http://evil.test/.well-known/oauth-authorization-server">',
      ),
    );
    web.page('http://evil.test/.well-known/oauth-authorization-server', {
      type: 'application/json',
      body: JSON.stringify({
        issuer: 'http://evil.test/',
        authorization_endpoint: 'http://idp.test/auth',
        token_endpoint: 'http://evil.test/token',
      }),
    });
    const page = await splitServerAttack();
    expect(page.status).toBe(400);
    expect(page.text).toContain('does not redeem codes at http://evil.test/token');
    expect(page.text).toContain('it has no metadata issuer');
    expect(web.idp.redemptions).toHaveLength(0);
    expect(await t.services.store.db.selectFrom('auth_codes').select('me').execute()).toEqual([]);
  });

  it('F10: a server still vouches for a second site that names it fully (legacy rels and metadata)', async () => {
    const rels =
      '<link rel="authorization_endpoint" href="http://idp.test/auth"><link rel="token_endpoint" href="http://idp.test/token">';
    web.page('http://carol.test/', homepage('Carol', rels));
    web.page('http://dave.test/', homepage('Dave', rels));
    web.idp.returnMe = 'http://dave.test/';
    let start = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
    let back = await web.visit(start.location ?? '');
    let done = await walker.get(back.location ?? '');
    expect(redirectParams(done).get('code')).toBeTruthy();
    expect(web.idp.redemptions.at(-1)?.get('code_verifier')).toBeTruthy();

    const metadata = {
      type: 'application/json',
      body: JSON.stringify({
        issuer: 'http://idp.test/',
        authorization_endpoint: 'http://idp.test/auth',
        token_endpoint: 'http://idp.test/token',
      }),
    };
    web.page('http://idp.test/.well-known/oauth-authorization-server', metadata);
    const viaMetadata =
      '<link rel="indieauth-metadata" href="http://idp.test/.well-known/oauth-authorization-server">';
    web.page('http://carol.test/', homepage('Carol', viaMetadata));
    web.page('http://dave.test/', homepage('Dave', viaMetadata));
    start = await walker.get(authorizeUrl({ me: 'http://carol.test/', prompt: 'login' }));
    back = await web.visit(start.location ?? '');
    done = await walker.get(back.location ?? '');
    const code = redirectParams(done).get('code') ?? '';
    const res = await t.app.request(
      '/authorize',
      form({ code, client_id: CLIENT, redirect_uri: REDIRECT, code_verifier: VERIFIER }),
    );
    expect(((await res.json()) as { me: string }).me).toBe('http://dave.test/');

    // Same endpoints, but the second site has no metadata: the issuer differs, so it is refused.
    web.page('http://dave.test/', homepage('Dave', rels));
    start = await walker.get(authorizeUrl({ me: 'http://carol.test/', prompt: 'login' }));
    back = await web.visit(start.location ?? '');
    const refused = await walker.get(back.location ?? '');
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('it has no metadata issuer');
  });

  it('D7: the delegation’s PKCE verifier is not stored in clear', async () => {
    web.page(
      'http://carol.test/',
      homepage('Carol', '<link rel="authorization_endpoint" href="http://idp.test/auth">'),
    );
    const start = await walker.get(authorizeUrl({ me: 'http://carol.test/' }));
    const rows = await t.services.store.db.selectFrom('signin_attempts').select('method_state').execute();
    const stored = rows.map((row) => row.method_state ?? '').join('\n');
    expect(stored).toContain('idp.test');
    const back = await web.visit(start.location ?? '');
    const done = await walker.get(back.location ?? '');
    expect(redirectParams(done).get('code')).toBeTruthy();
    const verifier = web.idp.redemptions.at(-1)?.get('code_verifier') ?? '';
    expect(verifier.length).toBeGreaterThanOrEqual(43);
    expect(stored).not.toContain(verifier);
  });

  it('a site naming this Latchkey as its server signs in with its rel=me links instead of looping', async () => {
    web.page(
      'http://dave.test/',
      homepage(
        'Dave',
        `<link rel="authorization_endpoint" href="${ISSUER}authorize"><link rel="me" href="mailto:dave@dave.test">`,
      ),
    );
    const page = await walker.get(authorizeUrl({ me: 'http://dave.test/' }));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Your site links to dave@dave.test');
  });

  it('a site with nothing to sign in with gets a page listing the links found', async () => {
    web.page(
      'http://erin.test/',
      homepage('Erin', '<a rel="me" href="https://github.com.evil.test/erin">gh</a>'),
    );
    const page = await walker.get(authorizeUrl({ me: 'http://erin.test/' }));
    expect(page.status).toBe(400);
    expect(page.text).toContain('found no way to sign you in');
    expect(page.text).toContain('https://github.com.evil.test/erin');
    expect(page.body).toContain('href="/setup"');
  });

  // ------------------------------------------------------------------------------ sessions

  it('"Continue as" for a browser already signed in; prompt=login forces a new proof; the session id rotates', async () => {
    const before = new Walker(t.app);
    await before.get(authorizeUrl());
    const cookieName = sessionCookieName(ISSUER);
    const firstCookie = walker.cookies.get(cookieName);
    await signIn();
    const afterCookie = walker.cookies.get(cookieName);
    expect(afterCookie).toBeDefined();
    expect(afterCookie).not.toBe(firstCookie);

    const again = await walker.get(authorizeUrl({ me: 'http://bob.test/' }));
    expect(again.text).toContain('Continue as http://bob.test/');
    const done = await walker.post('/signin/continue', {
      step: again.step('/signin/continue'),
      me: 'http://bob.test/',
    });
    expect(done.status).toBe(303);
    expect(redirectParams(done).get('code')).toBeTruthy();

    const forced = await walker.get(authorizeUrl({ me: 'http://bob.test/', prompt: 'login' }));
    expect(forced.text).not.toContain('Continue as');
    expect(forced.text).toContain('Your site links to bob@bob.test');

    // The form without me offers the identity too; a tampered me is refused.
    const plain = await walker.get(authorizeUrl());
    expect(plain.text).toContain('Continue as http://bob.test/');
    const tampered = await walker.post('/signin/continue', {
      step: plain.step('/signin/continue'),
      me: 'http://alice.test/',
    });
    expect(tampered.text).toContain('This sign-in page has expired');
  });

  it('sign-out forgets the identities of this browser', async () => {
    await signIn();
    const form = await walker.get(authorizeUrl());
    expect(form.body).toContain('action="/signout"');
    const forged = await walker.post('/signout', { next: '//evil.test/authorize?x' });
    expect(forged.location).toBe('/');
    await signIn();
    const out = await walker.post('/signout', { next: authorizeUrl() });
    expect(out.status).toBe(303);
    expect(out.location).toBe(authorizeUrl());
    const again = await walker.get(authorizeUrl({ me: 'http://bob.test/' }));
    expect(again.text).not.toContain('Continue as');
  });
});
