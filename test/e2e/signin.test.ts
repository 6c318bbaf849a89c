/**
 * Signing in, start to finish, in real Chromium with JavaScript off (PROTOCOL §7–§10): a relying
 * party's page sends the visitor to Latchkey, who proves their site by email (a real SMTP server), by
 * PGP (a real gpg key and `gpg --clearsign`) or through their own IndieAuth server (the fixture at
 * idp.test), consents to a Micropub-style client, and lands back on the app with code, state and iss;
 * the app then redeems the code server-side. Also the chooser, "Continue as …", prompt=login, deny,
 * and each error page a person can meet.
 *
 * Every page the browser shows is screenshotted (test/artifacts/screenshots/signin-*.png); every
 * Latchkey page is checked for one h1, no script, labelled inputs, no sideways overflow at 390 px and
 * a main action reachable with Tab. Chromium reaches the made-up *.test hosts through
 * `--host-resolver-rules` pointing at the fixture web's loopback port.
 */
import type { Browser, BrowserContext, Locator, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import {
  clientApp,
  type FixtureWeb,
  homepage,
  type Page as SitePage,
  startFixtureWeb,
} from '../fixtures/sites.js';
import { axeContext, EVERY_LAYOUT, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, launchBrowser, navigation, screenshotPath } from '../helpers/browser.js';
import { createGpgKey, type GpgKey, gpgAvailable } from '../helpers/gpg.js';
import { startTestServer } from '../helpers/server.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';

const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const MICROPUB = 'http://app.test/micropub/';
const MICROPUB_REDIRECT = 'http://app.test/micropub/callback';
const STATE = 'st-1 &=?';
const VERIFIER = `${'a'.repeat(20)}${'B'.repeat(23)}`;

/** Browser-side code is a string: the project compiles without the DOM library. */
const UNLABELLED = `[...document.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button]), textarea, select')]
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.name || el.id)`;
/** Elements reaching past the right edge, other than the contents of scrolling <pre> blocks. */
const OVERFLOWING = `[...document.querySelectorAll('body *')]
  .filter((el) => !el.closest('pre') && el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map((el) => el.tagName + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || '').trim().slice(0, 40))`;
const SIDEWAYS = 'document.documentElement.scrollWidth - window.innerWidth';
/** Pages axe-core checks at every layout (phone, desktop, dark), not only as shown. */
const MAIN_STATES = new Set([
  'form',
  'form-problem',
  'email-send',
  'email-code',
  'pgp',
  'chooser',
  'continue',
  'consent',
]);
/** Runs in the page (a real function, so Playwright passes the element in). */
const isFocused = (element: unknown): boolean =>
  element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement;

/** A relying party's page: its h-app (it is also the client_id document) and a sign-in form. */
function appPage(options: {
  issuer: string;
  name: string;
  clientId: string;
  redirectUri: string;
  scope?: string;
  prompt?: string;
}): SitePage {
  const hidden = {
    response_type: 'code',
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    state: STATE,
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
    ...(options.scope ? { scope: options.scope } : {}),
    ...(options.prompt ? { prompt: options.prompt } : {}),
  };
  const fields = Object.entries(hidden)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${value.replace(/&/g, '&amp;')}">`)
    .join('\n');
  return {
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${options.name}</title></head>
<body style="font: 18px/1.5 sans-serif; margin: 1.5rem">
<div class="h-app"><h1><a class="u-url p-name" href="${options.clientId}">${options.name}</a></h1></div>
<form method="get" action="${options.issuer}authorize">
${fields}
<label for="me">Your website</label><br>
<input id="me" name="me" type="text" style="font: inherit; width: 100%; box-sizing: border-box">
<button type="submit" style="font: inherit; margin-top: .5rem">Sign in with your website</button>
</form></body></html>`,
  };
}

const landing: SitePage = {
  body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Back at the app</title></head><body><h1>Back at the app</h1></body></html>',
};

describe.skipIf(!browserAvailable || !gpgAvailable)('signing in, start to finish, in Chromium', () => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let browser: Browser;
  let key: GpgKey;
  let issuer: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
    server = await startTestServer({ connectTo: web.connectTo, smtpUrl: smtp.url });
    issuer = server.services.config.publicUrl;
    browser = await launchBrowser([`--host-resolver-rules=MAP *.test 127.0.0.1:${web.fixture.port}`]);
    key = createGpgKey('Test <t@example.com>');

    web.page(CLIENT, appPage({ issuer, name: 'Test App', clientId: CLIENT, redirectUri: REDIRECT }));
    web.page(
      'http://app.test/again',
      appPage({ issuer, name: 'Test App', clientId: CLIENT, redirectUri: REDIRECT, prompt: 'login' }),
    );
    web.page(
      MICROPUB,
      appPage({
        issuer,
        name: 'Pocket Micropub',
        clientId: MICROPUB,
        redirectUri: MICROPUB_REDIRECT,
        scope: 'profile create update',
      }),
    );
    web.page(REDIRECT, landing);
    web.page(MICROPUB_REDIRECT, landing);
    const armored: SitePage = { type: 'application/pgp-keys', body: key.armoredKey };
    web.page(
      'http://alice.test/',
      homepage('Alice', '<link rel="me" href="mailto:alice@alice.test"><link rel="pgpkey" href="/key.asc">'),
    );
    web.page('http://alice.test/key.asc', armored);
    web.page('http://bob.test/', homepage('Bob', '<a rel="me" href="mailto:bob@bob.test">email</a>'));
    web.page(
      'http://carol.test/',
      homepage('Carol', '<link rel="authorization_endpoint" href="http://idp.test/auth">'),
    );
    web.page('http://dave.test/', homepage('Dave', '<link rel="pgpkey" href="/key.asc">'));
    web.page('http://dave.test/key.asc', armored);
    web.page('http://erin.test/', homepage('Erin', '<a rel="me" href="mailto:erin@erin.test">email</a>'));
    web.page(
      'http://other.test/',
      homepage(
        'Other',
        '<a rel="me" href="https://social.example/@other">Social</a><link rel="me" href="https://github.com.evil.example/other">',
      ),
    );
    // The client app at evil.test publishes nothing: it only exists so a stray redirect would be seen.
    web.page('http://evil.test/', clientApp('Evil', 'http://evil.test/'));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await smtp?.close();
    await web?.close();
    key?.dispose();
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  // ------------------------------------------------------------------------------------------------
  // helpers

  const freshPage = async (): Promise<Page> => {
    const context = await axeContext(browser, {
      javaScriptEnabled: false,
      viewport: { width: 390, height: 844 },
    });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context.newPage();
  };

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: screenshotPath(`signin-${name}`), fullPage: true });

  const click = (page: Page, target: Locator) => navigation(page, () => target.click());

  /** Tabs from the top of the page until `target` has focus; false if it never does. */
  const tabReaches = async (page: Page, target: Locator): Promise<boolean> => {
    await page.evaluate('document.activeElement?.blur()');
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if (await target.evaluate(isFocused)) return true;
    }
    return false;
  };

  /** A Latchkey page: screenshot, then the page checks every sign-in page must pass. */
  const latchkeyPage = async (
    page: Page,
    name: string,
    expected: { h1: string | RegExp; main: Locator; status?: number; response?: Response },
  ) => {
    await shot(page, name);
    expect(new URL(page.url()).origin).toBe(new URL(issuer).origin);
    if (expected.response) {
      expect(expected.response.status()).toBe(expected.status ?? 200);
      // SECURITY E1: never framed, never cached.
      const headers = expected.response.headers();
      expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['cache-control']).toBe('no-store');
    }
    const h1 = page.locator('h1');
    expect(await h1.count()).toBe(1);
    if (typeof expected.h1 === 'string') expect((await h1.textContent())?.trim()).toBe(expected.h1);
    else expect(await h1.textContent()).toMatch(expected.h1);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.evaluate<string[]>(UNLABELLED)).toEqual([]);
    expect(await page.evaluate<string[]>(OVERFLOWING)).toEqual([]);
    expect(await page.evaluate<number>(SIDEWAYS)).toBeLessThanOrEqual(0);
    expect(await tabReaches(page, expected.main)).toBe(true);
    // axe-core, 0 violations; the main steps also at desktop width and in the dark scheme.
    await expectNoAxeViolations(page, name, MAIN_STATES.has(name) ? { layouts: EVERY_LAYOUT } : {});
  };

  const button = (page: Page, name: string | RegExp) => page.getByRole('button', { name, exact: true });

  /** Starts at the app's page and types the site address into its sign-in form. */
  const startAtApp = async (page: Page, appUrl: string, me: string, shotName?: string): Promise<Response> => {
    await page.goto(appUrl);
    await page.fill('#me', me);
    if (shotName) await shot(page, shotName);
    return click(page, button(page, 'Sign in with your website'));
  };

  /** The app's callback: where the browser landed and what it carried. */
  const landed = (page: Page, redirectUri: string): URLSearchParams => {
    const url = new URL(page.url());
    expect(url.origin + url.pathname).toBe(redirectUri);
    return url.searchParams;
  };

  const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(new URL(path, issuer), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...headers,
      },
      body: new URLSearchParams(fields),
    });

  const redeem = (code: string, clientId = CLIENT, redirectUri = REDIRECT) =>
    post('/token', {
      grant_type: 'authorization_code',
      code,
      client_id: clientId,
      redirect_uri: redirectUri,
      code_verifier: VERIFIER,
    });

  const authorizeUrl = (extra: Record<string, string> = {}) =>
    `${issuer}authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      state: STATE,
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      ...extra,
    })}`;

  /** From the email-send page: send, read the code from the delivered mail, type it, submit. */
  const proveByEmail = async (page: Page, address: string, name?: string): Promise<Response> => {
    const sent = await click(page, button(page, 'Send me a code'));
    expect(sent.status()).toBe(200);
    expect(await page.locator('main').textContent()).toContain(`A code is on its way to ${address}`);
    if (name) await latchkeyPage(page, name, { h1: 'Enter the code', main: button(page, 'Sign in') });
    const code = smtp.codeIn(await smtp.nextMessage(address));
    await page.fill('#code', code);
    return click(page, button(page, 'Sign in'));
  };

  /** From the PGP page: clear-sign the challenge shown in <pre id="challenge"> and paste it. */
  const proveByPgp = async (page: Page, name?: string): Promise<Response> => {
    const challenge = (await page.locator('pre#challenge').textContent()) ?? '';
    expect(challenge).toContain(`Sign in to ${new URL(issuer).host} as `);
    if (name)
      await latchkeyPage(page, name, { h1: 'Sign in with PGP', main: button(page, 'Verify signature') });
    await page.fill('#signed', key.clearsign(challenge));
    return click(page, button(page, 'Verify signature'));
  };

  // ------------------------------------------------------------------------------------------------
  // (a)–(d) the four ways through

  it('(a) signs a visitor in by email: app form → code by mail → back at the app → code redeemed', async () => {
    const page = await freshPage();
    const first = await startAtApp(page, CLIENT, 'http://bob.test/', 'app-start');
    await latchkeyPage(page, 'email-send', {
      h1: 'Sign in by email',
      main: button(page, 'Send me a code'),
      response: first,
    });
    expect(await page.locator('main').textContent()).toContain('Your site links to bob@bob.test');
    expect(await page.locator('.client').textContent()).toContain('Test App');

    const done = await proveByEmail(page, 'bob@bob.test', 'email-code');
    expect(done.status()).toBe(200);
    // Referrer-Policy: no-referrer, so the app never learns Latchkey's step URLs.
    expect(await done.request().headerValue('referer')).toBeNull();
    await shot(page, 'email-callback');
    const params = landed(page, REDIRECT);
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(issuer);
    const redeemed = await redeem(params.get('code') ?? '');
    expect(redeemed.status).toBe(200);
    expect(await redeemed.json()).toEqual({ me: 'http://bob.test/' });
  });

  it('(b) signs a visitor in by PGP: the challenge on the page is clear-signed with gpg and pasted', async () => {
    const page = await freshPage();
    const first = await startAtApp(page, CLIENT, 'http://dave.test/');
    expect(first.status()).toBe(200);
    expect(await page.locator('main').textContent()).toContain('http://dave.test/key.asc');
    const done = await proveByPgp(page, 'pgp');
    expect(done.status()).toBe(200);
    await shot(page, 'pgp-callback');
    const params = landed(page, REDIRECT);
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(issuer);
    const redeemed = await redeem(params.get('code') ?? '');
    expect(await redeemed.json()).toEqual({ me: 'http://dave.test/' });
  });

  it('(c) delegates to the site’s own IndieAuth server and comes back through the callback', async () => {
    const page = await freshPage();
    const seen: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest())
        seen.push(new URL(request.url()).origin + new URL(request.url()).pathname);
    });
    const done = await startAtApp(page, CLIENT, 'http://carol.test/');
    expect(done.status()).toBe(200);
    await shot(page, 'indieauth-callback');
    expect(seen).toEqual([
      'http://app.test/',
      `${issuer}authorize`,
      'http://idp.test/auth',
      `${issuer}signin/indieauth/callback`,
      REDIRECT,
    ]);
    const upstream = web.idp.requests.at(-1);
    expect(upstream?.get('me')).toBe('http://carol.test/');
    expect(upstream?.get('client_id')).toBe(issuer);
    expect(upstream?.get('code_challenge_method')).toBe('S256');
    const params = landed(page, REDIRECT);
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(issuer);
    const redeemed = await redeem(params.get('code') ?? '');
    expect(await redeemed.json()).toEqual({ me: 'http://carol.test/' });
  });

  it('(c) delegation also works from Latchkey’s own sign-in form (a form post ending on other origins)', async () => {
    const page = await freshPage();
    await navigation(page, () => page.goto(authorizeUrl()));
    await page.fill('#me', 'http://carol.test/');
    const done = await click(page, button(page, 'Sign in'));
    expect(done.status()).toBe(200);
    await shot(page, 'indieauth-form-callback');
    const params = landed(page, REDIRECT);
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(issuer);
    expect(await (await redeem(params.get('code') ?? '')).json()).toEqual({ me: 'http://carol.test/' });
  });

  it('(d) a Micropub client: consent with a scope unticked, then token, userinfo, refresh, introspect, revoke', async () => {
    const page = await freshPage();
    await startAtApp(page, MICROPUB, 'http://erin.test/', 'micropub-start');
    const consent = await proveByEmail(page, 'erin@erin.test');
    await latchkeyPage(page, 'consent', {
      h1: 'Allow Pocket Micropub to act for you?',
      main: button(page, 'Allow'),
      response: consent,
    });
    expect(await page.locator('dl.facts code').first().textContent()).toBe(MICROPUB);
    expect(await page.locator('dl.facts').textContent()).toContain('erin.test');
    const boxes = page.locator('input[type=checkbox]');
    expect(
      await boxes.evaluateAll((els) =>
        els.map((el) => {
          const box = el as unknown as { name: string; checked: boolean };
          return `${box.name}${box.checked ? '+' : '-'}`;
        }),
      ),
    ).toEqual(['scope.profile+', 'scope.create+', 'scope.update+']);
    await page.getByLabel(/^update/).uncheck();
    await shot(page, 'consent-unticked');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'consent-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 800 });
    await shot(page, 'consent-desktop');
    await page.setViewportSize({ width: 390, height: 844 });
    await click(page, button(page, 'Allow'));
    await shot(page, 'consent-callback');
    const params = landed(page, MICROPUB_REDIRECT);
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(issuer);

    const redeemed = await redeem(params.get('code') ?? '', MICROPUB, MICROPUB_REDIRECT);
    expect(redeemed.status).toBe(200);
    const tokens = (await redeemed.json()) as Record<string, unknown>;
    const profile = { name: 'Erin', url: 'http://erin.test/', photo: 'https://img.example/Erin.png' };
    expect(tokens).toMatchObject({
      token_type: 'Bearer',
      scope: 'profile create',
      me: 'http://erin.test/',
      profile,
    });
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.expires_in).toEqual(expect.any(Number));

    const userinfo = await fetch(new URL('/userinfo', issuer), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toEqual(profile);

    const refreshed = await post('/token', {
      grant_type: 'refresh_token',
      refresh_token: String(tokens.refresh_token),
      client_id: MICROPUB,
    });
    expect(refreshed.status).toBe(200);
    const second = (await refreshed.json()) as Record<string, unknown>;
    expect(second).toMatchObject({ token_type: 'Bearer', scope: 'profile create', me: 'http://erin.test/' });
    expect(second.access_token).not.toBe(tokens.access_token);
    expect(second.refresh_token).not.toBe(tokens.refresh_token);

    const { secret } = await server.services.resourceServers.create('e2e-micropub');
    const introspect = (token: string) =>
      post('/introspect', { token }, { authorization: `Bearer ${secret}` });
    const active = await introspect(String(second.access_token));
    expect(active.status).toBe(200);
    const body = (await active.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      active: true,
      me: 'http://erin.test/',
      client_id: MICROPUB,
      scope: 'profile create',
    });
    expect(Number.isInteger(body.exp) && Number.isInteger(body.iat)).toBe(true);

    const revoked = await post('/revoke', { token: String(second.access_token) });
    expect(revoked.status).toBe(200);
    const gone = await introspect(String(second.access_token));
    expect(gone.status).toBe(200);
    expect(await gone.text()).toBe('{"active":false}');
  });

  // ------------------------------------------------------------------------------------------------
  // (e) the chooser, a returning visitor, prompt=login, deny, and the error pages

  describe('(e) a returning visitor in one browser', () => {
    let page: Page;
    let context: BrowserContext;

    beforeAll(async () => {
      context = await axeContext(browser, {
        javaScriptEnabled: false,
        viewport: { width: 390, height: 844 },
      });
      context.setDefaultTimeout(10_000);
      page = await context.newPage();
    });
    afterAll(async () => {
      await context?.close();
    });

    it('the chooser offers both ways the site links to; email is chosen and the visitor lands back', async () => {
      const chooser = await startAtApp(page, CLIENT, 'http://alice.test/');
      const options = page.locator('form[action="/signin/choose"] button');
      expect(await options.locator('.choice-label').allTextContents()).toEqual([
        'Email a code to alice@alice.test',
        'Sign a challenge with your PGP key',
      ]);
      // Each option names what happens next and shows Latchkey's own icon (no third-party assets).
      expect(await options.locator('.choice-hint').allTextContents()).toEqual([
        'Latchkey emails you a one-time code.',
        'You clear-sign a short text with the key at http://alice.test/key.asc.',
      ]);
      expect(await options.locator('.choice-icon svg').count()).toBe(2);
      expect(await options.first().getAttribute('aria-describedby')).toBe('choice-hint-0');
      await latchkeyPage(page, 'chooser', {
        h1: 'How do you want to prove http://alice.test/?',
        main: options.first(),
        response: chooser,
      });
      const before = (await context.cookies(issuer)).find((cookie) => cookie.name === 'latchkey_session');
      expect(before).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
      const send = await click(page, options.first());
      expect(send.status()).toBe(200);
      await shot(page, 'chooser-email-send');
      await proveByEmail(page, 'alice@alice.test');
      expect(landed(page, REDIRECT).get('code')).toBeTruthy();
      // PROTOCOL §9: the session id rotates at sign-in (no session fixation).
      const after = (await context.cookies(issuer)).find((cookie) => cookie.name === 'latchkey_session');
      expect(after?.value).toBeTruthy();
      expect(after?.value).not.toBe(before?.value);
    });

    it('"Continue as …" signs in again without a new proof', async () => {
      const mails = smtp.messages.length;
      const again = await startAtApp(page, CLIENT, 'http://alice.test/');
      const go = button(page, 'Continue as http://alice.test/');
      await latchkeyPage(page, 'continue', {
        h1: 'Continue as http://alice.test/?',
        main: go,
        response: again,
      });
      await click(page, go);
      await shot(page, 'continue-callback');
      const params = landed(page, REDIRECT);
      expect(params.get('state')).toBe(STATE);
      expect(params.get('iss')).toBe(issuer);
      expect(smtp.messages.length).toBe(mails);
      expect(await (await redeem(params.get('code') ?? '')).json()).toEqual({ me: 'http://alice.test/' });
    });

    it('the sign-in form lists the identity this browser proved', async () => {
      const form = await navigation(page, () => page.goto(authorizeUrl()));
      // The main action for a returning visitor is "Continue as …"; another site is the secondary one.
      await latchkeyPage(page, 'form-signed-in', {
        h1: 'Sign in with your website',
        main: button(page, 'Continue as http://alice.test/'),
        response: form,
      });
      expect(await page.getByLabel('Or type another web address').count()).toBe(1);
      expect(await button(page, 'Sign in with a different site').getAttribute('class')).toBe('secondary');
      expect(await page.locator('main .problem').count()).toBe(0);
      await click(page, button(page, 'Continue as http://alice.test/'));
      await shot(page, 'form-continue-callback');
      const params = landed(page, REDIRECT);
      expect(params.get('state')).toBe(STATE);
      expect(await (await redeem(params.get('code') ?? '')).json()).toEqual({ me: 'http://alice.test/' });
    });

    it('prompt=login shows the proof step again instead of "Continue as"', async () => {
      const again = await startAtApp(page, 'http://app.test/again', 'http://alice.test/');
      expect(again.url()).toContain('prompt=login');
      await latchkeyPage(page, 'prompt-login', {
        h1: 'How do you want to prove http://alice.test/?',
        main: page.locator('form[action="/signin/choose"] button').first(),
        response: again,
      });
      expect(await page.getByText(/Continue as/).count()).toBe(0);
    });
  });

  it('deny on the consent page returns error=access_denied with state and iss, and no code', async () => {
    const page = await freshPage();
    await startAtApp(page, MICROPUB, 'http://dave.test/');
    await proveByPgp(page);
    expect(await page.locator('h1').textContent()).toBe('Allow Pocket Micropub to act for you?');
    await click(page, button(page, 'Deny'));
    await shot(page, 'deny-callback');
    const params = landed(page, MICROPUB_REDIRECT);
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(issuer);
    expect(params.has('code')).toBe(false);
  });

  it('a bad client_id gets a 400 page for the developer, never a redirect', async () => {
    const page = await freshPage();
    const seen: string[] = [];
    page.on('request', (request) => seen.push(request.url()));
    const response = await navigation(page, () => page.goto(authorizeUrl({ client_id: 'not a url' })));
    await latchkeyPage(page, 'bad-client-id', {
      h1: 'This sign-in link is broken',
      main: page.getByRole('link', { name: 'Go to the Latchkey home page' }),
      status: 400,
      response,
    });
    expect(await page.getByRole('link', { name: 'developer documentation' }).count()).toBe(1);
    expect(seen.filter((url) => new URL(url).hostname.endsWith('.test'))).toEqual([]);
  });

  it('a redirect_uri on another host that the client does not publish gets a 400 page', async () => {
    const page = await freshPage();
    const seen: string[] = [];
    page.on('request', (request) => seen.push(request.url()));
    const response = await navigation(page, () =>
      page.goto(authorizeUrl({ redirect_uri: 'http://evil.test/callback', me: 'http://bob.test/' })),
    );
    await latchkeyPage(page, 'foreign-redirect', {
      h1: 'This sign-in link is broken',
      main: page.getByRole('link', { name: 'Go to the Latchkey home page' }),
      status: 400,
      response,
    });
    expect(await page.locator('.problem').textContent()).toMatch(/redirect/i);
    expect(seen.filter((url) => new URL(url).hostname.endsWith('.test'))).toEqual([]);
  });

  it('a site with no usable links gets the "no way to sign in" page listing the links found', async () => {
    const page = await freshPage();
    const response = await startAtApp(page, CLIENT, 'http://other.test/');
    await latchkeyPage(page, 'no-methods', {
      h1: 'Latchkey found no way to sign you in',
      main: page.getByRole('link', { name: 'try again' }),
      status: 400,
      response,
    });
    const links = await page.locator('main li').allTextContents();
    expect(links).toContain('rel="me" → https://social.example/@other (Social)');
    expect(links).toContain('rel="me" → https://github.com.evil.example/other');
    expect(await page.getByRole('link', { name: 'the setup page' }).getAttribute('href')).toBe('/setup');
  });

  it('the sign-in form: an unreachable address, then a wrong email code with tries left, then the right one', async () => {
    const page = await freshPage();
    const form = await navigation(page, () => page.goto(authorizeUrl()));
    await latchkeyPage(page, 'form', {
      h1: 'Sign in with your website',
      main: button(page, 'Sign in'),
      response: form,
    });
    expect(await page.getByLabel('Your web address').count()).toBe(1);

    // A bare domain becomes https://bob.test/, which the (http-only) fixture cannot serve: it speaks
    // no TLS, so the page says so in plain words and offers http (trust.test.ts takes that button).
    await page.fill('#me', 'bob.test');
    const unreachable = await click(page, button(page, 'Sign in'));
    await latchkeyPage(page, 'form-problem', {
      h1: 'Sign in with your website',
      main: button(page, 'Sign in'),
      status: 400,
      response: unreachable,
    });
    expect(await page.getByRole('alert').textContent()).toContain(
      "bob.test doesn't answer over a secure connection (https).",
    );
    expect(await button(page, 'Try http://bob.test/ instead').count()).toBe(1);
    expect(await page.inputValue('#me')).toBe('https://bob.test/');

    await page.fill('#me', 'http://bob.test/');
    await click(page, button(page, 'Sign in'));
    await click(page, button(page, 'Send me a code'));
    const real = smtp.codeIn(await smtp.nextMessage('bob@bob.test'));
    await page.fill('#code', real === 'WRONGCODE2' ? 'WRONGCODE3' : 'WRONGCODE2');
    const wrong = await click(page, button(page, 'Sign in'));
    await latchkeyPage(page, 'email-wrong-code', {
      h1: 'Enter the code',
      main: button(page, 'Sign in'),
      status: 400,
      response: wrong,
    });
    expect(await page.getByRole('alert').textContent()).toBe(
      'That code is not right. Check the latest email from Latchkey; 4 tries left.',
    );
    await page.fill('#code', real.toLowerCase());
    await click(page, button(page, 'Sign in'));
    expect(landed(page, REDIRECT).get('code')).toBeTruthy();
  });

  it('the problem shown for an unreachable site reads as whole sentences', async () => {
    const page = await freshPage();
    await navigation(page, () => page.goto(authorizeUrl()));
    // No fixture answers for nowhere.test, and the .test name does not resolve.
    await page.fill('#me', 'nowhere.test');
    await click(page, button(page, 'Sign in'));
    await shot(page, 'unreachable-site');
    const problem = (await page.getByRole('alert').textContent()) ?? '';
    expect(problem).toContain('Could not fetch https://nowhere.test/');
    expect(problem).not.toMatch(/[a-z] Check the address/);
  });

  it('posting the same sign-in form twice (browser back) shows "This sign-in page has expired"', async () => {
    const page = await freshPage();
    const url = authorizeUrl();
    const first = await navigation(page, () => page.goto(url));
    const { 'set-cookie': _cookie, ...headers } = first.headers();
    const asShown = { status: first.status(), headers, body: await first.text() };
    await page.fill('#me', 'http://dave.test/');
    await click(page, button(page, 'Sign in'));
    expect(await page.locator('h1').textContent()).toBe('Sign in with PGP');

    // Under Playwright Chromium keeps no back-forward cache and re-fetches no-store pages, so the test
    // plays a browser that shows the page from its history: "back" answers with the page as first shown.
    await page.route(url, (route) => route.fulfill(asShown));
    await navigation(page, () => page.goBack());
    await page.unroute(url);
    await shot(page, 'form-from-history');
    await page.fill('#me', 'http://dave.test/');
    const stale = await click(page, button(page, 'Sign in'));
    await latchkeyPage(page, 'expired', {
      h1: 'This sign-in page has expired',
      main: page.getByRole('link', { name: 'Go to the Latchkey home page' }),
      status: 400,
      response: stale,
    });
  });

  it('F9: a sign-in page carried to another browser is refused as expired', async () => {
    const owner = await freshPage();
    const url = authorizeUrl({ me: 'http://bob.test/' });
    const first = await navigation(owner, () => owner.goto(url));
    expect(await owner.locator('h1').textContent()).toBe('Sign in by email');
    const page = await freshPage();
    // The other browser shows the very same page (same step token), but has its own session cookie.
    const { 'set-cookie': _cookie, ...headers } = first.headers();
    const body = await first.text();
    await page.route(url, (route) => route.fulfill({ status: first.status(), headers, body }));
    await navigation(page, () => page.goto(url));
    await page.unroute(url);
    const mails = smtp.messages.length;
    const stale = await click(page, button(page, 'Send me a code'));
    await latchkeyPage(page, 'other-browser', {
      h1: 'This sign-in page has expired',
      main: page.getByRole('link', { name: 'Go to the Latchkey home page' }),
      status: 400,
      response: stale,
    });
    expect(smtp.messages.length).toBe(mails);
  });
});
