/**
 * axe-core on the page states no other browser walk reaches (issue 10 item 6): the demo's result
 * and code pages and its problem page, the sign-in and consent pages for an app that sets off every
 * warning (an internationalised host, SECURITY E8; a name naming another domain; a redirect_uri on
 * another host; no PKCE), the account page's sign-in form when signed out, and the rate-limited
 * page. First, the check itself is shown to find violations, with JavaScript off and on.
 * The other suites call the same check on every page they show (test/helpers/axe.ts).
 */
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import { clientApp, type FixtureWeb, HOSTS, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { axeContext, EVERY_LAYOUT, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, button, launchBrowser, navigation, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';

/** `bаnk.test` with a Cyrillic а, as browsers and Latchkey spell it. */
const IDN_CLIENT = new URL('http://bаnk.test/').href;
const IDN_REDIRECT = 'http://app.test/bank-callback';
const VERIFIER = `${'x'.repeat(20)}${'Y'.repeat(23)}`;

describe.skipIf(!browserAvailable)('axe-core on every page state, in Chromium', () => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let browser: Browser;
  let issuer: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    web = await startFixtureWeb([...HOSTS, new URL(IDN_CLIENT).hostname]);
    smtp = await startSmtp();
    server = await startTestServer({ connectTo: web.connectTo, smtpUrl: smtp.url, allowNoPkce: true });
    issuer = server.services.config.publicUrl;
    browser = await launchBrowser([`--host-resolver-rules=MAP *.test 127.0.0.1:${web.fixture.port}`]);
    web.page('http://bob.test/', homepage('Bob', '<a rel="me" href="mailto:bob@bob.test">email</a>'));
    web.page('http://erin.test/', homepage('Erin', '<a rel="me" href="mailto:erin@erin.test">email</a>'));
    web.page('http://app.test/', clientApp('Test App', 'http://app.test/'));
    web.page(IDN_CLIENT, clientApp('Login for paypal.example', IDN_CLIENT, [IDN_REDIRECT]));
    web.page(IDN_REDIRECT, { body: '<!doctype html><title>Back</title><h1>Back</h1>' });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await smtp?.close();
    await web?.close();
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  const freshPage = async (javaScriptEnabled = false): Promise<Page> => {
    const context = await axeContext(browser, { javaScriptEnabled, viewport: { width: 375, height: 812 } });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context.newPage();
  };

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: screenshotPath(`axe-${name}`), fullPage: true });

  /** On an email-send page: send the code, type it from the delivered mail, submit. */
  const proveByEmail = async (page: Page, address: string, label: string): Promise<Response> => {
    await navigation(page, () => button(page, 'Send me a code').click());
    const code = smtp.codeIn(await smtp.nextMessage(address));
    await expectNoAxeViolations(page, `${label}: enter the code`);
    await page.fill('#code', code);
    return navigation(page, () => button(page, 'Sign in').click());
  };

  it('the check finds violations: with JavaScript off and on, it names rule, target and HTML', async () => {
    for (const javaScriptEnabled of [false, true]) {
      const page = await freshPage(javaScriptEnabled);
      await page.setContent(
        '<!doctype html><html><head><title>Bad</title></head><body>' +
          '<p style="color:#bbb;background:#fff">faint text</p><img src="data:," id="bare"></body></html>',
      );
      const check = expectNoAxeViolations(page, 'deliberately broken page', { record: false });
      await expect(check).rejects.toThrow(/html-has-lang/);
      await expect(check).rejects.toThrow(/color-contrast \[serious\]/);
      await expect(check).rejects.toThrow(/image-alt \[critical\][\s\S]*at #bare[\s\S]*<img src="data:,"/);
    }
  });

  it('the demo: sign-in form, email code, the result page; the docs code page; the problem page', async () => {
    const page = await freshPage();
    await page.goto(issuer);
    await page.getByLabel('Your web address').fill('http://bob.test/');
    await navigation(page, () => button(page, 'Sign in to the demo').click());
    expect((await page.locator('h1').textContent())?.trim()).toBe('Sign in by email');
    await expectNoAxeViolations(page, 'demo: email send', { layouts: EVERY_LAYOUT });
    const result = await proveByEmail(page, 'bob@bob.test', 'demo');
    expect(result.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/demo/callback');
    await shot(page, 'demo-result');
    await expectNoAxeViolations(page, 'demo: result', { layouts: EVERY_LAYOUT });

    const codePage = await navigation(page, () =>
      page.goto(
        `${issuer}demo/callback?${new URLSearchParams({ iss: issuer, code: 'abc123', state: 'latchkey-docs-demo' })}`,
      ),
    );
    expect(codePage.status()).toBe(200);
    await shot(page, 'demo-code');
    await expectNoAxeViolations(page, 'demo: code from the docs form', { layouts: EVERY_LAYOUT });

    const problem = await navigation(page, () => page.goto(`${issuer}demo/callback?iss=elsewhere`));
    expect(problem.status()).toBe(400);
    await shot(page, 'demo-problem');
    await expectNoAxeViolations(page, 'demo: problem page', { layouts: EVERY_LAYOUT });
  });

  it('E8: an app with an international host, a look-alike name, a far redirect and no PKCE', async () => {
    const page = await freshPage();
    const url = `${issuer}authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: IDN_CLIENT,
      redirect_uri: IDN_REDIRECT,
      state: 'idn',
      scope: 'profile create',
      me: 'http://erin.test/',
    })}`;
    const sendPage = await navigation(page, () => page.goto(url));
    expect(sendPage.status()).toBe(200);
    expect(await page.locator('main').textContent()).toContain('international letters');
    await shot(page, 'idn-email-send');
    await expectNoAxeViolations(page, 'E8 app: email send', { layouts: EVERY_LAYOUT });
    const consent = await proveByEmail(page, 'erin@erin.test', 'E8 app');
    expect(consent.status()).toBe(200);
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('international letters');
    expect(main).toContain('names paypal.example');
    expect(main).toContain('different host');
    expect(main).toContain('does not use PKCE');
    await shot(page, 'idn-consent');
    await expectNoAxeViolations(page, 'E8 app: consent with every warning', { layouts: EVERY_LAYOUT });
  });

  it('the account page signed out: the sign-in form for Latchkey itself', async () => {
    const page = await freshPage();
    const form = await navigation(page, () => page.goto(`${issuer}account`));
    expect(form.status()).toBe(200);
    expect((await page.locator('h1').textContent())?.trim()).toBe('Sign in with your website');
    await shot(page, 'account-signed-out');
    await expectNoAxeViolations(page, 'account, signed out: sign-in form', { layouts: EVERY_LAYOUT });
  });

  it('the rate-limited page (R5: too many sign-ins from one address)', async () => {
    // A server of its own: the limit counts per address, and this test uses it up.
    const limited = await startTestServer({ connectTo: web.connectTo });
    try {
      const url = `${limited.services.config.publicUrl}authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: 'http://app.test/',
        redirect_uri: 'http://app.test/callback',
        state: 'limits',
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
      })}`;
      let status = 200;
      for (let i = 0; i < 100 && status !== 429; i++) {
        const res = await fetch(url, { headers: { accept: 'text/html' } });
        await res.arrayBuffer();
        status = res.status;
      }
      expect(status).toBe(429);
      const page = await freshPage();
      const response = await navigation(page, () => page.goto(url));
      expect(response.status()).toBe(429);
      expect((await page.locator('h1').textContent())?.trim()).toBe('Too many sign-ins');
      await shot(page, 'rate-limited');
      await expectNoAxeViolations(page, 'rate-limited', { layouts: EVERY_LAYOUT });
    } finally {
      await limited.close();
    }
  });
});
