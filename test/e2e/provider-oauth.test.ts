/**
 * Signing in with GitHub, GitLab and Forgejo in real Chromium, JavaScript off (PROTOCOL §9.1): a
 * relying party's form sends the visitor to Latchkey, which checks the public profile, sends them
 * to the provider stand-in's "Authorize" page, takes the code back at /signin/<id>/callback and
 * returns them to the app with code, state and iss; the app redeems the code server-side.
 *
 * - GitHub: the site links GitHub and Forgejo accounts → the chooser → GitHub → Latchkey's consent
 *   page (the app asks for scope) → an access token.
 * - GitLab: one link → straight to GitLab → back at the app → `me`.
 * - Forgejo: the profile does not link back → the plain-words page before leaving; the person fixes
 *   the profile and tries again → signed in.
 *
 * Chromium reaches the made-up hosts through `--host-resolver-rules`: each stand-in's hosts to its
 * port, every other *.test host to the fixture web. Every page is screenshotted
 * (test/artifacts/screenshots/provider-oauth-*.png).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { RunningServer } from '../../src/server.js';
import { type ForgejoStandIn, startForgejo } from '../fixtures/providers/forgejo.js';
import { type GitHubStandIn, startGitHub } from '../fixtures/providers/github.js';
import { type GitLabStandIn, startGitLab } from '../fixtures/providers/gitlab.js';
import { type FixtureWeb, homepage, type Page as SitePage, startFixtureWeb } from '../fixtures/sites.js';
import { axeContext, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, button, launchBrowser, navigation, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';

const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const MICROPUB = 'http://app.test/micropub/';
const MICROPUB_REDIRECT = 'http://app.test/micropub/callback';
const STATE = 'st-provider &=?';
const VERIFIER = `${'p'.repeat(20)}${'R'.repeat(23)}`;

function appPage(issuer: string, clientId: string, redirectUri: string, scope?: string): SitePage {
  const hidden: Record<string, string> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    state: STATE,
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
    ...(scope ? { scope } : {}),
  };
  return {
    body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test App</title></head><body>
<div class="h-app"><h1><a class="u-url p-name" href="${clientId}">Test App</a></h1></div>
<form method="get" action="${issuer}authorize">
${Object.entries(hidden)
  .map(([name, value]) => `<input type="hidden" name="${name}" value="${value.replace(/&/g, '&amp;')}">`)
  .join('\n')}
<label for="me">Your website</label> <input id="me" name="me" type="text">
<button type="submit">Sign in with your website</button></form></body></html>`,
  };
}

const landing: SitePage = {
  body: '<!doctype html><html lang="en"><head><title>Back at the app</title></head><body><h1>Back at the app</h1></body></html>',
};

describe.skipIf(!browserAvailable)('signing in with GitHub, GitLab and Forgejo in Chromium', () => {
  let web: FixtureWeb;
  let github: GitHubStandIn;
  let gitlab: GitLabStandIn;
  let forgejo: ForgejoStandIn;
  let server: RunningServer;
  let browser: Browser;
  let issuer: string;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    web = await startFixtureWeb();
    [github, gitlab, forgejo] = await Promise.all([startGitHub(), startGitLab(), startForgejo()]);
    server = await startTestServer({
      connectTo: [...web.connectTo, ...github.connectTo, ...gitlab.connectTo, ...forgejo.connectTo],
      providers: { github: github.config, gitlab: gitlab.config, forgejo: forgejo.config },
    });
    issuer = server.services.config.publicUrl;
    // The callback URLs registered at each provider, now that the issuer's port is known.
    github.app.redirectUri = new URL('signin/github/callback', issuer).href;
    gitlab.app.redirectUri = new URL('signin/gitlab/callback', issuer).href;
    forgejo.app.redirectUri = new URL('signin/forgejo/callback', issuer).href;
    for (const standIn of [github, gitlab, forgejo]) standIn.consentPage = true;

    const rules = [
      ...github.hostRules,
      ...gitlab.hostRules,
      ...forgejo.hostRules,
      `MAP *.test 127.0.0.1:${web.fixture.port}`,
    ].join(',');
    browser = await launchBrowser([`--host-resolver-rules=${rules}`]);

    web.page(CLIENT, appPage(issuer, CLIENT, REDIRECT));
    web.page(MICROPUB, appPage(issuer, MICROPUB, MICROPUB_REDIRECT, 'profile create'));
    web.page(REDIRECT, landing);
    web.page(MICROPUB_REDIRECT, landing);
    web.page(
      'http://alice.test/',
      homepage(
        'Alice',
        '<a rel="me" href="https://github.test/alice">GitHub</a><a rel="me" href="https://codeberg.test/alice">Codeberg</a>',
      ),
    );
    github.account('alice', { bio: 'I write at https://alice.test/ now.' });
    forgejo.account('alice', { website: 'http://alice.test/' });
    web.page('http://bob.test/', homepage('Bob', '<a rel="me" href="https://gitlab.test/bob">GitLab</a>'));
    gitlab.account('bob', { website_url: 'bob.test' });
    web.page(
      'http://carol.test/',
      homepage('Carol', '<a rel="me" href="https://codeberg.test/carol">Codeberg</a>'),
    );
    forgejo.account('carol', { website: 'https://carol.example/' });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await Promise.all([github?.close(), gitlab?.close(), forgejo?.close()]);
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
    page.screenshot({ path: screenshotPath(`provider-oauth-${name}`), fullPage: true });

  const startAtApp = async (page: Page, appUrl: string, me: string) => {
    await page.goto(appUrl);
    await page.fill('#me', me);
    return navigation(page, () => button(page, 'Sign in with your website').click());
  };

  /** A Latchkey page: on the issuer, one h1, no script (E1 pages work without JavaScript). */
  const latchkeyPage = async (page: Page, name: string, h1: string) => {
    await shot(page, name);
    expect(new URL(page.url()).origin).toBe(new URL(issuer).origin);
    expect(await page.locator('h1').count()).toBe(1);
    expect((await page.locator('h1').textContent())?.trim()).toBe(h1);
    expect(await page.locator('script').count()).toBe(0);
    await expectNoAxeViolations(page, name);
  };

  const redeem = async (code: string, clientId: string, redirectUri: string) => {
    const res = await fetch(new URL('/token', issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        client_id: clientId,
        redirect_uri: redirectUri,
        code_verifier: VERIFIER,
      }),
    });
    return (await res.json()) as Record<string, unknown>;
  };

  it('GitHub: chooser → GitHub’s authorize page → Latchkey consent → back at the app; an access token', async () => {
    const page = await freshPage();
    const seen: string[] = [];
    page.on('request', (request) => {
      if (request.isNavigationRequest())
        seen.push(new URL(request.url()).origin + new URL(request.url()).pathname);
    });
    const chooser = await startAtApp(page, MICROPUB, 'http://alice.test/');
    expect(chooser.status()).toBe(200);
    await latchkeyPage(page, 'github-chooser', 'How do you want to prove http://alice.test/?');
    const options = page.locator('button[name=candidate]');
    expect(await options.count()).toBe(2);
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('GitHub');
    expect(main).toContain('Forgejo');

    const atGitHub = await navigation(page, () => options.nth(0).click());
    expect(atGitHub.status()).toBe(200);
    expect(atGitHub.url()).toMatch(/^http:\/\/github\.test\/login\/oauth\/authorize\?/);
    await shot(page, 'github-authorize');
    const consent = await navigation(page, () => button(page, 'Authorize').click());
    expect(consent.status()).toBe(200);
    await latchkeyPage(page, 'github-consent', 'Allow Test App to act for you?');
    expect(await page.locator('main').textContent()).toContain('It asks for permission to');

    const landed = await navigation(page, () => button(page, 'Allow').click());
    expect(landed.status()).toBe(200);
    await shot(page, 'github-callback');
    const params = new URL(page.url()).searchParams;
    expect(new URL(page.url()).origin + new URL(page.url()).pathname).toBe(MICROPUB_REDIRECT);
    expect(params.get('state')).toBe(STATE);
    expect(params.get('iss')).toBe(issuer);
    expect(seen).toEqual([
      MICROPUB,
      `${issuer}authorize`,
      `${issuer}signin/choose`,
      'http://github.test/login/oauth/authorize',
      'http://github.test/login/oauth/authorize',
      `${issuer}signin/github/callback`,
      `${issuer}signin/consent`,
      MICROPUB_REDIRECT,
    ]);
    const token = await redeem(params.get('code') ?? '', MICROPUB, MICROPUB_REDIRECT);
    expect(token).toMatchObject({ me: 'http://alice.test/', scope: 'profile create', token_type: 'Bearer' });
    expect(github.revoked).toEqual(github.issued);
  });

  it('GitLab: one link → GitLab’s authorize page → back at the app with code, state and iss', async () => {
    gitlab.loginAs = 'bob';
    const page = await freshPage();
    const atGitLab = await startAtApp(page, CLIENT, 'http://bob.test/');
    expect(atGitLab.status()).toBe(200);
    expect(atGitLab.url()).toMatch(/^http:\/\/gitlab\.test\/oauth\/authorize\?/);
    expect(new URL(atGitLab.url()).searchParams.get('scope')).toBe('read_user');
    await shot(page, 'gitlab-authorize');
    const landed = await navigation(page, () => button(page, 'Authorize').click());
    expect(landed.status()).toBe(200);
    await shot(page, 'gitlab-callback');
    const url = new URL(page.url());
    expect(url.origin + url.pathname).toBe(REDIRECT);
    expect(url.searchParams.get('state')).toBe(STATE);
    expect(url.searchParams.get('iss')).toBe(issuer);
    expect(await redeem(url.searchParams.get('code') ?? '', CLIENT, REDIRECT)).toEqual({
      me: 'http://bob.test/',
    });
    expect(gitlab.revoked).toEqual(gitlab.issued);
  });

  it('Forgejo: no back-link → a plain-words page before leaving; fixed → signed in', async () => {
    const page = await freshPage();
    const refused = await startAtApp(page, CLIENT, 'http://carol.test/');
    expect(refused.status()).toBe(400);
    await latchkeyPage(page, 'forgejo-no-back-link', 'Forgejo did not sign you in');
    expect(await page.locator('main').textContent()).toContain(
      "Your site links to codeberg.test/carol, but that Forgejo profile does not link back to http://carol.test/. Add your site to your Forgejo profile's Website field.",
    );
    expect(forgejo.requests.some((r) => r.path === '/login/oauth/authorize')).toBe(false);

    forgejo.account('carol', { website: 'https://carol.test' });
    forgejo.loginAs = 'carol';
    const atForgejo = await startAtApp(page, CLIENT, 'http://carol.test/');
    expect(atForgejo.status()).toBe(200);
    expect(atForgejo.url()).toMatch(/^http:\/\/codeberg\.test\/login\/oauth\/authorize\?/);
    await shot(page, 'forgejo-authorize');
    const landed = await navigation(page, () => button(page, 'Authorize').click());
    expect(landed.status()).toBe(200);
    await shot(page, 'forgejo-callback');
    const url = new URL(page.url());
    expect(url.origin + url.pathname).toBe(REDIRECT);
    expect(await redeem(url.searchParams.get('code') ?? '', CLIENT, REDIRECT)).toEqual({
      me: 'http://carol.test/',
    });
  });
});
