/**
 * The rules every OAuth provider method keeps (PROTOCOL §9.1, SECURITY E5 F4 F5 F9 F11), run for
 * one provider against its stand-in (test/fixtures/providers/) on every store: a relying party
 * signs a visitor in end to end in-process, with and without scope; the public back-link check
 * before the provider is visited; URL equivalence and whole-token bios; look-alike links; another
 * account; a reused, foreign or missing `state`; the provider token revoked; a provider that is
 * down, slow or talks garbage. Each provider's `<id>.test.ts` calls `providerSuite` with its kit.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { s256 } from '../../src/indieauth/pkce.js';
import type { StandInCore, TroubleAt, TroubleKind } from '../fixtures/providers/stand-in.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { createTestApp, form, type TestApp } from './app.js';
import { storeTargets } from './stores.js';
import { type Page, Walker } from './walker.js';

export const ISSUER = 'https://login.test/';
export const CLIENT = 'http://app.test/';
export const REDIRECT = 'http://app.test/callback';
export const VERIFIER = `${'k'.repeat(20)}${'Q'.repeat(23)}`;
export const SITE = 'http://alice.test/';

/** What the suite needs to know about one provider and its stand-in. */
export interface ProviderKit<S extends StandInCore> {
  id: 'github' | 'gitlab' | 'forgejo';
  /** The provider's name on pages: "GitHub". */
  name: string;
  /** The back-link page's advice, e.g. "Add your site to your GitHub profile's website field." */
  hint: string;
  start(): Promise<S>;
  providers(standIn: S): Config['providers'];
  /** The instance as people see it: `github.test`. */
  host(standIn: S): string;
  /** The authorization endpoint, without query. */
  authorizeEndpoint(standIn: S): string;
  /** The rel=me link to an account. */
  link(standIn: S, account: string): string;
  /** Creates or replaces an account with its website field and free text (bio, description). */
  profile(standIn: S, account: string, fields: { website?: string; text?: string }): void;
  /** Checks the provider-specific authorization parameters (allow_signup, scope…). */
  expectAuthorizeParams(params: URLSearchParams): void;
  /** A top-level path of the provider that is not an account. */
  reserved: string;
  /** True when the provider has a revocation API Latchkey calls. */
  revokes: boolean;
  /** The words its token endpoint uses for a used code (its real error answer). */
  usedCodeWords: string;
}

function authorizeUrl(extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  const all: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    state: 'rp-state',
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [key, value] of Object.entries(all)) if (value !== undefined) params.set(key, value);
  return `/authorize?${params}`;
}

function appParams(page: Page): URLSearchParams {
  expect(page.location, page.text.slice(0, 500)).toBeDefined();
  const url = new URL(page.location as string);
  expect(url.origin + url.pathname).toBe(REDIRECT);
  return url.searchParams;
}

