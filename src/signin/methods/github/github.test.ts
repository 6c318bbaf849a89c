/**
 * GitHub (PROTOCOL §9.1): which links are GitHub accounts (SECURITY F5), the stand-in's strictness
 * (it refuses what github.com refuses, in github.com's shapes), the shared provider rules on both
 * stores (test/helpers/provider-suite.ts: E5 F4 F9 F11, revocation, trouble), and what only GitHub
 * does: social accounts, the public read with the app's credentials, `allow_signup=false` with no
 * scope, `prompt=select_account`, and revocation through `DELETE /applications/{client_id}/token`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitHubStandIn, startGitHub } from '../../../../test/fixtures/providers/github.js';
import { standInRequest } from '../../../../test/fixtures/providers/stand-in.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../../../../test/fixtures/sites.js';
import { createTestApp, type TestApp } from '../../../../test/helpers/app.js';
import { CLIENT, providerSuite, REDIRECT, SITE, VERIFIER } from '../../../../test/helpers/provider-suite.js';
import { storeTargets } from '../../../../test/helpers/stores.js';
import { Walker } from '../../../../test/helpers/walker.js';
import { s256 } from '../../../indieauth/pkce.js';
import { recogniseProfileUrl } from '../../oauth-provider.js';
import { GITHUB_LOGIN } from './index.js';

const GITHUB = [{ base: 'https://github.com', host: 'github.com' }];
const recognise = (url: string) => recogniseProfileUrl(url, GITHUB, GITHUB_LOGIN)?.account;

describe('GitHub links (F5: anchored, GITHUB_URL host only)', () => {
  it('recognises https://github.com/<login>: http or https, www., one trailing slash, any case', () => {
    expect(recognise('https://github.com/alice')).toBe('alice');
    expect(recognise('http://github.com/alice/')).toBe('alice');
    expect(recognise('https://www.github.com/Alice-Smith')).toBe('Alice-Smith');
    expect(recognise('HTTPS://GitHub.COM/a1')).toBe('a1');
    expect(recognise(`https://github.com/${'a'.repeat(39)}`)).toBe('a'.repeat(39));
  });

  it('F5: refuses look-alike hosts, other paths, GitHub’s own pages and impossible logins', () => {
    for (const url of [
      'https://github.com.evil.example/alice',
      'https://evil.example/github.com/alice',
      'https://evilgithub.com/alice',
      'https://gist.github.com/alice',
      'https://github.com/alice/repo',
      'https://github.com/alice//',
      'https://github.com//alice',
      'https://github.com/alice?tab=stars',
      'https://github.com/alice#x',
      'https://github.com:444/alice',
      'https://bob@github.com/alice',
      'ftp://github.com/alice',
      'https://github.com/orgs',
      'https://github.com/settings',
      'https://github.com/features/',
      'https://github.com/about',
      'https://github.com/-alice',
      'https://github.com/alice-',
      'https://github.com/al--ice',
      'https://github.com/al_ice',
      `https://github.com/${'a'.repeat(40)}`,
      'https://github.com/%61lice',
      'https://github.com/alice.keys',
      ' https://github.com/alice',
    ]) {
      expect(recognise(url), url).toBeUndefined();
    }
  });

  it('follows GITHUB_URL: a GitHub Enterprise host is recognised, github.com then is not', () => {
    const enterprise = [{ base: 'https://ghe.example', host: 'ghe.example' }];
    expect(recogniseProfileUrl('https://ghe.example/alice', enterprise, GITHUB_LOGIN)?.account).toBe('alice');
    expect(recogniseProfileUrl('https://github.com/alice', enterprise, GITHUB_LOGIN)).toBeUndefined();
  });
});

describe('the GitHub stand-in refuses what GitHub refuses, in GitHub’s shapes', () => {
  let github: GitHubStandIn;
  beforeAll(async () => {
    github = await startGitHub();
  });
  afterAll(() => github?.close());

  async function code(challenge = s256(VERIFIER)): Promise<string> {
    const params = new URLSearchParams({
      client_id: github.app.clientId,
      redirect_uri: github.app.redirectUri,
      state: 's',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const back = await github.visit(`http://github.test/login/oauth/authorize?${params}`);
    return new URL(back.location ?? '').searchParams.get('code') ?? '';
  }

  const exchange = async (fields: Record<string, string>) => {
    const res = await standInRequest(github, 'POST', 'http://github.test/login/oauth/access_token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(fields).toString(),
    });
    return { status: res.status, json: JSON.parse(res.body) as Record<string, string> };
  };

  it('token errors are HTTP 200 with error, error_description and error_uri', async () => {
    const good = { client_id: github.app.clientId, client_secret: github.app.clientSecret };
    const cases: Array<[Record<string, string>, string]> = [
      [{ ...good, code: await code() }, 'bad_verification_code'], // no verifier
      [{ ...good, code: await code(), code_verifier: 'w'.repeat(43) }, 'bad_verification_code'],
      [
        { ...good, client_secret: 'wrong', code: await code(), code_verifier: VERIFIER },
        'incorrect_client_credentials',
      ],
      [
        { ...good, client_id: 'other', code: await code(), code_verifier: VERIFIER },
        'incorrect_client_credentials',
      ],
      [
        { ...good, code: await code(), code_verifier: VERIFIER, redirect_uri: 'https://evil.test/cb' },
        'redirect_uri_mismatch',
      ],
    ];
    for (const [fields, error] of cases) {
      const answer = await exchange(fields);
      expect(answer.status).toBe(200);
      expect(answer.json.error, JSON.stringify(fields)).toBe(error);
      expect(answer.json.error_uri).toContain('docs.github.com');
    }
    const once = await code();
    const first = await exchange({ ...good, code: once, code_verifier: VERIFIER });
    expect(first.json).toMatchObject({ token_type: 'bearer', scope: '' });
    expect(first.json.access_token).toMatch(/^gho_/);
    const reused = await exchange({ ...good, code: once, code_verifier: VERIFIER });
    expect(reused.json.error).toBe('bad_verification_code');
  });

  it('the authorization page refuses an unknown client and sends a foreign redirect_uri to the registered one', async () => {
    const unknown = await github.visit('http://github.test/login/oauth/authorize?client_id=nope');
    expect(unknown.status).toBe(404);
    const foreign = await github.visit(
      `http://github.test/login/oauth/authorize?client_id=${github.app.clientId}&redirect_uri=https://evil.test/&state=s`,
    );
    const to = new URL(foreign.location ?? '');
    expect(to.origin + to.pathname).toBe(github.app.redirectUri);
    expect(to.searchParams.get('error')).toBe('redirect_uri_mismatch');
  });
});

providerSuite<GitHubStandIn>({
  id: 'github',
  name: 'GitHub',
  hint: "Add your site to your GitHub profile's website field.",
  start: () => startGitHub(),
  providers: (github) => ({ github: github.config }),
  host: () => 'github.test',
  authorizeEndpoint: () => 'http://github.test/login/oauth/authorize',
  link: (_github, login) => `http://github.test/${login}`,
  profile: (github, login, fields) => {
    github.account(login, { blog: fields.website ?? '', bio: fields.text ?? null });
  },
  expectAuthorizeParams: (params) => {
    expect(params.get('allow_signup')).toBe('false');
    expect(params.has('scope')).toBe(false);
    expect(params.has('prompt')).toBe(false);
  },
  reserved: 'settings',
  revokes: true,
  usedCodeWords: 'it answered "bad_verification_code" (The code passed is incorrect or expired.)',
});

describe.each(storeTargets)('what only GitHub does ($name)', (target) => {
  let web: FixtureWeb;
  let github: GitHubStandIn;
  let t: TestApp;
  let walker: Walker;

  beforeAll(async () => {
    web = await startFixtureWeb();
    github = await startGitHub();
  });
  afterAll(async () => {
    await github?.close();
    await web?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    github.reset();
    github.loginAs = 'alice';
    web.page(CLIENT, clientApp('Test App', CLIENT));
    web.page(SITE, homepage('Alice', '<a rel="me" href="https://github.test/alice">GitHub</a>'));
    t = await createTestApp(target, {
      connectTo: [...web.connectTo, ...github.connectTo],
      config: { providers: { github: github.config } },
    });
    walker = new Walker(t.app);
  });
  afterEach(async () => {
    await t?.close();
  });

  const authorize = (extra: Record<string, string> = {}) =>
    `/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      state: 'rp',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      me: SITE,
      ...extra,
    })}`;

  it('doctor shows the GitHub option with the outcome of its public back-link check', async () => {
    const { formatDiscovery } = await import('../../../indieauth/doctor.js');
    const { discoverSite } = await import('../../../indieauth/discovery.js');
    github.account('alice', { blog: 'https://work.test/' });
    let site = await discoverSite(SITE, t.services.fetcher);
    let report = formatDiscovery(site, await t.services.signIn.diagnose(site));
    expect(report).toContain('Sign in with GitHub as alice  [github, from https://github.test/alice]');
    expect(report).toContain(
      'problem: Your site links to github.test/alice, but that GitHub profile does not link back',
    );
    github.account('alice', { blog: 'alice.test' });
    site = await discoverSite(SITE, t.services.fetcher);
    report = formatDiscovery(site, await t.services.signIn.diagnose(site));
    expect(report).toContain('ok: the public GitHub profile links back from its');
    expect(github.requests.some((r) => r.path.includes('/login/oauth'))).toBe(false);
  });

  it('F4: a social account URL links back; the public read carries the app’s credentials and GitHub’s headers', async () => {
    github.account('alice', {
      blog: 'https://evil.test/',
      social: [
        { provider: 'mastodon', url: 'https://social.test/@alice' },
        { provider: 'generic', url: 'http://alice.test' },
      ],
    });
    const start = await walker.get(authorize());
    expect(start.status, start.text.slice(0, 400)).toBe(302);
    const publicRead = github.requests.find((r) => r.path === '/users/alice');
    expect(publicRead?.headers.accept).toBe('application/vnd.github+json');
    expect(publicRead?.headers['x-github-api-version']).toBe('2022-11-28');
    expect(publicRead?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${github.app.clientId}:${github.app.clientSecret}`).toString('base64')}`,
    );
    expect(github.requests.some((r) => r.path === '/users/alice/social_accounts')).toBe(true);

    const back = await github.visit(start.location ?? '');
    const callback = new URL(back.location ?? '');
    const done = await walker.get(callback.pathname + callback.search);
    expect(done.status, done.text.slice(0, 400)).toBe(302);
    const user = github.requests.find((r) => r.path === '/user');
    expect(user?.headers.authorization).toBe(`Bearer ${github.issued[0]}`);
    expect(user?.headers.accept).toBe('application/vnd.github+json');
    expect(github.requests.some((r) => r.path === '/user/social_accounts')).toBe(true);
    const token = github.requests.find((r) => r.path === '/login/oauth/access_token');
    expect(token?.headers.accept).toContain('application/json');
    const form = new URLSearchParams(token?.body ?? '');
    expect(form.get('client_id')).toBe(github.app.clientId);
    expect(form.get('client_secret')).toBe(github.app.clientSecret);
  });

  it('revokes the token with DELETE /applications/{client_id}/token, Basic client credentials and a JSON body', async () => {
    github.account('alice', { blog: SITE });
    const start = await walker.get(authorize());
    const back = await github.visit(start.location ?? '');
    const callback = new URL(back.location ?? '');
    await walker.get(callback.pathname + callback.search);
    const revoke = github.requests.find((r) => r.method === 'DELETE');
    expect(revoke?.path).toBe(`/applications/${github.app.clientId}/token`);
    expect(revoke?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(revoke?.body ?? '{}')).toEqual({ access_token: github.issued[0] });
    expect(github.revoked).toEqual(github.issued);
    expect(github.tokens.size).toBe(0);
  });

  it('prompt=login asks GitHub for its account picker (prompt=select_account)', async () => {
    github.account('alice', { blog: SITE });
    const start = await walker.get(authorize({ prompt: 'login' }));
    expect(new URL(start.location ?? '').searchParams.get('prompt')).toBe('select_account');
  });

  it('is not offered without GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET', async () => {
    await t.close();
    t = await createTestApp(target, { connectTo: [...web.connectTo, ...github.connectTo] });
    const page = await new Walker(t.app).get(authorize());
    expect(page.status).toBe(400);
    expect(page.text).toContain('found no way to sign you in');
    expect(github.requests).toHaveLength(0);
    expect((await t.services.signIn.offeredMethods()).some((method) => method.id === 'github')).toBe(false);
  });
});
