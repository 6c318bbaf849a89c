/**
 * The account page end to end in-process (PROTOCOL §13): a person signs in to `/account` through
 * Latchkey's own sign-in (real SMTP server, fixture sites on loopback), sees the apps holding grants
 * for their site, revokes one (its access and refresh tokens stop at GET /token, /introspect and the
 * refresh grant — SECURITY D4, D9), revokes all, reads their sign-ins with evidence, and signs out
 * everywhere ("Continue as" is no longer offered). E4: forms without the session's CSRF token, with
 * another's, or from another site are refused; another site's grant cannot be revoked or seen.
 * D9 across two instances on one store. Both stores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { s256 } from '../../src/indieauth/pkce.js';
import { silentLogger } from '../../src/log.js';
import { createServices, type Services } from '../../src/services.js';
import { type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { createTestApp, form, type TestApp } from '../helpers/app.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';
import { storeTargets } from '../helpers/stores.js';
import { type Page, Walker } from '../helpers/walker.js';

const ISSUER = 'https://login.test/';
const NOTES = 'http://app.test/';
const SECOND = 'http://other.test/';
const BOB = 'http://bob.test/';
const ALICE = 'http://alice.test/';
const VERIFIER = `${'v'.repeat(30)}${'W'.repeat(13)}`;

interface Tokens {
  access: string;
  refresh: string;
}

describe.each(storeTargets)('account page ($name)', (target) => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let t: TestApp;
  let secret: string;

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await web?.close();
    await smtp?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    web.page(NOTES, {
      type: 'application/json',
      body: JSON.stringify({
        client_id: NOTES,
        client_name: 'Pocket <Notes>',
        logo_uri: 'https://cdn.example/notes.png',
        redirect_uris: [`${NOTES}callback`],
      }),
    });
    web.page(SECOND, {
      body: `<!doctype html><html><body><div class="h-app"><a class="u-url p-name" href="${SECOND}">Second App</a></div></body></html>`,
    });
    web.page(BOB, homepage('Bob', '<link rel="me" href="mailto:bob@bob.test">'));
    web.page(ALICE, homepage('Alice', '<link rel="me" href="mailto:alice@alice.test">'));
    t = await createTestApp(target, { connectTo: web.connectTo, config: { smtpUrl: smtp.url } });
    secret = (await t.services.resourceServers.create(`account-${target.name}`)).secret;
  });
  afterEach(async () => {
    await t?.close();
  });

  /** Through the email method, or "Continue as" when the browser already proved `me`. */
  async function prove(walker: Walker, first: Page, me: string, address: string): Promise<Page> {
    if (first.body.includes('action="/signin/continue"') && first.text.includes('Continue as')) {
      return walker.post('/signin/continue', { step: first.step('/signin/continue'), me });
    }
    expect(first.text).toContain(`Your site links to ${address}`);
    const sent = await walker.post('/signin/step/email.send', {
      step: first.step('/signin/step/email.send'),
    });
    const mail = await smtp.nextMessage(address);
    // Quoted-printable: soft line breaks end in "=".
    expect(mail.raw.replace(/=\r?\n/g, '')).toContain(`${ISSUER}account`);
    return walker.post('/signin/step/email.verify', {
      step: sent.step('/signin/step/email.verify'),
      code: smtp.codeIn(mail),
    });
  }

  /** An app asks for `create`; the person approves; the app redeems the code for tokens. */
  async function grant(walker: Walker, client: string, me: string, address: string): Promise<Tokens> {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: client,
      redirect_uri: `${client}callback`,
      state: 's',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      scope: 'create',
      me,
    });
    const consent = await prove(walker, await walker.get(`/authorize?${query}`), me, address);
    expect(consent.text).toContain(`You can revoke this later at ${ISSUER}account`);
    const back = await walker.post('/signin/consent', {
      step: consent.step('/signin/consent'),
      decision: 'approve',
      'scope.create': 'on',
    });
    const code = new URL(back.location ?? '').searchParams.get('code') ?? '';
    const redeemed = await t.app.request(
      '/token',
      form({
        grant_type: 'authorization_code',
        code,
        client_id: client,
        redirect_uri: `${client}callback`,
        code_verifier: VERIFIER,
      }),
    );
    const body = (await redeemed.json()) as { access_token: string; refresh_token: string };
    expect(body.access_token).toBeTruthy();
    return { access: body.access_token, refresh: body.refresh_token };
  }

  /** GET /account → Latchkey's own sign-in (client_id = the issuer, PKCE, state) → back → the page. */
  async function openAccount(walker: Walker, me: string, address: string): Promise<Page> {
    const start = await walker.get(`/account?me=${encodeURIComponent(me)}`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.location ?? '');
    expect(authorize.searchParams.get('client_id')).toBe(ISSUER);
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${ISSUER}account/callback`);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const done = await prove(walker, await walker.get(authorize.pathname + authorize.search), me, address);
    expect(done.status).toBe(303);
    const back = new URL(done.location ?? '');
    expect(back.pathname).toBe('/account/callback');
    expect(back.searchParams.get('iss')).toBe(ISSUER);
    const landed = await walker.get(back.pathname + back.search);
    expect(landed.status).toBe(302);
    expect(landed.location).toBe(`${ISSUER}account`);
    const page = await walker.get('/account');
    expect(page.status).toBe(200);
    return page;
  }

  const csrfOf = (page: Page) => /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  const grantIds = (page: Page) =>
    [...page.body.matchAll(/name="grant" value="([^"]+)"/g)].map((m) => m[1] ?? '');

  async function works(tokens: Tokens, client: string) {
    const verify = await t.app.request('/token', { headers: { authorization: `Bearer ${tokens.access}` } });
    const introspect = await t.app.request(
      '/introspect',
      form({ token: tokens.access }, { authorization: `Bearer ${secret}` }),
    );
    const refreshed = await t.app.request(
      '/token',
      form({ grant_type: 'refresh_token', refresh_token: tokens.refresh, client_id: client }),
    );
    const active = ((await introspect.json()) as { active: boolean }).active;
    // A refresh rotates the refresh token: keep the new one, so later checks use a current token.
    if (refreshed.status === 200)
      tokens.refresh = ((await refreshed.json()) as { refresh_token: string }).refresh_token;
    return { verify: verify.status, active, refresh: refreshed.status };
  }

  it('PROTOCOL §13, D9: sign in, see the apps, revoke one (access and refresh end at once), revoke all, sign-ins, sign out everywhere', async () => {
    const bob = new Walker(t.app);
    const notes = await grant(bob, NOTES, BOB, 'bob@bob.test');
    const second = await grant(bob, SECOND, BOB, 'bob@bob.test');

    const page = await openAccount(bob, BOB, 'bob@bob.test');
    // The account sign-in came from "Continue as": recorded as not fresh (passkeys will need fresh).
    const sessions = await t.services.store.db.selectFrom('account_sessions').selectAll().execute();
    expect(sessions.map((s) => [s.me, s.fresh])).toEqual([[BOB, 0]]);
    expect(page.body.match(/<h1/g)).toHaveLength(1);
    expect(page.text).toContain(`Signed in as ${BOB} (email)`);
    expect(page.body).toContain('Pocket &lt;Notes&gt;'); // E7: escaped, as recorded at grant time
    expect(page.body).toContain('src="https://cdn.example/notes.png"');
    expect(page.text).toContain('Second App');
    expect(page.text).toContain(NOTES);
    expect(page.text).toContain(SECOND);
    expect(page.text).toContain('(you proved your site by email)');
    expect(page.text).toContain('create');
    expect(page.text).toContain('Passkeys');
    // Recent sign-ins with their evidence: the email proof, then each "Continue as".
    expect(page.text).toContain('Recent sign-ins');
    expect(page.text).toMatch(/bob@bob\.test/);
    expect(page.text).toContain(`This browser signed in as ${BOB} earlier (email)`);
    expect(page.text).toContain(`Latchkey (this account page)`);
    // The browser signed in as the site.
    expect(page.text).toMatch(/Proved .* by Email/i);
    const ids = grantIds(page);
    expect(ids).toHaveLength(2);

    expect(await works(notes, NOTES)).toEqual({ verify: 200, active: true, refresh: 200 });
    // Revoke the Notes grant (the one whose card names Notes).
    const notesId = ids.find(
      (id) => page.body.indexOf(`value="${id}"`) > page.body.indexOf('Pocket &lt;Notes&gt;'),
    );
    const notesGrant = (await t.services.grants.list({ me: BOB })).find((g) => g.clientId === NOTES);
    expect(notesId).toBe(notesGrant?.id);
    const revoked = await bob.post('/account/revoke', { csrf: csrfOf(page), grant: notesGrant?.id ?? '' });
    expect(revoked.status).toBe(303);
    expect(revoked.location).toBe(`${ISSUER}account?done=revoked`);
    const after = await bob.get('/account?done=revoked');
    expect(after.text).toContain('Done: that app’s access is revoked');
    // Gone from the apps (the sign-in history still names it).
    expect(after.body.split('id="signins"')[0]).not.toContain('Pocket &lt;Notes&gt;');
    expect(grantIds(after)).toHaveLength(1);
    const live = (await t.services.grants.list({ me: BOB })).map((g) => g.clientId);
    expect(live).toEqual([SECOND]);
    const notesNow = await works(notes, NOTES);
    expect(notesNow).toEqual({ verify: 401, active: false, refresh: 400 });
    // The rotated refresh token of the revoked grant is dead too (D9: every token of the grant).
    const rows = await t.services.store.db
      .selectFrom('refresh_tokens')
      .select(['revoked_at'])
      .where('grant_id', '=', notesGrant?.id ?? '')
      .execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.revoked_at).not.toBeNull();
    expect(await works(second, SECOND)).toMatchObject({ verify: 200, active: true });

    // Revoke all.
    const all = await bob.post('/account/revoke-all', { csrf: csrfOf(after) });
    expect(all.location).toBe(`${ISSUER}account?done=revoked-all`);
    const empty = await bob.get('/account?done=revoked-all');
    expect(empty.text).toContain('Done: every app’s access is revoked');
    expect(empty.text).toContain(`No app holds access to ${BOB} right now.`);
    expect((await works(second, SECOND)).verify).toBe(401);

    // Sign out everywhere: no more "Continue as", and the account session ends.
    const out = await bob.post('/account/signout-everywhere', { csrf: csrfOf(empty) });
    expect(out.status).toBe(200);
    expect(out.text).toContain('Signed out everywhere');
    expect(await t.services.store.db.selectFrom('session_identities').selectAll().execute()).toEqual([]);
    expect(await t.services.store.db.selectFrom('account_sessions').selectAll().execute()).toEqual([]);
    expect((await bob.get('/account')).status).toBe(302);
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: NOTES,
      redirect_uri: `${NOTES}callback`,
      state: 's',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      me: BOB,
    });
    const again = await bob.get(`/authorize?${query}`);
    expect(again.text).not.toContain('Continue as');
    expect(again.text).toContain('Your site links to bob@bob.test');
  });

  it('a fresh proof on the account page is recorded as fresh, logged with its evidence; the callback checks state and iss', async () => {
    const walker = new Walker(t.app);
    const page = await openAccount(walker, BOB, 'bob@bob.test');
    const sessions = await t.services.store.db.selectFrom('account_sessions').selectAll().execute();
    expect(sessions.map((s) => [s.me, s.method, s.fresh])).toEqual([[BOB, 'email', 1]]);
    // The sign-in to the account page itself is listed: app Latchkey, method, evidence.
    const log = await t.services.store.db.selectFrom('signin_log').selectAll().execute();
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ me: BOB, client_id: ISSUER, method: 'email' });
    expect(page.text).toContain(log[0]?.evidence ?? 'missing');
    // The session cookie: __Host-, HttpOnly, SameSite=Lax, Secure on https.
    expect([...walker.cookies.keys()]).toContain('__Host-latchkey-account');
    // A callback without our state cookie, or with a wrong iss, is refused.
    const stranger = new Walker(t.app);
    expect(
      (await stranger.get(`/account/callback?code=x&state=y&iss=${encodeURIComponent(ISSUER)}`)).status,
    ).toBe(400);
    expect((await stranger.get('/account/callback?code=x&state=y&iss=https://evil.example/')).status).toBe(
      400,
    );
    // Sign out of the page: the session row goes, the next visit signs in again.
    const out = await walker.post('/account/signout', { csrf: csrfOf(page) });
    expect(out.text).toContain('Signed out');
    expect((await walker.get('/account')).status).toBe(302);
  });

  it('E4: a form without, or with a wrong or another session’s CSRF token, or from another site, is refused; a grant of another me is refused', async () => {
    const bob = new Walker(t.app);
    await grant(bob, NOTES, BOB, 'bob@bob.test');
    const bobPage = await openAccount(bob, BOB, 'bob@bob.test');
    const alice = new Walker(t.app);
    await grant(alice, SECOND, ALICE, 'alice@alice.test');
    const alicePage = await openAccount(alice, ALICE, 'alice@alice.test');
    const [bobGrant] = grantIds(bobPage);
    const [aliceGrant] = grantIds(alicePage);
    expect(bobGrant && aliceGrant).toBeTruthy();

    // Alice's page shows nothing of Bob's.
    expect(alicePage.text).not.toContain('bob.test');
    expect(alicePage.text).not.toContain(NOTES);
    expect(alicePage.text).not.toContain('Pocket');
    expect(alicePage.body).not.toContain(bobGrant);
    expect(bobPage.text).not.toContain('alice.test');

    const refusals = [
      await bob.post('/account/revoke', { grant: bobGrant ?? '' }),
      await bob.post('/account/revoke', { csrf: 'not-the-token', grant: bobGrant ?? '' }),
      await bob.post('/account/revoke', { csrf: csrfOf(alicePage), grant: bobGrant ?? '' }),
      await bob.post(
        '/account/revoke',
        { csrf: csrfOf(bobPage), grant: bobGrant ?? '' },
        { origin: 'https://evil.example' },
      ),
      await bob.post('/account/revoke-all', { csrf: '' }),
      await bob.post('/account/signout-everywhere', { csrf: csrfOf(alicePage) }),
      await new Walker(t.app).post('/account/revoke-all', { csrf: csrfOf(bobPage) }),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('This form could not be used');
    }
    // Bob cannot revoke Alice's grant with his own valid token: refused, and it stays live.
    const foreign = await bob.post('/account/revoke', { csrf: csrfOf(bobPage), grant: aliceGrant ?? '' });
    expect(foreign.status).toBe(404);
    expect(foreign.text).toContain('That app is not among the apps with access to your site');
    expect(foreign.text).not.toContain('alice.test');
    expect((await t.services.grants.list({ me: ALICE })).map((g) => g.id)).toEqual([aliceGrant]);
    expect((await t.services.grants.list({ me: BOB })).map((g) => g.id)).toEqual([bobGrant]);
    // Bob's "Sign out everywhere" ends Bob's identities only.
    await bob.post('/account/signout-everywhere', { csrf: csrfOf(bobPage) });
    const left = await t.services.store.db.selectFrom('session_identities').select('me').execute();
    expect(left.map((r) => r.me)).toEqual([ALICE]);
    expect((await alice.get('/account')).status).toBe(200);
  });
});

const dir = mkdtempSync(join(tmpdir(), 'latchkey-account-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(storeTargets)('account page on two instances ($name)', (target) => {
  it('D9, D4: a revoke on one instance’s account page ends access and refresh tokens on the other at once', async () => {
    const created = target.name === 'sqlite' ? undefined : await target.create();
    const url = created?.url ?? `sqlite:${join(dir, 'shared.db')}`;
    const instances: Services[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        instances.push(
          await createServices(testConfig({ databaseUrl: url, publicUrl: ISSUER }), {
            logger: silentLogger(),
          }),
        );
      }
      const [a, b] = instances as [Services, Services];
      const appB = buildApp(b);
      const code = await b.codes.issue({
        clientId: NOTES,
        redirectUri: `${NOTES}callback`,
        codeChallenge: s256(VERIFIER),
        me: BOB,
        scope: ['create'],
        authMethod: 'email',
        clientName: 'Pocket Notes',
      });
      const redeemed = await b.codes.redeem('token', {
        code,
        clientId: NOTES,
        redirectUri: `${NOTES}callback`,
        codeVerifier: VERIFIER,
      });
      const access = redeemed?.tokens?.accessToken ?? '';
      const refresh = redeemed?.tokens?.refreshToken ?? '';
      expect(refresh).toBeTruthy();
      const verify = () => appB.request('/token', { headers: { authorization: `Bearer ${access}` } });
      expect((await verify()).status).toBe(200);

      const session = await a.account.start({ me: BOB, authMethod: 'email', proofFresh: true });
      const overview = await a.account.overview(session);
      expect(overview.grants.map((g) => [g.clientId, g.clientName])).toEqual([[NOTES, 'Pocket Notes']]);
      expect(await a.account.revoke(session, overview.grants[0]?.id ?? '')).toBe('revoked');

      expect((await verify()).status).toBe(401);
      const refreshed = await appB.request(
        '/token',
        form({ grant_type: 'refresh_token', refresh_token: refresh, client_id: NOTES }),
      );
      expect(refreshed.status).toBe(400);
      // The session lives in the store: the other instance knows it too.
      expect((await b.account.open(session.id))?.me).toBe(BOB);
    } finally {
      for (const s of instances) await s.close();
      await created?.dispose();
    }
  });
});
