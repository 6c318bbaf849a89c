/**
 * Signing in with an SSH key in real Chromium with JavaScript off (PROTOCOL §9.1 `ssh`, SECURITY
 * F8): a relying party's form sends the visitor to Latchkey, whose site links to a `.pub` file with
 * `rel="ssh-key"`; the SSH page shows the keys, the challenge and the command; the test signs the
 * challenge shown with the real `ssh-keygen -Y sign` and pastes the block; the visitor lands back at
 * the app, which redeems the code. The page is checked at phone width (390 px): one h1, no script,
 * labelled fields, nothing wider than the screen, the button reachable with Tab. Screenshots go to
 * test/artifacts/screenshots/ssh-*.png.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import { type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { axeContext, EVERY_LAYOUT, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, launchBrowser, navigation, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';
import { type SshKey, type SshKeys, sshKeygenAvailable, sshKeys } from '../helpers/ssh.js';

const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const STATE = 'ssh-state-1';
const VERIFIER = `${'s'.repeat(20)}${'H'.repeat(23)}`;

/** Browser-side checks are strings: the project compiles without the DOM library. */
const UNLABELLED = `[...document.querySelectorAll('input:not([type=hidden]):not([type=submit]), textarea, select')]
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.name || el.id)`;
/** Elements reaching past the right edge, other than the contents of scrolling <pre> blocks. */
const OVERFLOWING = `[...document.querySelectorAll('body *')]
  .filter((el) => !el.closest('pre') && el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map((el) => el.tagName + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || '').trim().slice(0, 40))`;
/** <pre> blocks themselves must stay inside the screen (their contents may wrap or scroll). */
const WIDE_PRE = `[...document.querySelectorAll('pre')]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5).map((el) => el.id)`;
const SIDEWAYS = 'document.documentElement.scrollWidth - window.innerWidth';
const isFocused = (element: unknown): boolean =>
  element === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement;

