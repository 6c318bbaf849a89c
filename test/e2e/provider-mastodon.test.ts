/**
 * Signing in with Mastodon in real Chromium, JavaScript off (PROTOCOL §9.1): a relying party's form
 * sends the visitor to Latchkey, whose chooser offers the two Mastodon accounts the site links to;
 * the visitor picks one, approves on the stand-in Mastodon's consent page (https, test CA) and lands
 * back at the app with code, state and iss; the app redeems the code. Also the page a person meets
 * when their Mastodon profile does not link back.
 *
 * TLS: Latchkey (in this worker) trusts the test CA through NODE_EXTRA_CA_CERTS (vitest.config.ts).
 * Chromium has no such switch, so it is told to accept exactly the stand-in's key:
 * `--ignore-certificate-errors-spki-list=<SHA-256 of its SPKI>` (honoured because Playwright runs
 * Chromium with its own `--user-data-dir`). Any other certificate error still stops the browser —
 * unlike `--ignore-certificate-errors`, which would accept anything.
 * Chromium reaches the made-up hosts through `--host-resolver-rules`: the Mastodon hosts to the
 * stand-in's TLS port, every other *.test host to the fixture web.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import {
  linkHtml,
  MASTODON_HOSTS,
  type MastodonStandIn,
  STAND_IN_SPKI,
  startMastodon,
} from '../fixtures/providers/mastodon.js';
import { type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { axeContext, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, launchBrowser, navigation, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';

const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const STATE = 'st-mastodon &=?';
const VERIFIER = `${'v'.repeat(20)}${'W'.repeat(23)}`;

describe.skipIf(!browserAvailable)('signing in with Mastodon in Chromium', () => {
  let web: FixtureWeb;
  let mastodon: MastodonStandIn;
  let server: RunningServer;
  let browser: Browser;
  let issuer: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    web = await startFixtureWeb();
    mastodon = await startMastodon();
    server = await startTestServer({ connectTo: [...web.connectTo, ...mastodon.connectTo] });
    issuer = server.services.config.publicUrl;
    const rules = [
      ...MASTODON_HOSTS.map((host) => `MAP ${host} 127.0.0.1:${mastodon.port}`),
      `MAP *.test 127.0.0.1:${web.fixture.port}`,
    ].join(',');
    browser = await launchBrowser([
      `--host-resolver-rules=${rules}`,
      `--ignore-certificate-errors-spki-list=${STAND_IN_SPKI}`,
    ]);
    const hidden = {
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      state: STATE,
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
    };
    web.page(CLIENT, {
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test App</title></head><body>
<div class="h-app"><h1><a class="u-url p-name" href="${CLIENT}">Test App</a></h1></div>
<form method="get" action="${issuer}authorize">
${Object.entries(hidden)
  .map(([name, value]) => `<input type="hidden" name="${name}" value="${value.replace(/&/g, '&amp;')}">`)
  .join('\n')}
<label for="me">Your website</label> <input id="me" name="me" type="text">
<button type="submit">Sign in with your website</button></form></body></html>`,
    });
    web.page(REDIRECT, {
      body: '<!doctype html><html lang="en"><head><title>Back at the app</title></head><body><h1>Back at the app</h1></body></html>',
    });
    web.page(
      'http://alice.test/',
      homepage(
        'Alice',
        '<a rel="me" href="https://social.test/@alice">social</a><a rel="me" href="https://toot.test/@alice">toot</a>',
      ),
    );
    web.page('http://bob.test/', homepage('Bob', '<a rel="me" href="https://social.test/@bob">social</a>'));
    const linksBack = (site: string) => [
      { name: 'Website', value: linkHtml(site), verified_at: '2024-05-01T10:31:10.744+00:00' },
    ];
    mastodon.addAccount('social.test', { username: 'alice', fields: linksBack('http://alice.test/') });
    mastodon.addAccount('toot.test', { username: 'alice', fields: linksBack('http://alice.test/') });
    mastodon.addAccount('social.test', { username: 'bob', note: '<p>No links here.</p>' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await mastodon?.close();
    await web?.close();
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

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: screenshotPath(`provider-mastodon-${name}`), fullPage: true });

  const startAtApp = async (page: Page, me: string) => {
    await page.goto(CLIENT);
    await page.fill('#me', me);
    return navigation(page, () => page.getByRole('button', { name: 'Sign in with your website' }).click());
  };

  it('chooser → Mastodon consent → back at the app with code, state and iss; the code redeems', async () => {
    const page = await freshPage();
    const seen: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest())
        seen.push(new URL(request.url()).origin + new URL(request.url()).pathname);
    });
    const chooser = await startAtApp(page, 'http://alice.test/');
    expect(chooser.status()).toBe(200);
    await shot(page, 'chooser');
    await expectNoAxeViolations(page, 'mastodon chooser');
    expect(await page.locator('h1').count()).toBe(1);
    expect(await page.locator('script').count()).toBe(0);
    const options = page.locator('button[name=candidate]');
    expect(await options.count()).toBe(2);
    expect(await page.locator('main').textContent()).toContain('You log in at toot.test');

    const consent = await navigation(page, () => options.nth(1).click());
    expect(consent.status()).toBe(200);
    expect(consent.url()).toMatch(/^https:\/\/toot\.test\/oauth\/authorize\?/);
    expect(await page.locator('body').textContent()).toContain('Logged in as @alice@toot.test');
    await shot(page, 'consent-at-mastodon');

    const landed = await navigation(page, () => page.getByRole('button', { name: 'Authorize' }).click());
    expect(landed.status()).toBe(200);
    await shot(page, 'callback');
    expect(seen).toEqual([
      CLIENT,
      `${issuer}authorize`,
      `${issuer}signin/choose`,
      'https://toot.test/oauth/authorize',
      'https://toot.test/oauth/authorize',
      // The server's own callback (mix-up defence, RFC 9700 §4.4.2.2).
      `${issuer}signin/mastodon/callback/toot.test`,
      REDIRECT,
    ]);
    const params = new URL(page.url()).searchParams;
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(issuer);
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
    expect(await redeemed.json()).toEqual({ me: 'http://alice.test/' });
    expect(mastodon.revocations.filter((one) => one.host === 'toot.test')).toHaveLength(1);
  });

  it('a Mastodon profile that does not link back: a plain-words page naming the host, before leaving', async () => {
    const page = await freshPage();
    const response = await startAtApp(page, 'http://bob.test/');
    expect(response.status()).toBe(400);
    await shot(page, 'no-back-link');
    await expectNoAxeViolations(page, 'mastodon no back-link');
    expect(new URL(page.url()).origin).toBe(new URL(issuer).origin);
    expect(await page.locator('h1').textContent()).toBe('Mastodon did not sign you in');
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('social.test');
    expect(text).toContain('does not link back to http://bob.test/');
    expect(await page.locator('script').count()).toBe(0);
  });
});
