/**
 * GitLab (PROTOCOL §9.1): which links are GitLab accounts on which instances (SECURITY F5), the
 * stand-in's strictness (Doorkeeper's error answers), the shared provider rules on both stores
 * (test/helpers/provider-suite.ts: E5 F4 F9 F11, revocation, trouble), and what only GitLab does:
 * `scope=read_user`, the two-step public read (users?username= then users/:id), RFC 7009 revocation
 * at /oauth/revoke, and instances added with `latchkey providers add gitlab` (under a path, too).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitLabStandIn, startGitLab } from '../../../../test/fixtures/providers/gitlab.js';
import { standInRequest } from '../../../../test/fixtures/providers/stand-in.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../../../../test/fixtures/sites.js';
import { createTestApp, type TestApp } from '../../../../test/helpers/app.js';
import { CLIENT, providerSuite, REDIRECT, SITE, VERIFIER } from '../../../../test/helpers/provider-suite.js';
import { storeTargets } from '../../../../test/helpers/stores.js';
import { Walker } from '../../../../test/helpers/walker.js';
import { s256 } from '../../../indieauth/pkce.js';
import { recogniseProfileUrl } from '../../oauth-provider.js';
import { ProviderInstances } from '../../provider-instances.js';
import { GITLAB_USERNAME } from './index.js';

const INSTANCES = [
  { base: 'https://gitlab.com', host: 'gitlab.com' },
  { base: 'https://code.example/gitlab', host: 'code.example/gitlab' },
];
const recognise = (url: string) => {
  const found = recogniseProfileUrl(url, INSTANCES, GITLAB_USERNAME);
  return found && `${found.instance.host} ${found.account}`;
};

describe('GitLab links (F5: anchored, configured instances only)', () => {
  it('recognises <instance>/<username> on each instance, a path prefix included', () => {
    expect(recognise('https://gitlab.com/alice')).toBe('gitlab.com alice');
    expect(recognise('http://gitlab.com/alice.smith_2-x/')).toBe('gitlab.com alice.smith_2-x');
    expect(recognise('https://code.example/gitlab/carol')).toBe('code.example/gitlab carol');
  });

  it('F5: refuses look-alikes, other instances, reserved paths, .git/.atom and sub-paths', () => {
    for (const url of [
      'https://gitlab.com.evil.example/alice',
      'https://evil.example/gitlab.com/alice',
      'https://www.gitlab.com/alice',
      'https://gitlab.example/alice',
      'https://code.example/alice',
      'https://code.example/gitlab',
      'https://gitlab.com/alice/project',
      'https://gitlab.com/alice.git',
      'https://gitlab.com/alice.atom',
      'https://gitlab.com/explore',
      'https://gitlab.com/users',
      'https://gitlab.com/-',
      'https://gitlab.com/help/',
      'https://gitlab.com/..',
      'https://gitlab.com/alice?x=1',
      'https://gitlab.com/@alice',
      'https://gitlab.com/al%20ice',
    ]) {
      expect(recognise(url), url).toBeUndefined();
    }
  });
});

describe('the GitLab stand-in refuses what GitLab refuses, in Doorkeeper’s shapes', () => {
  let gitlab: GitLabStandIn;
  beforeAll(async () => {
    gitlab = await startGitLab();
  });
  afterAll(() => gitlab?.close());

  async function code(): Promise<string> {
    const params = new URLSearchParams({
      client_id: gitlab.app.clientId,
      redirect_uri: gitlab.app.redirectUri,
      response_type: 'code',
      scope: 'read_user',
      state: 's',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
    });
    const back = await gitlab.visit(`http://gitlab.test/oauth/authorize?${params}`);
    return new URL(back.location ?? '').searchParams.get('code') ?? '';
  }

  const exchange = async (fields: Record<string, string>) => {
    const res = await standInRequest(gitlab, 'POST', 'http://gitlab.test/oauth/token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'authorization_code', ...fields }).toString(),
    });
    return { status: res.status, json: JSON.parse(res.body) as Record<string, string>, headers: res.headers };
  };

  it('token errors: 401 invalid_client, 400 invalid_grant and invalid_request, with WWW-Authenticate', async () => {
    const good = {
      client_id: gitlab.app.clientId,
      client_secret: gitlab.app.clientSecret,
      redirect_uri: gitlab.app.redirectUri,
    };
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ ...good, code: await code() }, 400, 'invalid_request'],
      [{ ...good, code: await code(), code_verifier: 'w'.repeat(43) }, 400, 'invalid_grant'],
      [
        { ...good, code: await code(), code_verifier: VERIFIER, redirect_uri: 'https://evil.test/' },
        400,
        'invalid_grant',
      ],
      [
        { ...good, client_secret: 'nope', code: await code(), code_verifier: VERIFIER },
        401,
        'invalid_client',
      ],
    ];
    for (const [fields, status, error] of cases) {
      const answer = await exchange(fields);
      expect(answer.status, JSON.stringify(fields)).toBe(status);
      expect(answer.json.error).toBe(error);
      expect(answer.headers['www-authenticate']).toContain(`error="${error}"`);
    }
    const once = await code();
    const first = await exchange({ ...good, code: once, code_verifier: VERIFIER });
    expect(first.json).toMatchObject({ token_type: 'Bearer', scope: 'read_user', expires_in: 7200 });
    expect((await exchange({ ...good, code: once, code_verifier: VERIFIER })).json.error).toBe(
      'invalid_grant',
    );
  });

  it('the authorization page refuses an unknown client and a foreign redirect_uri with a page', async () => {
    expect((await gitlab.visit('http://gitlab.test/oauth/authorize?client_id=nope')).status).toBe(401);
    const foreign = await gitlab.visit(
      `http://gitlab.test/oauth/authorize?client_id=${gitlab.app.clientId}&redirect_uri=https://evil.test/&response_type=code`,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.location).toBeUndefined();
  });
});

providerSuite<GitLabStandIn>({
  id: 'gitlab',
  name: 'GitLab',
  hint: "Add your site to your GitLab profile's Website field.",
  start: () => startGitLab(),
  providers: (gitlab) => ({ gitlab: gitlab.config }),
  host: () => 'gitlab.test',
  authorizeEndpoint: () => 'http://gitlab.test/oauth/authorize',
  link: (_gitlab, username) => `http://gitlab.test/${username}`,
  profile: (gitlab, username, fields) => {
    gitlab.account(username, { website_url: fields.website ?? '', bio: fields.text ?? '' });
  },
  expectAuthorizeParams: (params) => {
    expect(params.get('response_type')).toBe('code');
    expect(params.get('scope')).toBe('read_user');
  },
  reserved: 'explore',
  revokes: true,
  usedCodeWords: 'it answered "invalid_grant" (The provided authorization grant is invalid',
});

describe.each(storeTargets)('what only GitLab does ($name)', (target) => {
  let web: FixtureWeb;
  let gitlab: GitLabStandIn;
  let selfHosted: GitLabStandIn;
  let t: TestApp;
  let walker: Walker;

  beforeAll(async () => {
    web = await startFixtureWeb();
    gitlab = await startGitLab();
    selfHosted = await startGitLab({ base: 'http://code.test/gitlab' });
  });
  afterAll(async () => {
    await gitlab?.close();
    await selfHosted?.close();
    await web?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    gitlab.reset();
    selfHosted.reset();
    web.page(CLIENT, clientApp('Test App', CLIENT));
    t = await createTestApp(target, {
      connectTo: [...web.connectTo, ...gitlab.connectTo, ...selfHosted.connectTo],
      config: { providers: { gitlab: gitlab.config } },
    });
    walker = new Walker(t.app);
  });
  afterEach(async () => {
    await t?.close();
  });

  const authorize = (me: string) =>
    `/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      state: 'rp',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      me,
    })}`;

  async function signIn(me: string, standIn: GitLabStandIn) {
    const start = await walker.get(authorize(me));
    expect(start.status, start.text.slice(0, 400)).toBe(302);
    const back = await standIn.visit(start.location ?? '');
    const callback = new URL(back.location ?? '');
    return walker.get(callback.pathname + callback.search);
  }

  it('reads the public profile in two steps and revokes the token at /oauth/revoke (RFC 7009)', async () => {
    gitlab.account('alice', { website_url: '', bio: `My site: ${SITE}` });
    web.page(SITE, homepage('Alice', '<a rel="me" href="https://gitlab.test/alice">GitLab</a>'));
    const done = await signIn(SITE, gitlab);
    expect(done.status, done.text.slice(0, 400)).toBe(302);
    const paths = gitlab.requests.map((r) => `${r.method} ${r.path}${r.query.size ? `?${r.query}` : ''}`);
    expect(paths).toEqual([
      'GET /api/v4/users?username=alice',
      'GET /api/v4/users/1',
      expect.stringMatching(/^GET \/oauth\/authorize\?/),
      'POST /oauth/token',
      'GET /api/v4/user',
      'POST /oauth/revoke',
    ]);
    const revoke = new URLSearchParams(gitlab.requests.at(-1)?.body ?? '');
    expect(revoke.get('token')).toBe(gitlab.issued[0]);
    expect(revoke.get('client_id')).toBe(gitlab.app.clientId);
    expect(revoke.get('client_secret')).toBe(gitlab.app.clientSecret);
    expect(gitlab.revoked).toEqual(gitlab.issued);
  });

  it('signs in with an instance added with `latchkey providers add gitlab`, living under a path', async () => {
    selfHosted.account('carol', { website_url: 'http://carol.test/' });
    selfHosted.loginAs = 'carol';
    web.page(
      'http://carol.test/',
      homepage('Carol', '<a rel="me" href="http://code.test/gitlab/carol">GitLab</a>'),
    );
    // Not added yet: the link is nobody's GitLab (F5: configured instances only).
    const before = await walker.get(authorize('http://carol.test/'));
    expect(before.text).toContain('found no way to sign you in');

    const instances = new ProviderInstances(t.services.store, t.services.secrets);
    await instances.add('gitlab', selfHosted.base, selfHosted.app.clientId, selfHosted.app.clientSecret, 1);
    const start = await walker.get(authorize('http://carol.test/'));
    expect(start.status, start.text.slice(0, 400)).toBe(302);
    expect(start.location).toMatch(/^http:\/\/code\.test\/gitlab\/oauth\/authorize\?/);
    const back = await selfHosted.visit(start.location ?? '');
    const callback = new URL(back.location ?? '');
    const done = await walker.get(callback.pathname + callback.search);
    expect(done.status, done.text.slice(0, 400)).toBe(302);
    expect(new URL(done.location ?? '').searchParams.get('code')).toBeTruthy();
    expect(selfHosted.revoked).toEqual(selfHosted.issued);
    expect(gitlab.requests).toHaveLength(0);

    // Removed while a sign-in waits at the instance: the callback says so in words.
    const again = new Walker(t.app);
    const pending = await again.get(authorize('http://carol.test/'));
    const answer = await selfHosted.visit(pending.location ?? '');
    await instances.remove('gitlab', selfHosted.base);
    const late = new URL(answer.location ?? '');
    const refused = await again.get(late.pathname + late.search);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('Latchkey is no longer set up to sign in with code.test/gitlab.');
  });

  it('a refused client secret (401 invalid_client with WWW-Authenticate) is a page in plain words', async () => {
    gitlab.account('alice', { website_url: SITE });
    web.page(SITE, homepage('Alice', '<a rel="me" href="http://gitlab.test/alice">GitLab</a>'));
    await t.close();
    t = await createTestApp(target, {
      connectTo: [...web.connectTo, ...gitlab.connectTo],
      config: { providers: { gitlab: { ...gitlab.config, clientSecret: 'rotated-away' } } },
    });
    walker = new Walker(t.app);
    const refused = await signIn(SITE, gitlab);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('GitLab did not sign you in');
    expect(refused.text).toContain('it answered "invalid_client" (Client authentication failed');
  });
});
