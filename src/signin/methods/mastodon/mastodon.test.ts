/**
 * Mastodon sign-in (PROTOCOL §9.1) end to end in-process: real store (both), real fetcher reaching
 * the fixture web (http) and the stand-in Mastodon servers (https with the test CA, trusted through
 * NODE_EXTRA_CA_CERTS — vitest.config.ts) on loopback. Security rows are named after SECURITY.md ids.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  linkHtml,
  type MastodonStandIn,
  type StandInAccount,
  startMastodon,
} from '../../../../test/fixtures/providers/mastodon.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../../../../test/fixtures/sites.js';
import { createTestApp, form, type TestApp } from '../../../../test/helpers/app.js';
import { storeTargets } from '../../../../test/helpers/stores.js';
import { type Page, Walker } from '../../../../test/helpers/walker.js';
import { s256 } from '../../../indieauth/pkce.js';
import { findMastodonApp, putMastodonApp } from '../../../store/providers.js';
import { sealSecret } from '../../../tokens/secrets.js';
import { PROBE_TTL, parseMastodonLink } from './index.js';

const ISSUER = 'https://login.test/';
/** social.test's own callback: each Mastodon server gets one (mix-up defence, RFC 9700 §4.4.2.2). */
const CALLBACK = `${ISSUER}signin/mastodon/callback/social.test`;
const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const VERIFIER = `${'m'.repeat(20)}${'N'.repeat(23)}`;
const SITE = 'http://alice.test/';

function authorizeUrl(extra: Record<string, string> = {}): string {
  return `/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    state: 'rp-state',
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
    ...extra,
  })}`;
}

/** An account that links back from a verified "Website" field, as Mastodon shows it. */
function alice(extra: Partial<StandInAccount> = {}): StandInAccount {
  return {
    username: 'alice',
    note: '<p>Hello, fediverse.</p>',
    fields: [
      { name: 'Pronouns', value: 'she/her' },
      { name: 'Website', value: linkHtml(SITE), verified_at: '2024-05-01T10:31:10.744+00:00' },
    ],
    ...extra,
  };
}

describe('recognising Mastodon links', () => {
  it('F5: https://<host>/@user and https://<host>/users/user, anchored, nothing else', () => {
    expect(parseMastodonLink('https://social.test/@alice')).toEqual({
      host: 'social.test',
      form: '@',
      username: 'alice',
    });
    expect(parseMastodonLink('https://Social.Test/users/Alice_2/')).toEqual({
      host: 'social.test',
      form: 'users',
      username: 'Alice_2',
    });
    for (const url of [
      'http://social.test/@alice', // https only
      'https://social.test/@alice//',
      'https://social.test/@alice?x=1',
      'https://social.test/@alice#top',
      'https://social.test:8443/@alice',
      'https://bob@social.test/@alice',
      'https://social.test/@alice@other.test', // a remote account as this server shows it
      'https://social.test/@alice/123', // a post
      'https://social.test/@al-ice',
      'https://evil.test/social.test/@alice',
      'https://127.0.0.1/@alice',
      'https://social.test/web/@alice',
      ' https://social.test/@alice',
    ]) {
      expect(parseMastodonLink(url), url).toBeUndefined();
    }
  });
});