/** The relying party: its h-app is the client_id document, its form starts the sign-in. */
function appPage(issuer: string): string {
  const hidden = {
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    state: STATE,
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
  };
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Test App</title></head>
<body><div class="h-app"><h1><a class="u-url p-name" href="${CLIENT}">Test App</a></h1></div>
<form method="get" action="${issuer}authorize">
${Object.entries(hidden)
  .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
  .join('\n')}
<label for="me">Your website</label> <input id="me" name="me" type="text">
<button type="submit">Sign in with your website</button>
</form></body></html>`;
}

describe.skipIf(!browserAvailable || !sshKeygenAvailable)('signing in with an SSH key, in Chromium', () => {
  let web: FixtureWeb;
  let server: RunningServer;
  let browser: Browser;
  let keys: SshKeys;
  let key: SshKey;
  let issuer: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    web = await startFixtureWeb();
    server = await startTestServer({ connectTo: web.connectTo });
    issuer = server.services.config.publicUrl;
    browser = await launchBrowser([`--host-resolver-rules=MAP *.test 127.0.0.1:${web.fixture.port}`]);
    keys = sshKeys();
    key = keys.key('ed25519', undefined, 'alice@laptop');
    const other = keys.key('ecdsa', 256, 'alice@phone — a rather long comment to see how the list wraps');
    web.page(CLIENT, { body: appPage(issuer) });
    web.page(REDIRECT, {
      body: '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Back</title></head><body><h1>Back at the app</h1></body></html>',
    });
    web.page(
      'http://alice.test/',
      homepage('Alice', '<link rel="ssh-key" href="http://alice.test/keys/authorized_keys">'),
    );
    web.page('http://alice.test/keys/authorized_keys', {
      type: 'text/plain',
      body: `${key.pub}no-pty ${other.pub}`,
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await web?.close();
    keys?.dispose();
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  const freshPage = async (): Promise<Page> => {
    const context = await axeContext(browser, {
      javaScriptEnabled: false,
      viewport: { width: 390, height: 844 },
    });
    context.setDefaultTimeout(10_000);
    contexts.push(context);
    return context.newPage();
  };

  const tabReaches = async (page: Page, selector: string): Promise<boolean> => {
    await page.evaluate('document.activeElement?.blur()');
    const target = page.locator(selector);
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      if (await target.evaluate(isFocused)) return true;
    }
    return false;
  };

  it('F8: the SSH page works without JavaScript; the pasted ssh-keygen signature signs the visitor in to the app', async () => {
    const page = await freshPage();
    await page.goto(CLIENT);
    await page.fill('#me', 'http://alice.test/');
    const shown = await navigation(page, () =>
      page.getByRole('button', { name: 'Sign in with your website' }).click(),
    );

    // The SSH page itself.
    expect(shown.status()).toBe(200);
    expect(shown.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(new URL(page.url()).origin).toBe(new URL(issuer).origin);
    await page.screenshot({ path: screenshotPath('ssh-challenge'), fullPage: true });
    expect(await page.locator('h1').count()).toBe(1);
    expect((await page.locator('h1').textContent())?.trim()).toBe('Sign in with SSH');
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.evaluate<string[]>(UNLABELLED)).toEqual([]);
    expect(await page.evaluate<string[]>(OVERFLOWING)).toEqual([]);
    expect(await page.evaluate<string[]>(WIDE_PRE)).toEqual([]);
    expect(await page.evaluate<number>(SIDEWAYS)).toBeLessThanOrEqual(0);
    expect(await page.getByLabel('SSH signature').count()).toBe(1);
    expect(await tabReaches(page, 'button[type=submit]')).toBe(true);
    await expectNoAxeViolations(page, 'ssh challenge', { layouts: EVERY_LAYOUT });

    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('http://alice.test/keys/authorized_keys');
    expect(main).toContain(key.fingerprint);
    const namespace = new URL(issuer).host;
    const challenge = (await page.locator('pre#challenge').textContent()) ?? '';
    expect(challenge).toMatch(
      new RegExp(`^${namespace.replace(/\./g, '\\.')} sign-in for http://alice\\.test/ nonce \\S+$`),
    );
    const command = (await page.locator('pre#command').textContent()) ?? '';
    expect(command).toBe(
      `printf '%s' '${challenge}' | ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n ${namespace}`,
    );

    // The person runs the command (with this test's key file) and pastes what it prints.
    const signature = keys.shell(command.replace(' -f ~/.ssh/id_ed25519 ', ` -f '${key.file}' `));
    await page.locator('#signature').focus();
    await page.keyboard.insertText(signature);
    await page.screenshot({ path: screenshotPath('ssh-pasted'), fullPage: true });
    const done = await navigation(page, () => page.getByRole('button', { name: 'Verify signature' }).click());
    expect(done.status()).toBe(200);

    const landed = new URL(page.url());
    expect(landed.origin + landed.pathname).toBe(REDIRECT);
    expect(landed.searchParams.get('state')).toBe(STATE);
    expect(landed.searchParams.get('iss')).toBe(issuer);
    const redeemed = await fetch(new URL('/token', issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: landed.searchParams.get('code') ?? '',
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      }),
    });
    expect(redeemed.status).toBe(200);
    expect(await redeemed.json()).toEqual({ me: 'http://alice.test/' });
  });

  it('a wrong signature shows the reason above the form, and the page still fits a phone', async () => {
    const page = await freshPage();
    await navigation(page, () =>
      page.goto(
        `${issuer}authorize?${new URLSearchParams({
          response_type: 'code',
          client_id: CLIENT,
          redirect_uri: REDIRECT,
          state: STATE,
          code_challenge: s256(VERIFIER),
          code_challenge_method: 'S256',
          me: 'http://alice.test/',
        })}`,
      ),
    );
    await page.fill('#signature', key.sign('some other text', 'git'));
    const refused = await navigation(page, () =>
      page.getByRole('button', { name: 'Verify signature' }).click(),
    );
    expect(refused.status()).toBe(400);
    await page.screenshot({ path: screenshotPath('ssh-refused'), fullPage: true });
    await expectNoAxeViolations(page, 'ssh wrong signature');
    expect(await page.getByRole('alert').textContent()).toContain(`sign with -n ${new URL(issuer).host}`);
    expect(await page.evaluate<string[]>(OVERFLOWING)).toEqual([]);
    expect(await page.evaluate<number>(SIDEWAYS)).toBeLessThanOrEqual(0);
  });
});
