/**
 * Pages people trust (issue 10, item 6) in real Chromium with JavaScript off: the favicon and the
 * header logo load from Latchkey itself, code examples on /docs and /setup are not clipped at
 * desktop widths and do not push a phone page sideways, the returning visitor's main action is the
 * filled "Continue as …" button, the consent page shows the redirect_uri and flags a plain-http app,
 * and a bare domain whose site has no https is offered http as a button, then signs in over it.
 * Screenshots: test/artifacts/screenshots/trust-*.png.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import { FAVICON_PATH } from '../../src/views/logo.js';
import { type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { browserAvailable, button, launchBrowser, navigation, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';

const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const VERIFIER = 'c'.repeat(43);

/**
 * Code blocks that hide part of their text: wider than their box and not a keyboard-scrollable,
 * labelled region. Browser-side code is a string (the project compiles without the DOM library).
 */
const CLIPPED_PRE = `[...document.querySelectorAll('pre')].filter((pre) => {
  if (pre.scrollWidth <= pre.clientWidth) return false;
  const scrolls = ['auto', 'scroll'].includes(getComputedStyle(pre).overflowX);
  return !(scrolls && pre.tabIndex === 0 && pre.getAttribute('aria-label'));
}).map((pre) => pre.textContent.trim().slice(0, 60))`;
/** Code blocks wider than their box at all (they would need scrolling to read). */
const SCROLLING_PRE = `[...document.querySelectorAll('pre')].filter((pre) => pre.scrollWidth > pre.clientWidth).length`;
const SIDEWAYS = 'document.documentElement.scrollWidth - window.innerWidth';

