/**
 * Passkeys in real Chromium with its CDP virtual authenticator (PROTOCOL §13, SECURITY E9): a person
 * proves their site by email on /account, adds a passkey, signs out, signs in to an app with the
 * passkey (offered first) with a scope through consent to a token, then removes the passkey.
 * The issuer is http://localhost:<port>/: WebAuthn needs a secure context and a domain RP ID.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import { type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { axeContext, EVERY_LAYOUT, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, launchBrowser, screenshotPath } from '../helpers/browser.js';
import { freePort, startTestServer } from '../helpers/server.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';

const BOB = 'http://bob.test/';
const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const VERIFIER = `${'p'.repeat(20)}${'K'.repeat(23)}`;

describe.skipIf(!browserAvailable)('passkeys in Chromium', () => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let issuer: string;

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
    const port = await freePort();
    issuer = `http://localhost:${port}/`;
    server = await startTestServer({ connectTo: web.connectTo, smtpUrl: smtp.url, port, publicUrl: issuer });
    browser = await launchBrowser([`--host-resolver-rules=MAP *.test 127.0.0.1:${web.fixture.port}`]);
    web.page(BOB, homepage('Bob', '<link rel="me" href="mailto:bob@bob.test">'));
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await web?.close();
    await smtp?.close();
  });

  it('email proof → add a passkey → sign out → sign in to an app with it, consent, token → remove it', async () => {
    // A phone's width: every page of the walk must fit it (the add-a-passkey page included).
    context = await axeContext(browser, { viewport: { width: 390, height: 844 } });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });

    await page.goto(`${issuer}account?me=${encodeURIComponent(BOB)}`);
    await page.getByRole('button', { name: 'Send me a code', exact: true }).click();
    await page.waitForURL(/signin/);
    await page.fill('#code', smtp.codeIn(await smtp.nextMessage('bob@bob.test')));
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${issuer}account`);

    await expectNoAxeViolations(page, 'account, no passkey yet');
    await page.getByRole('link', { name: 'Add a passkey' }).click();
    await page.waitForURL(/passkeys\/new/);
    expect(await page.locator('h1').count()).toBe(1);
    expect(await page.getByLabel(/name/i).count()).toBeGreaterThan(0);
    expect(
      await page.evaluate<number>(
        "[...document.querySelectorAll('body *')].filter((el) => !el.closest('pre') && el.getBoundingClientRect().right > window.innerWidth + 0.5).length",
      ),
    ).toBe(0);
    await page.screenshot({ path: screenshotPath('passkey-add'), fullPage: true });
    await expectNoAxeViolations(page, 'add a passkey', { layouts: EVERY_LAYOUT });
    await page.fill('#passkey-name', 'Test laptop');
    await page.getByRole('button', { name: 'Create the passkey' }).click();
    await page.waitForURL(/done=passkey-added/);
    expect(await page.locator('main').textContent()).toContain('Test laptop');
    await expectNoAxeViolations(page, 'account with a passkey', { layouts: EVERY_LAYOUT });
    const [stored] = await server.services.passkeys.list(BOB);
    expect(stored?.registeredVia).toEqual({ method: 'email', link: 'mailto:bob@bob.test' });

    // Sign out of the account page and of every browser identity: the next sign-in has to prove again.
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    await page.waitForURL(/signout-everywhere/);
    await expectNoAxeViolations(page, 'signed out everywhere');

    const authorize = new URL('authorize', issuer);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      state: 'st4te',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      scope: 'create',
      me: BOB,
    }))
      authorize.searchParams.set(k, v);
    // Without JavaScript, on a phone: the passkey step says so plainly and offers another way.
    const plain = await axeContext(browser, {
      javaScriptEnabled: false,
      viewport: { width: 390, height: 844 },
    });
    try {
      const phone = await plain.newPage();
      await phone.goto(authorize.href);
      await phone.locator('main form button, main button').first().click();
      await phone.waitForLoadState();
      expect(await phone.locator('h1').count()).toBe(1);
      const text = (await phone.locator('main').textContent()) ?? '';
      expect(text).toContain('Passkeys need JavaScript');
      expect(await phone.getByRole('link', { name: 'choose another way to sign in' }).count()).toBe(1);
      // The form only works with the script, so without it there is no button to press in vain.
      expect(await phone.getByRole('button', { name: 'Use my passkey' }).isVisible()).toBe(false);
      const overflow = await phone.evaluate<number>(
        "[...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5).length",
      );
      expect(overflow).toBe(0);
      await phone.screenshot({ path: screenshotPath('passkey-signin-no-js'), fullPage: true });
      await expectNoAxeViolations(phone, 'passkey sign-in without JavaScript');
    } finally {
      await plain.close();
    }

    await page.goto(authorize.href);
    // The chooser offers the passkey first.
    const first = page.locator('main form button, main button').first();
    expect(await first.textContent()).toContain('passkey');
    await expectNoAxeViolations(page, 'chooser, passkey first');
    await first.click();
    // The passkey button is reachable from the keyboard.
    const use = page.getByRole('button', { name: 'Use my passkey' });
    await use.focus();
    await page.screenshot({ path: screenshotPath('passkey-signin'), fullPage: true });
    await expectNoAxeViolations(page, 'passkey sign-in', { layouts: EVERY_LAYOUT });
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Allow' }).waitFor();
    await expectNoAxeViolations(page, 'consent after a passkey');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(/app\.test\/callback/);
    const code = new URL(page.url()).searchParams.get('code') ?? '';
    const token = await fetch(new URL('token', issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      }).toString(),
    });
    const body = (await token.json()) as { me?: string; access_token?: string; scope?: string };
    expect(token.status).toBe(200);
    expect(body.me).toBe(BOB);
    expect(body.scope).toBe('create');
    expect(body.access_token).toBeTruthy();
    expect((await server.services.passkeys.list(BOB))[0]?.lastUsedAt).not.toBeNull();

    // Remove it from the account page (signed in again, this time with the passkey).
    await page.goto(`${issuer}account/signin-again?me=${encodeURIComponent(BOB)}`);
    await page.locator('main form button, main button').first().click();
    await page.getByRole('button', { name: 'Use my passkey' }).click();
    await page.waitForURL(`${issuer}account`);
    expect(await page.locator('main').textContent()).toContain('You signed in with a passkey');
    await expectNoAxeViolations(page, 'account, signed in with a passkey');
    await page.getByRole('button', { name: 'Remove the passkey Test laptop' }).click();
    await page.waitForURL(/done=passkey-removed/);
    expect(await server.services.passkeys.list(BOB)).toEqual([]);
    await expectNoAxeViolations(page, 'account after removing the passkey');
    // A long walk with ten axe-core checks: a slow, loaded machine must not fail it.
  }, 60_000);
});