export function providerSuite<S extends StandInCore>(kit: ProviderKit<S>): void {
  describe.each(storeTargets)(`${kit.name} sign-in ($name)`, (target) => {
    let web: FixtureWeb;
    let standIn: S;
    let t: TestApp;
    let walker: Walker;
    const callbackPath = `/signin/${kit.id}/callback`;

    beforeAll(async () => {
      web = await startFixtureWeb();
      standIn = await kit.start();
    });
    afterAll(async () => {
      await standIn?.close();
      await web?.close();
    });
    beforeEach(async () => {
      web.pages.clear();
      standIn.reset();
      standIn.loginAs = 'alice';
      web.page(CLIENT, clientApp('Test App', CLIENT));
      web.page(SITE, homepage('Alice', `<a rel="me" href="${kit.link(standIn, 'alice')}">${kit.name}</a>`));
      kit.profile(standIn, 'alice', { website: SITE });
      t = await createTestApp(target, {
        connectTo: [...web.connectTo, ...standIn.connectTo],
        config: { providers: kit.providers(standIn) },
      });
      walker = new Walker(t.app);
    });
    afterEach(async () => {
      await t?.close();
    });

    const authorizeRequests = () =>
      standIn.requests.filter(
        (r) => r.path.endsWith('/oauth/authorize') || r.path === '/login/oauth/authorize',
      );

    /** From GET /authorize to the provider's authorization URL. */
    async function toProvider(extra: Record<string, string | undefined> = {}): Promise<URL> {
      const start = await walker.get(authorizeUrl({ me: SITE, ...extra }));
      expect(start.status, start.text.slice(0, 600)).toBe(302);
      const upstream = new URL(start.location ?? '');
      expect(upstream.origin + upstream.pathname).toBe(kit.authorizeEndpoint(standIn));
      return upstream;
    }

    /** The provider sends the browser back: the URL of Latchkey's callback with code and state. */
    async function providerAnswer(upstream: URL): Promise<URL> {
      const back = await standIn.visit(upstream.href);
      expect([302, 303], back.body.slice(0, 300)).toContain(back.status);
      const callback = new URL(back.location ?? '');
      expect(callback.origin + callback.pathname).toBe(`${ISSUER.replace(/\/$/, '')}${callbackPath}`);
      return callback;
    }

    const atCallback = (callback: URL, as: Walker = walker) => as.get(callback.pathname + callback.search);

    async function redeem(code: string) {
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
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    }

    it(`signs a visitor in end to end: ${kit.name} with PKCE and state, the code redeemed for me, the ${kit.name} token not kept`, async () => {
      const upstream = await toProvider();
      const params = upstream.searchParams;
      expect(params.get('client_id')).toBe(standIn.app.clientId);
      expect(params.get('redirect_uri')).toBe(`${ISSUER}signin/${kit.id}/callback`);
      expect(params.get('state')?.length ?? 0).toBeGreaterThanOrEqual(32);
      expect(params.get('code_challenge_method')).toBe('S256');
      expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      kit.expectAuthorizeParams(params);

      const done = await atCallback(await providerAnswer(upstream));
      expect(done.status, done.text.slice(0, 600)).toBe(302);
      const back = appParams(done);
      expect(back.get('state')).toBe('rp-state');
      expect(back.get('iss')).toBe(ISSUER);

      // Latchkey redeemed the provider's code with the verifier behind the challenge it sent.
      const tokenRequest = standIn.requests.find((r) => r.method === 'POST' && /token$/.test(r.path));
      const sent = new URLSearchParams(tokenRequest?.body ?? '');
      expect(s256(sent.get('code_verifier') ?? '')).toBe(params.get('code_challenge'));
      expect(sent.get('redirect_uri')).toBe(`${ISSUER}signin/${kit.id}/callback`);

      // PROTOCOL §9.1: the provider token is revoked where the provider can, and kept nowhere.
      expect(standIn.issued).toHaveLength(1);
      expect(standIn.revoked).toEqual(kit.revokes ? standIn.issued : []);
      const stored = JSON.stringify(
        await t.services.store.db.selectFrom('signin_attempts').selectAll().execute(),
      );
      expect(stored).not.toContain(standIn.issued[0]);

      const redeemed = await redeem(back.get('code') ?? '');
      expect(redeemed.status).toBe(200);
      expect(redeemed.body).toEqual({ me: SITE });
    });

    it('with scope, goes through consent to an access token', async () => {
      const done = await atCallback(await providerAnswer(await toProvider({ scope: 'profile create' })));
      expect(done.status).toBe(200);
      expect(done.text).toContain('It asks for permission to');
      const approved = await walker.post('/signin/consent', {
        step: done.step('/signin/consent'),
        decision: 'approve',
        'scope.profile': 'on',
        'scope.create': 'on',
      });
      expect(approved.status).toBe(303);
      const redeemed = await redeem(appParams(approved).get('code') ?? '');
      expect(redeemed.status).toBe(200);
      expect(redeemed.body).toMatchObject({ me: SITE, scope: 'profile create', token_type: 'Bearer' });
      expect(typeof redeemed.body.access_token).toBe('string');
    });

    it(`reports a missing back-link before the person is sent to ${kit.name}`, async () => {
      kit.profile(standIn, 'alice', { website: 'http://evil.test/', text: 'Just me.' });
      const page = await walker.get(authorizeUrl({ me: SITE }));
      expect(page.status).toBe(400);
      expect(page.location).toBeUndefined();
      expect(page.text).toContain(`${kit.name} did not sign you in`);
      expect(page.text).toContain(
        `Your site links to ${kit.host(standIn)}/alice, but that ${kit.name} profile does not link back to ${SITE}. ${kit.hint}`,
      );
      expect(authorizeRequests()).toHaveLength(0);
    });

    it(`says so when the linked ${kit.name} account does not exist`, async () => {
      web.page(SITE, homepage('Alice', `<a rel="me" href="${kit.link(standIn, 'nobody')}">x</a>`));
      const page = await walker.get(authorizeUrl({ me: SITE }));
      expect(page.status).toBe(400);
      expect(page.text).toContain(`There is no ${kit.name} account nobody at ${kit.host(standIn)}.`);
    });

    it('F4: a look-alike URL in the profile text does not prove the site; a substring never does', async () => {
      kit.profile(standIn, 'alice', {
        text: 'Home: http://alice.test.evil.test/ and https://evil.test/alice.test/ and xhttp://alice.test/',
      });
      const page = await walker.get(authorizeUrl({ me: SITE }));
      expect(page.status).toBe(400);
      expect(page.text).toContain('does not link back to http://alice.test/');
      expect(authorizeRequests()).toHaveLength(0);
    });

    it('F4: several URLs on one profile are all tried; http/https, trailing slash, case and a missing scheme match', async () => {
      kit.profile(standIn, 'alice', { text: 'Elsewhere: https://evil.test/ — and (alice.test/), thanks' });
      const done = await atCallback(await providerAnswer(await toProvider()));
      expect(appParams(done).get('code')).toBeTruthy();
      for (const website of [
        'alice.test',
        'https://alice.test',
        'HTTP://ALICE.TEST/',
        ' http://alice.test/ ',
      ]) {
        kit.profile(standIn, 'alice', { website });
        walker = new Walker(t.app); // a browser not yet signed in, so no "Continue as"
        await toProvider();
      }
    });

    it('F4/F11: the authenticated profile must still link back after the round trip', async () => {
      const upstream = await toProvider();
      kit.profile(standIn, 'alice', { website: '' });
      const refused = await atCallback(await providerAnswer(upstream));
      expect(refused.status).toBe(400);
      expect(refused.text).toContain(`that ${kit.name} profile does not link back to ${SITE}`);
      expect(standIn.revoked).toEqual(kit.revokes ? standIn.issued : []);
    });

    it(`F5: look-alike ${kit.name} links and its own pages are not offered`, async () => {
      const host = kit.host(standIn);
      const lookAlikes = [
        `http://${host}.evil.test/alice`,
        `http://evil.test/${host}/alice`,
        `http://evil.test/?u=${host}/alice`,
        `http://${host}/alice/project`,
        `http://${host}/alice?tab=repositories`,
        `http://${host}/alice#top`,
        `http://${host}:8080/alice`,
        `http://someone@${host}/alice`,
        `http://${host}/${kit.reserved}`,
        `ftp://${host}/alice`,
        `http://${host}//alice`,
      ];
      web.page(
        SITE,
        homepage('Alice', lookAlikes.map((href) => `<a rel="me" href="${href}">x</a>`).join('')),
      );
      const page = await walker.get(authorizeUrl({ me: SITE }));
      expect(page.status).toBe(400);
      expect(page.text).toContain('found no way to sign you in');
      expect(standIn.requests).toHaveLength(0);
    });

    it(`F11: logging in to ${kit.name} as another account than the link names is refused`, async () => {
      kit.profile(standIn, 'mallory', { website: SITE });
      standIn.loginAs = 'mallory';
      const refused = await atCallback(await providerAnswer(await toProvider()));
      expect(refused.status).toBe(400);
      expect(refused.location).toBeUndefined();
      expect(refused.text).toContain(
        `You logged in to ${kit.name} as mallory, but your site links to ${kit.host(standIn)}/alice.`,
      );
      expect(standIn.revoked).toEqual(kit.revokes ? standIn.issued : []);
    });

    it(`F11: account names compare case-insensitively (${kit.name} names are)`, async () => {
      web.page(SITE, homepage('Alice', `<a rel="me" href="${kit.link(standIn, 'ALICE')}/">x</a>`));
      const done = await atCallback(await providerAnswer(await toProvider()));
      expect(appParams(done).get('code')).toBeTruthy();
    });

    it('E5/F9: the callback needs this browser’s unused state for this provider', async () => {
      const callback = await providerAnswer(await toProvider());
      const expired = 'This sign-in page has expired';
      const missing = new URL(callback);
      missing.searchParams.delete('state');
      expect((await atCallback(missing)).text).toContain(expired);
      const wrong = new URL(callback);
      wrong.searchParams.set('state', 'x'.repeat(43));
      expect((await atCallback(wrong)).text).toContain(expired);
      // Another browser session cannot use this one's state (E5, F9).
      expect((await atCallback(callback, new Walker(t.app))).text).toContain(expired);
      // Another method's callback cannot finish this provider's step (F9).
      const elsewhere = new URL(callback);
      elsewhere.pathname = '/signin/indieauth/callback';
      expect((await atCallback(elsewhere)).text).toContain(expired);
      // None of those used it up: this browser finishes once, and only once.
      const done = await atCallback(callback);
      expect(appParams(done).get('code')).toBeTruthy();
      const replay = await atCallback(callback);
      expect(replay.status).toBe(400);
      expect(replay.text).toContain(expired);
    });

    it(`the ${kit.name} refusal of a used code and a denial are plain words naming ${kit.name}`, async () => {
      const callback = await providerAnswer(await toProvider());
      for (const grant of standIn.codes.values()) grant.used = true;
      const refused = await atCallback(callback);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain(`${kit.name} did not sign you in`);
      expect(refused.text).toContain(kit.usedCodeWords);

      standIn.deny = true;
      const denied = await atCallback(await providerAnswer(await toProvider()));
      expect(denied.status).toBe(400);
      expect(denied.text).toContain(`${kit.name} did not sign you in`);
      expect(denied.text).toContain('access_denied');
    });

    const slow = /did not (?:answer|complete) within \d/;
    const troubles: Array<[TroubleAt, TroubleKind, string | RegExp]> = [
      ['public', 'down', 'the connection was closed unexpectedly'],
      ['public', 'slow', slow],
      ['public', 'garbage', 'its answer was not JSON'],
      ['public', 'error', 'it answered HTTP 502'],
      ['token', 'down', 'the connection was closed unexpectedly'],
      ['token', 'slow', slow],
      ['token', 'garbage', 'its answer was not a valid token response'],
      ['token', 'error', 'it answered HTTP 502'],
      ['user', 'garbage', 'its answer was not JSON'],
      ['user', 'error', 'it answered HTTP 502'],
    ];
    it.each(troubles)(
      `${kit.name} %s endpoint %s → a plain-words page naming ${kit.name}, never a 500`,
      async (at, kind, words) => {
        let page: Page;
        if (at === 'public') {
          standIn.trouble = { at, kind };
          page = await walker.get(authorizeUrl({ me: SITE }));
        } else {
          const callback = await providerAnswer(await toProvider());
          standIn.trouble = { at, kind };
          page = await atCallback(callback);
        }
        expect(page.status).toBe(400);
        expect(page.headers.get('content-type')).toContain('text/html');
        expect(page.text).toContain(`${kit.name} did not sign you in`);
        expect(page.text).toMatch(words);
        expect(page.location).toBeUndefined();
      },
    );
  });
}