describe.skipIf(!browserAvailable)('pages people trust, in Chromium', () => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let browser: Browser;
  let issuer: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
    server = await startTestServer({ connectTo: web.connectTo, smtpUrl: smtp.url });
    issuer = server.services.config.publicUrl;
    browser = await launchBrowser([`--host-resolver-rules=MAP *.test 127.0.0.1:${web.fixture.port}`]);
    web.page(CLIENT, {
      body: `<!doctype html><html lang="en"><head><title>Quill</title></head><body>
<div class="h-app"><a class="u-url p-name" href="${CLIENT}">Quill</a></div></body></html>`,
    });
    web.page(REDIRECT, {
      body: '<!doctype html><html lang="en"><title>Back</title><h1>Back at the app</h1>',
    });
    // bob.test has only http (the fixture web speaks no TLS), like many personal sites.
    web.page('http://bob.test/', homepage('Bob', '<link rel="me" href="mailto:bob@bob.test">'));
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await server?.close();
    await smtp?.close();
    await web?.close();
  });

  const newPage = async (width: number, height = 900, colorScheme: 'light' | 'dark' = 'light') => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width, height },
      colorScheme,
    });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context.newPage();
  };

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: screenshotPath(`trust-${name}`), fullPage: true });

  const authorizeUrl = (extra: Record<string, string> = {}) =>
    `${issuer}authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      state: 'st',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      ...extra,
    })}`;

  /** From the email page: send, read the code from the mail, type it, submit. */
  const proveByEmail = async (page: Page, address: string) => {
    await navigation(page, () => button(page, 'Send me a code').click());
    const code = smtp.codeIn(await smtp.nextMessage(address));
    await page.fill('#code', code);
    return navigation(page, () => button(page, 'Sign in').click());
  };

  /** The computed background of a button: filled buttons have the accent colour, outline ones none. */
  const background = (page: Page, name: string) =>
    button(page, name).evaluate((el) => {
      const view = (
        el as {
          ownerDocument: { defaultView: { getComputedStyle(e: unknown): { backgroundColor: string } } };
        }
      ).ownerDocument.defaultView;
      return view.getComputedStyle(el).backgroundColor;
    });

  it('the favicon is Latchkey’s own SVG, linked from every page; the logo sits beside the name', async () => {
    const page = await newPage(1280);
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(issuer);
    const href = await page.locator('link[rel="icon"]').getAttribute('href');
    expect(href).toBe(FAVICON_PATH);
    expect(await page.locator('link[rel="icon"]').getAttribute('type')).toBe('image/svg+xml');
    const logo = page.locator('header .brand svg.logo');
    expect(await logo.getAttribute('aria-hidden')).toBe('true');
    expect((await logo.boundingBox())?.width).toBe(28);
    // The link's accessible name is the text, not the drawing.
    expect((await page.locator('header .brand').textContent())?.trim()).toBe('Latchkey');
    await shot(page, 'home-desktop');
    for (const url of requests) expect(new URL(url).origin).toBe(new URL(issuer).origin);
    // The icon itself loads from Latchkey, kept a year under its content-addressed name.
    const icon = await page.goto(new URL(FAVICON_PATH, issuer).href);
    expect(icon?.status()).toBe(200);
    expect(icon?.headers()['content-type']).toBe('image/svg+xml');
    expect(icon?.headers()['cache-control']).toContain('immutable');
    await page.screenshot({ path: screenshotPath('trust-favicon') });
    const dark = await newPage(375, 700, 'dark');
    await dark.goto(issuer);
    await shot(dark, 'home-phone-dark');
  });

  for (const path of ['/docs', '/setup']) {
    it(`${path}: no code block is clipped at 1280 and 1440 px, and a 375 px phone page does not scroll sideways`, async () => {
      for (const width of [1280, 1440]) {
        const page = await newPage(width);
        await page.goto(new URL(path, issuer).href);
        expect(await page.locator('pre').count()).toBeGreaterThan(0);
        expect(await page.evaluate<string[]>(CLIPPED_PRE), `${path} at ${width}`).toEqual([]);
        // The wider column and wrapping leave nothing to scroll at desktop widths.
        expect(await page.evaluate<number>(SCROLLING_PRE), `${path} at ${width}`).toBe(0);
        if (width === 1280) await shot(page, `${path.slice(1)}-desktop`);
      }
      const phone = await newPage(375, 800);
      await phone.goto(new URL(path, issuer).href);
      expect(await phone.evaluate<number>(SIDEWAYS)).toBeLessThanOrEqual(0);
      expect(await phone.evaluate<string[]>(CLIPPED_PRE)).toEqual([]);
      await shot(phone, `${path.slice(1)}-phone`);
    });
  }

  describe('one browser, signing in with a site that has only http', () => {
    let page: Page;

    beforeAll(async () => {
      page = await newPage(390, 844);
    });

    it('a bare domain tries https, says the site has no secure connection, and offers http as a button', async () => {
      await page.goto(authorizeUrl());
      expect(await page.locator('.client').textContent()).toContain('Quill (app.test) wants you to sign in');
      await shot(page, 'signin-form');
      await page.fill('#me', 'bob.test');
      const answer = await navigation(page, () => button(page, 'Sign in').click());
      expect(answer.status()).toBe(400);
      const problem = page.locator('main .problem');
      expect(await problem.textContent()).toContain(
        "bob.test doesn't answer over a secure connection (https).",
      );
      expect(await page.locator('main').textContent()).not.toContain('TLS handshake');
      // The input names the problem for screen readers.
      expect(await page.locator('#me').getAttribute('aria-describedby')).toBe('site-problem');
      await shot(page, 'no-https');
      expect(await page.evaluate<number>(SIDEWAYS)).toBeLessThanOrEqual(0);
      // Keyboard: Tab reaches the offer.
      const offer = button(page, 'Try http://bob.test/ instead');
      await offer.focus();
      const email = await navigation(page, () => page.keyboard.press('Enter'));
      expect(email.status()).toBe(200);
      expect(await page.locator('h1').textContent()).toBe('Sign in by email');
      const back = await proveByEmail(page, 'bob@bob.test');
      expect(back.url()).toContain(REDIRECT);
      const params = new URL(page.url()).searchParams;
      expect(params.get('code')).toBeTruthy();
      const redeemed = await fetch(new URL('/token', issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: params.get('code') ?? '',
          client_id: CLIENT,
          redirect_uri: REDIRECT,
          code_verifier: VERIFIER,
        }),
      });
      expect(await redeemed.json()).toEqual({ me: 'http://bob.test/' });
    });

    it('back again: "Continue as" is the one filled button, the other site is secondary, no error box', async () => {
      await page.goto(authorizeUrl({ state: 'again' }));
      expect(await page.locator('main .problem').count()).toBe(0);
      const filled = await background(page, 'Continue as http://bob.test/');
      const outline = await background(page, 'Sign in with a different site');
      expect(filled).not.toBe('rgba(0, 0, 0, 0)');
      expect(outline).toBe('rgba(0, 0, 0, 0)');
      await shot(page, 'returning-form');
      // Typing the bare domain again finds the identity proved over http: "Continue as", no error.
      await page.fill('#me', 'bob.test');
      await navigation(page, () => button(page, 'Sign in with a different site').click());
      expect(await page.locator('h1').textContent()).toBe('Continue as http://bob.test/?');
      expect(await page.locator('main .problem').count()).toBe(0);
      expect(await background(page, 'Continue as http://bob.test/')).toBe(filled);
      expect(await background(page, 'Sign in with a different site')).toBe('rgba(0, 0, 0, 0)');
      await shot(page, 'returning-continue');
    });

    it('consent shows where the app sends you back and that it does not use a secure connection', async () => {
      await page.goto(authorizeUrl({ state: 'scoped', scope: 'create' }));
      await navigation(page, () => button(page, 'Continue as http://bob.test/').click());
      expect(await page.locator('h1').textContent()).toBe('Allow Quill to act for you?');
      const facts = await page.locator('dl.facts').textContent();
      expect(facts).toContain('Sends you back to (redirect_uri)');
      expect(facts).toContain(REDIRECT);
      const warning = page.locator('main .problem', { hasText: 'does not use a secure connection' });
      expect(await warning.count()).toBe(1);
      expect(await warning.isVisible()).toBe(true);
      await shot(page, 'consent-phone');
      await page.setViewportSize({ width: 1280, height: 900 });
      await shot(page, 'consent-desktop');
      expect(await page.evaluate<number>(SIDEWAYS)).toBeLessThanOrEqual(0);
    });
  });
});