describe('the Mastodon stand-in is strict (so passing sign-ins mean something)', () => {
  let mastodon: MastodonStandIn;
  beforeAll(async () => {
    mastodon = await startMastodon();
  });
  afterAll(async () => {
    await mastodon?.close();
  });

  it('refuses a missing or wrong code_verifier, another redirect_uri, a wrong secret, a used code', async () => {
    mastodon.addAccount('social.test', alice());
    const registered = await mastodon.post('https://social.test/api/v1/apps', {
      client_name: 'Test',
      redirect_uris: CALLBACK,
      scopes: 'profile',
    });
    expect(registered.status).toBe(200);
    const app = JSON.parse(registered.body) as Record<string, unknown>;
    expect(Object.keys(app)).toEqual(
      expect.arrayContaining([
        'id',
        'name',
        'website',
        'scopes',
        'redirect_uris',
        'client_id',
        'client_secret',
      ]),
    );
    const verifier = 'x'.repeat(43);
    const authorize = new URL('https://social.test/oauth/authorize');
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: String(app.client_id),
      redirect_uri: CALLBACK,
      scope: 'profile',
      state: 's',
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
    }).toString();
    const code = new URL(await mastodon.approve(authorize.href)).searchParams.get('code') ?? '';
    const redeem = (extra: Record<string, string | undefined>) => {
      const params: Record<string, string> = {};
      const all = {
        grant_type: 'authorization_code',
        code,
        client_id: String(app.client_id),
        client_secret: String(app.client_secret),
        redirect_uri: CALLBACK,
        code_verifier: verifier,
        ...extra,
      };
      for (const [key, value] of Object.entries(all)) if (value !== undefined) params[key] = value;
      return mastodon.post('https://social.test/oauth/token', params);
    };
    for (const [extra, status, error] of [
      [{ code_verifier: undefined }, 400, 'invalid_grant'],
      [{ code_verifier: 'y'.repeat(43) }, 400, 'invalid_grant'],
      [{ redirect_uri: 'https://login.test/elsewhere' }, 400, 'invalid_grant'],
      [{ client_secret: 'wrong' }, 401, 'invalid_client'],
      [{ scope: 'read' }, 400, 'invalid_scope'],
    ] as const) {
      const refused = await redeem(extra);
      expect(refused.status, JSON.stringify(extra)).toBe(status);
      expect(JSON.parse(refused.body)).toMatchObject({ error });
      // Doorkeeper's challenge header, which oauth4webapi reads before the body.
      expect(refused.headers['www-authenticate']).toContain(`error="${error}"`);
    }
    const ok = await redeem({ scope: 'profile' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ token_type: 'Bearer', scope: 'profile' });
    expect((await redeem({})).status).toBe(400); // used
  });
});

