/**
 * The account page in real Chromium with JavaScript off, at phone width (PROTOCOL §13; DESIGN
 * "pages work without JavaScript, labelled, keyboard-usable, phone width"): a person with two apps
 * holding grants opens /account, proves their site by email (a real SMTP server), sees both apps, and
 * revokes one with the keyboard alone; the revoked app's token stops working at once (D9).
 * Screenshot: test/artifacts/screenshots/account.png.
 */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import { type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { axeContext, EVERY_LAYOUT, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, launchBrowser, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';

const BOB = 'http://bob.test/';
const VERIFIER = `${'a'.repeat(20)}${'B'.repeat(23)}`;
const UNLABELLED = `[...document.querySelectorAll('input:not([type=hidden]):not([type=submit]), textarea, select')]
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.name || el.id)`;
const SIDEWAYS = 'document.documentElement.scrollWidth - window.innerWidth';
const isFocused = (element: unknown): boolean =>
  element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement;

describe.skipIf(!browserAvailable)('the account page in Chromium', () => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
    server = await startTestServer({ connectTo: web.connectTo, smtpUrl: smtp.url });
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

  /** A grant as a sign-in with scope leaves it: a code issued, then redeemed for tokens. */
  async function seedGrant(clientId: string, name: string, scope: string[]): Promise<string> {
    const { codes } = server.services;
    const code = await codes.issue({
      clientId,
      redirectUri: `${clientId}callback`,
      codeChallenge: s256(VERIFIER),
      me: BOB,
      scope,
      authMethod: 'email',
      clientName: name,
    });
    const redeemed = await codes.redeem('token', {
      code,
      clientId,
      redirectUri: `${clientId}callback`,
      codeVerifier: VERIFIER,
    });
    return redeemed?.tokens?.accessToken ?? '';
  }

  const tabReaches = async (page: Page, target: Locator): Promise<boolean> => {
    await page.evaluate('document.activeElement?.blur()');
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      if (await target.evaluate(isFocused)) return true;
    }
    return false;
  };

  it('without JavaScript at 390 px: sign in by email, one h1, labelled, Revoke by keyboard ends the token', async () => {
    const notesToken = await seedGrant('https://notes.example/', 'Pocket Notes', [
      'create',
      'update',
      'media',
    ]);
    const journalToken = await seedGrant('https://journal.example/app/', 'Journal', ['create']);
    const issuer = server.services.config.publicUrl;
    context = await axeContext(browser, { javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();

    await page.goto(`${issuer}account?me=${encodeURIComponent(BOB)}`);
    await expectNoAxeViolations(page, 'account sign-in: email send');
    await page.getByRole('button', { name: 'Send me a code', exact: true }).click();
    await page.waitForURL(/signin/);
    const code = smtp.codeIn(await smtp.nextMessage('bob@bob.test'));
    await expectNoAxeViolations(page, 'account sign-in: enter the code');
    await page.fill('#code', code);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL(`${issuer}account`);

    expect(await page.locator('h1').count()).toBe(1);
    expect((await page.locator('h1').textContent())?.trim()).toBe('Your sign-ins and apps');
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.evaluate<string[]>(UNLABELLED)).toEqual([]);
    expect(await page.evaluate<number>(SIDEWAYS)).toBeLessThanOrEqual(0);
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('Pocket Notes');
    expect(main).toContain('https://journal.example/app/');
    expect(main).toContain('links to mailto:bob@bob.test');
    await page.screenshot({ path: screenshotPath('account'), fullPage: true });
    await expectNoAxeViolations(page, 'account with grants', { layouts: EVERY_LAYOUT });

    // Keyboard only: Tab to "Revoke" for Pocket Notes, press Enter.
    const revoke = page.getByRole('button', { name: 'Revoke Pocket Notes’s access', exact: true });
    expect(await tabReaches(page, revoke)).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(/done=revoked/);
    expect(await page.getByRole('status').textContent()).toContain('that app’s access is revoked');
    expect(await page.locator('main').textContent()).not.toContain('Revoke Pocket Notes');
    await page.screenshot({ path: screenshotPath('account-revoked'), fullPage: true });
    await expectNoAxeViolations(page, 'account after a revoke');

    expect(await server.services.tokens.verify(notesToken)).toBeUndefined();
    expect(await server.services.tokens.verify(journalToken)).toBeDefined();
  });
});