describe.each(storeTargets)('Mastodon sign-in ($name)', (target) => {
  let web: FixtureWeb;
  let mastodon: MastodonStandIn;
  let t: TestApp;
  let walker: Walker;

  beforeAll(async () => {
    web = await startFixtureWeb();
    mastodon = await startMastodon();
  });
  afterAll(async () => {
    await web?.close();
    await mastodon?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    mastodon.reset();
    web.page(CLIENT, clientApp('Test App', CLIENT));
    web.page(SITE, homepage('Alice', '<a rel="me" href="https://social.test/@alice">Mastodon</a>'));
    mastodon.addAccount('social.test', alice());
    t = await createTestApp(target, {
      connectTo: [...web.connectTo, ...mastodon.connectTo],
      // Generous deadlines: nothing here waits on purpose, and a busy machine must not fail a test.
      config: { fetch: { connectTimeoutMs: 5000, headersTimeoutMs: 5000, totalTimeoutMs: 10_000 } },
    });
    walker = new Walker(t.app);
  });
  afterEach(async () => {
    await t?.close();
  });

  /** From /authorize to the provider's authorization URL (one candidate: straight there). */
  async function toMastodon(extra: Record<string, string> = {}, me = SITE): Promise<URL> {
    const first = await walker.get(authorizeUrl({ me, ...extra }));
    expect(first.status, first.text).toBe(302);
    return new URL(first.location ?? '');
  }

  /** The person approves at Mastodon; the browser comes back to Latchkey's callback. */
  async function comeBack(upstream: URL): Promise<Page> {
    const back = new URL(await mastodon.approve(upstream.href));
    expect(back.origin + back.pathname).toBe(CALLBACK);
    return walker.get(back.href);
  }

  async function redeem(code: string) {
    const response = await t.app.request(
      '/token',
      form({
        grant_type: 'authorization_code',
        code,
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_verifier: VERIFIER,
      }),
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  function codeFrom(page: Page): string {
    expect([302, 303], page.text).toContain(page.status);
    const url = new URL(page.location ?? '');
    expect(url.origin + url.pathname).toBe(REDIRECT);
    expect(url.searchParams.get('state')).toBe('rp-state');
    expect(url.searchParams.get('iss')).toBe(ISSUER);
    return url.searchParams.get('code') ?? '';
  }

  async function lastProof(): Promise<{ evidence: string; method: string }> {
    const rows = await t.services.store.db
      .selectFrom('signin_attempts')
      .select(['proof', 'updated_at'])
      .where('proof', 'is not', null)
      .orderBy('updated_at', 'desc')
      .execute();
    return JSON.parse(rows[0]?.proof ?? '{}') as { evidence: string; method: string };
  }

  it('signs in end to end: authorize → Mastodon → callback → code → redeem → me', async () => {
    const upstream = await toMastodon();
    expect(upstream.origin + upstream.pathname).toBe('https://social.test/oauth/authorize');
    const params = upstream.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('redirect_uri')).toBe(CALLBACK);
    expect(params.get('scope')).toBe('profile');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toBeTruthy();
    expect(params.has('force_login')).toBe(false);

    // Latchkey registered itself first (PROTOCOL §9.1).
    expect(mastodon.registrations).toHaveLength(1);
    expect(mastodon.registrations[0]?.params).toEqual({
      client_name: 'Latchkey (login.test)',
      redirect_uris: CALLBACK,
      scopes: 'profile',
      website: ISSUER,
    });
    expect(params.get('client_id')).toBe(mastodon.apps[0]?.clientId);

    const done = await comeBack(upstream);
    const code = codeFrom(done);
    const token = mastodon.tokenRequests.at(-1)?.params;
    expect(token?.get('grant_type')).toBe('authorization_code');
    expect(token?.get('redirect_uri')).toBe(CALLBACK);
    expect(token?.get('scope')).toBe('profile');
    expect(token?.get('client_secret')).toBe(mastodon.apps[0]?.clientSecret);
    expect(s256(token?.get('code_verifier') ?? '')).toBe(params.get('code_challenge'));

    expect(await redeem(code)).toEqual({ status: 200, body: { me: SITE } });
    const proof = await lastProof();
    expect(proof.method).toBe('mastodon');
    expect(proof.evidence).toContain('profile field "Website"');
    expect(proof.evidence).toContain('verified by social.test at 2024-05-01 10:31 UTC');
  });

  it('the token is revoked right after the profile read (PROTOCOL §9.1: Latchkey keeps none)', async () => {
    codeFrom(await comeBack(await toMastodon()));
    const issued = mastodon.tokenRequests.length;
    expect(issued).toBe(1);
    expect(mastodon.revocations).toHaveLength(1);
    const revoked = mastodon.revocations[0];
    expect(revoked?.clientId).toBe(mastodon.apps[0]?.clientId);
    const after = await mastodon.visit('https://social.test/api/v1/accounts/verify_credentials');
    expect(after.status).toBe(401);
  });

  it('with scope: Mastodon, then consent, then an access token for me', async () => {
    const consent = await comeBack(await toMastodon({ scope: 'profile create' }));
    expect(consent.status).toBe(200);
    expect(consent.text).toContain('Mastodon');
    const approved = await walker.post('/signin/consent', {
      step: consent.step('/signin/consent'),
      decision: 'approve',
      'scope.profile': 'on',
      'scope.create': 'on',
    });
    const redeemed = await redeem(codeFrom(approved));
    expect(redeemed.status).toBe(200);
    expect(redeemed.body).toMatchObject({ me: SITE, token_type: 'Bearer', scope: 'profile create' });
  });

  it('prompt=login asks Mastodon for force_login=true', async () => {
    const upstream = await toMastodon({ prompt: 'login' });
    expect(upstream.searchParams.get('force_login')).toBe('true');
  });

  it('the site’s URL in the bio proves it too', async () => {
    mastodon.reset();
    mastodon.addAccount('social.test', {
      username: 'alice',
      note: `<p>I write at ${linkHtml(SITE)} mostly.</p>`,
    });
    codeFrom(await comeBack(await toMastodon()));
    const evidence = (await lastProof()).evidence;
    expect(evidence).toContain('from its bio');
    expect(evidence).not.toContain('verified by');
  });

  it.each([
    ['made for another callback (LATCHKEY_URL changed)', 'https://old.test/signin/mastodon/callback', true],
    ['made for the callback all servers once shared', `${ISSUER}signin/mastodon/callback`, true],
    ['sealed under a key no longer configured', CALLBACK, false],
  ])('a stored registration %s is replaced by a new one', async (_why, redirectUri, sealable) => {
    await putMastodonApp(t.services.store.db, {
      host: 'social.test',
      redirect_uri: redirectUri,
      scopes: 'profile',
      client_id: 'stale-client',
      client_secret_sealed: sealable
        ? sealSecret('mastodon-client-secret', 'x', t.services.secrets)
        : 'v1.AAAA.BBBB',
      created_at: 1,
    });
    const upstream = await toMastodon();
    expect(mastodon.registrations).toHaveLength(1);
    expect(upstream.searchParams.get('client_id')).toBe(mastodon.apps[0]?.clientId);
    expect((await findMastodonApp(t.services.store.db, 'social.test'))?.client_id).toBe(
      mastodon.apps[0]?.clientId,
    );
  });

  it('a chooser lists all five Mastodon hosts a site links to; probes run concurrently, once per host', async () => {
    const hosts = ['social.test', 'toot.test', 'fedi.test', 'gts.test', 'akkoma.test'];
    for (const host of hosts.slice(1)) mastodon.addAccount(host, alice());
    web.page(
      SITE,
      homepage(
        'Alice',
        [
          ...hosts.map((host) => `<a rel="me" href="https://${host}/@alice">${host}</a>`),
          // The same host again: one probe, coalesced. A host that is no Mastodon server, and a big
          // site on the deny-list that is never asked.
          '<a rel="me" href="https://social.test/users/alice">again</a>',
          '<a rel="me" href="https://quiet.test/@alice">quiet</a>',
          '<a rel="me" href="https://github.com/users/alice">github</a>',
        ].join(''),
      ),
    );
    mastodon.behaviour('quiet.test').kind = 'none';
    // No answer until five probes wait at once: sequential probes would never get one (and time out).
    mastodon.holdProbesUntil = 5;
    const chooser = await walker.get(authorizeUrl({ me: SITE }));
    expect(chooser.status, chooser.text).toBe(200);
    for (const host of hosts) expect(chooser.text).toContain(`You log in at ${host}`);
    expect(chooser.text).not.toContain('quiet.test;');
    expect(chooser.body.match(/name="candidate"/g)).toHaveLength(6);
    expect(mastodon.maxProbesInFlight).toBe(5);
    const instanceProbes = mastodon.probes.filter((probe) => probe.path === '/api/v1/instance');
    for (const host of [...hosts, 'quiet.test'])
      expect(
        instanceProbes.filter((probe) => probe.host === host),
        host,
      ).toHaveLength(1);
    expect(mastodon.probes.some((probe) => probe.host === 'github.com')).toBe(false);

    // Cached per host: a second sign-in asks nobody; once the cache ages out, it asks again.
    mastodon.holdProbesUntil = undefined;
    const before = mastodon.probes.length;
    await new Walker(t.app).get(authorizeUrl({ me: SITE }));
    expect(mastodon.probes.length).toBe(before);
    t.clock.now += PROBE_TTL.yes + 1;
    await new Walker(t.app).get(authorizeUrl({ me: SITE }));
    expect(mastodon.probes.filter((probe) => probe.path === '/api/v1/instance').length).toBe(
      instanceProbes.length + hosts.length + 1,
    );

    // Choosing one goes to that host.
    const chosen = await walker.post('/signin/choose', {
      step: chooser.step('/signin/choose'),
      candidate: '2',
    });
    expect(new URL(chosen.location ?? '').host).toBe('fedi.test');
  });

  it('a host that does not answer /api/v1/instance is not offered', async () => {
    web.page(SITE, homepage('Alice', '<a rel="me" href="https://quiet.test/@alice">Mastodon?</a>'));
    mastodon.behaviour('quiet.test').kind = 'none';
    mastodon.addAccount('quiet.test', alice());
    const page = await walker.get(authorizeUrl({ me: SITE }));
    expect(page.status).not.toBe(302);
    expect(page.text).toContain('Latchkey found no way to sign you in');
    expect(page.text).toContain('https://quiet.test/@alice');
    expect(mastodon.probes.map((probe) => probe.path)).toEqual(['/api/v1/instance', '/.well-known/nodeinfo']);
    expect(mastodon.registrations).toHaveLength(0);
  });

  it('a server known only by its nodeinfo (GoToSocial) is offered; other software is not', async () => {
    web.page(
      SITE,
      homepage(
        'Alice',
        '<a rel="me" href="https://gts.test/@alice">GoToSocial</a><a rel="me" href="https://fedi.test/@alice">other</a>',
      ),
    );
    Object.assign(mastodon.behaviour('gts.test'), { kind: 'nodeinfo', software: 'gotosocial' });
    Object.assign(mastodon.behaviour('fedi.test'), { kind: 'nodeinfo', software: 'misskey' });
    mastodon.addAccount('gts.test', alice());
    mastodon.addAccount('fedi.test', alice());
    const upstream = await toMastodon();
    expect(upstream.host).toBe('gts.test');
    expect(mastodon.probes).toContainEqual({ host: 'fedi.test', path: '/nodeinfo/2.0' });
  });

  it('registers once per host and reuses the registration', async () => {
    codeFrom(await comeBack(await toMastodon()));
    walker = new Walker(t.app);
    codeFrom(await comeBack(await toMastodon({ prompt: 'login' })));
    expect(mastodon.registrations).toHaveLength(1);
    expect(mastodon.tokenRequests.map((one) => one.params.get('client_id'))).toEqual([
      mastodon.apps[0]?.clientId,
      mastodon.apps[0]?.clientId,
    ]);
    const row = await findMastodonApp(t.services.store.db, 'social.test');
    expect(row).toMatchObject({
      client_id: mastodon.apps[0]?.clientId,
      redirect_uri: CALLBACK,
      scopes: 'profile',
    });
  });

  it('asks for read:accounts where the server refuses the profile scope (Mastodon < 4.3 answers 422)', async () => {
    mastodon.behaviour('social.test').profileScopeUnsupported = true;
    const upstream = await toMastodon();
    expect(mastodon.registrations.map((one) => one.params.scopes)).toEqual(['profile', 'read:accounts']);
    expect(upstream.searchParams.get('scope')).toBe('read:accounts');
    codeFrom(await comeBack(upstream));
    expect(mastodon.tokenRequests.at(-1)?.params.get('scope')).toBe('read:accounts');
    expect((await findMastodonApp(t.services.store.db, 'social.test'))?.scopes).toBe('read:accounts');
  });

  it('a registration the server lost (invalid_client) is forgotten and made again, once', async () => {
    const upstream = await toMastodon();
    const back = new URL(await mastodon.approve(upstream.href));
    mastodon.forgetApps('social.test');
    const again = await walker.get(back.href);
    // Sent once more through the fresh registration.
    expect(again.status, again.text).toBe(302);
    const second = new URL(again.location ?? '');
    expect(second.origin + second.pathname).toBe('https://social.test/oauth/authorize');
    expect(mastodon.registrations).toHaveLength(2);
    const fresh = mastodon.apps.find((app) => app.host === 'social.test');
    expect(second.searchParams.get('client_id')).toBe(fresh?.clientId);
    codeFrom(await comeBack(second));
    expect((await findMastodonApp(t.services.store.db, 'social.test'))?.client_id).toBe(fresh?.clientId);
  });

  it('a registration refused again after registering anew ends on a plain-words page, no loop', async () => {
    const upstream = await toMastodon();
    mastodon.behaviour('social.test').rejectClients = true;
    const retried = await comeBack(upstream);
    expect(retried.status).toBe(302);
    const failed = await comeBack(new URL(retried.location ?? ''));
    expect(failed.status).toBe(400);
    expect(failed.text).toContain('social.test did not accept the sign-in');
    expect(failed.text).toContain('invalid_client');
    expect(mastodon.registrations).toHaveLength(2);
  });

  it('F11: an account whose url is not the rel=me link is refused, before and after logging in', async () => {
    mastodon.reset();
    mastodon.addAccount('social.test', alice({ url: 'https://social.test/@alice_elsewhere' }));
    const before = await walker.get(authorizeUrl({ me: SITE }));
    expect(before.status).toBe(400);
    expect(before.text).toContain('gives its address as https://social.test/@alice_elsewhere');
    expect(mastodon.authorizations).toHaveLength(0);

    // A server that shows profiles only to logged-in clients: the same check after the round trip.
    mastodon.behaviour('social.test').privateApi = true;
    walker = new Walker(t.app);
    const after = await comeBack(await toMastodon());
    expect(after.status).toBe(400);
    expect(after.text).toContain('gives its address as https://social.test/@alice_elsewhere');
    expect(mastodon.revocations).toHaveLength(1);
  });

  it('F11: logging in at Mastodon as another user is refused', async () => {
    // mallory's profile even links to Alice's site: only the account the site names counts.
    mastodon.addAccount('social.test', alice({ username: 'mallory' }));
    mastodon.loginAs.set('social.test', 'mallory');
    const page = await comeBack(await toMastodon());
    expect(page.status).toBe(400);
    expect(page.text).toContain(
      'You logged in to Mastodon as mallory, but your site links to social.test/alice',
    );
  });

  it('F4: https://alice.test.evil.example in the note or a field does not prove http://alice.test/', async () => {
    mastodon.reset();
    mastodon.addAccount('social.test', {
      username: 'alice',
      note: `<p>Not me: ${linkHtml('https://alice.test.evil.example')} and alice.test.evil.example/</p>`,
      fields: [{ name: 'Website', value: linkHtml('https://alice.test.evil.example/'), verified_at: null }],
    });
    const page = await walker.get(authorizeUrl({ me: SITE }));
    expect(page.status).toBe(400);
    expect(page.text).toContain('that Mastodon profile does not link back to http://alice.test/');
    expect(page.text).toContain('extra fields on your Mastodon profile');
    expect(mastodon.authorizations).toHaveLength(0);
  });

  it('E5/F9: a reused, foreign or missing state is refused', async () => {
    const upstream = await toMastodon();
    const back = new URL(await mastodon.approve(upstream.href));
    codeFrom(await walker.get(back.href));
    // Reused: the same callback again.
    const reused = await walker.get(back.href);
    expect(reused.status).toBe(400);
    expect(reused.text).toContain('This sign-in page has expired');

    // Foreign: another browser's callback, carried to this one.
    const other = new Walker(t.app);
    const theirs = await other.get(authorizeUrl({ me: SITE }));
    const stolen = new URL(await mastodon.approve(new URL(theirs.location ?? '').href));
    const foreign = await walker.get(stolen.href);
    expect(foreign.text).toContain('This sign-in page has expired');
    // Missing, and a step token of another kind (the chooser's) in its place.
    const missing = new URL(stolen);
    missing.searchParams.delete('state');
    expect((await other.get(missing.href)).text).toContain('This sign-in page has expired');
    const tokensBefore = mastodon.tokenRequests.length;
    web.page(
      SITE,
      homepage(
        'Alice',
        '<a rel="me" href="https://social.test/@alice">a</a><a rel="me" href="https://social.test/users/alice">b</a>',
      ),
    );
    const chooser = await other.get(authorizeUrl({ me: SITE }));
    const wrongKind = new URL(stolen);
    wrongKind.searchParams.set('state', chooser.step('/signin/choose'));
    expect((await other.get(wrongKind.href)).text).toContain('This sign-in page has expired');
    expect(mastodon.tokenRequests.length).toBe(tokensBefore);
    // The rightful browser can still finish its own sign-in.
    codeFrom(await other.get(stolen.href));
  });

  it("mix-up (RFC 9700 §4.4): an answer that comes back to another server's address is refused before its code goes anywhere", async () => {
    for (const path of ['/signin/mastodon/callback/toot.test', '/signin/mastodon/callback']) {
      walker = new Walker(t.app);
      const back = new URL(await mastodon.approve((await toMastodon()).href));
      const tokensBefore = mastodon.tokenRequests.length;
      back.pathname = path;
      const page = await walker.get(back.href);
      expect(page.text, path).toContain(
        'The answer came back to the address for another server than social.test',
      );
      expect(mastodon.tokenRequests.length, path).toBe(tokensBefore);
    }
  });

  it("mix-up (RFC 9700 §4.4): a hostile server relaying the person to their real server never gets the real server's code", async () => {
    // The attacker runs toot.test, whose account links back to the attacker's site. Latchkey has a
    // registration at the victim's server social.test already (any earlier sign-in made it).
    codeFrom(await comeBack(await toMastodon()));
    const attackerSite = 'http://evil.test/';
    mastodon.addAccount('toot.test', {
      username: 'mallory',
      note: '',
      fields: [{ name: 'Website', value: linkHtml(attackerSite) }],
    });
    web.page(attackerSite, homepage('Mallory', '<a rel="me" href="https://toot.test/@mallory">Mastodon</a>'));
    walker = new Walker(t.app);
    const toAttacker = await toMastodon({}, attackerSite);
    expect(toAttacker.host).toBe('toot.test');
    // toot.test sends the person on to social.test with Latchkey's registration there and the state
    // of the sign-in at toot.test; the person approves Latchkey at their own server.
    const relayed = new URL('https://social.test/oauth/authorize');
    for (const [key, value] of toAttacker.searchParams) relayed.searchParams.set(key, value);
    relayed.searchParams.set('client_id', mastodon.apps[0]?.clientId ?? '');
    relayed.searchParams.set('redirect_uri', CALLBACK);
    const back = new URL(await mastodon.approve(relayed.href));
    expect(back.origin + back.pathname).toBe(CALLBACK);
    const page = await walker.get(back.href);
    expect(page.text).toContain('The answer came back to the address for another server than toot.test');
    expect(mastodon.tokenRequests.filter((one) => one.host === 'toot.test')).toEqual([]);
  });

  it('D7: the client secret (and the PKCE verifier, the provider token) are not stored in clear', async () => {
    codeFrom(await comeBack(await toMastodon()));
    const secret = mastodon.apps[0]?.clientSecret ?? '';
    const token = mastodon.tokenRequests[0]?.params;
    const verifier = token?.get('code_verifier') ?? '';
    const accessToken = mastodon.revocations[0]?.token ?? '';
    expect(secret.length).toBeGreaterThan(20);
    expect(verifier.length).toBeGreaterThan(20);
    expect(accessToken.length).toBeGreaterThan(20);
    const row = await findMastodonApp(t.services.store.db, 'social.test');
    expect(row?.client_secret_sealed).toMatch(/^v1\./);
    const db = t.services.store.db;
    const tables = await db.introspection.getTables();
    let everything = '';
    for (const table of tables) {
      const rows = await sql`select * from ${sql.table(table.name)}`.execute(db);
      everything += JSON.stringify(rows.rows);
    }
    expect(everything).toContain(mastodon.apps[0]?.clientId ?? 'missing');
    for (const value of [secret, verifier, accessToken]) expect(everything).not.toContain(value);
  });

  it('a server that shows profiles only to logged-in clients (GoToSocial) is checked after the login', async () => {
    mastodon.behaviour('social.test').privateApi = true;
    codeFrom(await comeBack(await toMastodon()));
    expect(mastodon.lookups).toEqual([{ host: 'social.test', acct: 'alice' }]);
  });

  it('no account by that name: a plain-words page before leaving', async () => {
    web.page(SITE, homepage('Alice', '<a rel="me" href="https://social.test/@nobody">Mastodon</a>'));
    const page = await walker.get(authorizeUrl({ me: SITE }));
    expect(page.status).toBe(400);
    expect(page.text).toContain('There is no Mastodon account nobody at social.test');
  });

  it.each([
    ['down', 'it answered HTTP 502'],
    ['reset', 'the connection was closed unexpectedly'],
    ['garbage', 'its answer was not'],
  ] as const)('the server %s: a plain-words page naming the host, never a 500', async (broken, words) => {
    mastodon.behaviour('social.test').broken = broken;
    const page = await walker.get(authorizeUrl({ me: SITE }));
    expect(page.status).toBe(400);
    expect(page.text).toContain('https://social.test/@alice');
    expect(page.text).toContain(words);
  });

  it('garbage from the token endpoint: a plain-words page naming the host, never a 500', async () => {
    const upstream = await toMastodon();
    mastodon.behaviour('social.test').broken = 'token-garbage';
    const page = await comeBack(upstream);
    expect(page.status).toBe(400);
    expect(page.text).toContain('social.test did not accept the sign-in');
  });

  it('a server refusing to register Latchkey: a plain-words page naming the host', async () => {
    mastodon.behaviour('social.test').refuseApps = true;
    const page = await walker.get(authorizeUrl({ me: SITE }));
    expect(page.status).toBe(400);
    expect(page.text).toContain('social.test refused to register Latchkey as an app: it answered HTTP 422');
    // `profile`, then the fallback scope; nothing more.
    expect(mastodon.registrations.map((one) => one.params.scopes)).toEqual(['profile', 'read:accounts']);
    expect(await findMastodonApp(t.services.store.db, 'social.test')).toBeUndefined();
  });
});
