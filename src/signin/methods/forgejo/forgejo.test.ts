/**
 * Forgejo/Gitea (PROTOCOL §9.1): which links are Forgejo accounts on which instances (SECURITY F5),
 * the stand-in's strictness (Forgejo's 400 error answers), the shared provider rules on both stores
 * (test/helpers/provider-suite.ts: E5 F4 F9 F11, trouble), and what only Forgejo does: no scope,
 * no revocation endpoint (the token is just not kept), the Codeberg preset plus added instances.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ForgejoStandIn, startForgejo } from '../../../../test/fixtures/providers/forgejo.js';
import { standInRequest } from '../../../../test/fixtures/providers/stand-in.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../../../../test/fixtures/sites.js';
import { createTestApp, type TestApp } from '../../../../test/helpers/app.js';
import { CLIENT, providerSuite, REDIRECT, VERIFIER } from '../../../../test/helpers/provider-suite.js';
import { storeTargets } from '../../../../test/helpers/stores.js';
import { Walker } from '../../../../test/helpers/walker.js';
import { s256 } from '../../../indieauth/pkce.js';
import { recogniseProfileUrl } from '../../oauth-provider.js';
import { ProviderInstances } from '../../provider-instances.js';
import { FORGEJO_LOGIN } from './index.js';

const INSTANCES = [
  { base: 'https://codeberg.org', host: 'codeberg.org' },
  { base: 'https://git.example', host: 'git.example' },
];
const recognise = (url: string) => {
  const found = recogniseProfileUrl(url, INSTANCES, FORGEJO_LOGIN);
  return found && `${found.instance.host} ${found.account}`;
};

describe('Forgejo links (F5: anchored, configured instances only)', () => {
  it('recognises <instance>/<login> on each instance', () => {
    expect(recognise('https://codeberg.org/alice')).toBe('codeberg.org alice');
    expect(recognise('http://codeberg.org/Alice.B_c-d/')).toBe('codeberg.org Alice.B_c-d');
    expect(recognise('https://git.example/dave')).toBe('git.example dave');
  });

  it('F5: refuses look-alikes, other hosts, reserved names, repositories and impossible logins', () => {
    for (const url of [
      'https://codeberg.org.evil.example/alice',
      'https://evil.example/codeberg.org/alice',
      'https://www.codeberg.org/alice',
      'https://forgejo.example/alice',
      'https://codeberg.org/alice/repo',
      'https://codeberg.org/explore',
      'https://codeberg.org/user',
      'https://codeberg.org/api',
      'https://codeberg.org/-',
      'https://codeberg.org/.well-known',
      'https://codeberg.org/-alice',
      'https://codeberg.org/alice.',
      'https://codeberg.org/al..ice',
      `https://codeberg.org/${'a'.repeat(41)}`,
      'https://codeberg.org/alice?tab=activity',
    ]) {
      expect(recognise(url), url).toBeUndefined();
    }
  });
});

describe('the Forgejo stand-in refuses what Forgejo refuses, in Forgejo’s shapes', () => {
  let forgejo: ForgejoStandIn;
  beforeAll(async () => {
    forgejo = await startForgejo();
  });
  afterAll(() => forgejo?.close());

  async function code(): Promise<string> {
    const params = new URLSearchParams({
      client_id: forgejo.app.clientId,
      redirect_uri: forgejo.app.redirectUri,
      response_type: 'code',
      state: 's',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
    });
    const back = await forgejo.visit(`http://codeberg.test/login/oauth/authorize?${params}`);
    expect(back.status).toBe(303);
    return new URL(back.location ?? '').searchParams.get('code') ?? '';
  }

  const exchange = async (fields: Record<string, string>) => {
    const res = await standInRequest(forgejo, 'POST', 'http://codeberg.test/login/oauth/access_token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'authorization_code', ...fields }).toString(),
    });
    return { status: res.status, json: JSON.parse(res.body) as Record<string, string> };
  };

  it('token errors are HTTP 400 with error and error_description', async () => {
    const good = {
      client_id: forgejo.app.clientId,
      client_secret: forgejo.app.clientSecret,
      redirect_uri: forgejo.app.redirectUri,
    };
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ ...good, code: await code() }, 'unauthorized_client', 'failed PKCE code challenge'],
      [
        { ...good, code: await code(), code_verifier: 'w'.repeat(43) },
        'unauthorized_client',
        'failed PKCE code challenge',
      ],
      [
        { ...good, code: await code(), code_verifier: VERIFIER, redirect_uri: 'https://evil.test/' },
        'unauthorized_client',
        'unexpected redirect URI',
      ],
      [
        { ...good, client_secret: 'nope', code: await code(), code_verifier: VERIFIER },
        'unauthorized_client',
        'invalid client secret',
      ],
      [
        { ...good, client_id: 'nope', code: await code(), code_verifier: VERIFIER },
        'invalid_client',
        "cannot load client with client id: 'nope'",
      ],
    ];
    for (const [fields, error, description] of cases) {
      const answer = await exchange(fields);
      expect(answer.status, JSON.stringify(fields)).toBe(400);
      expect(answer.json).toEqual({ error, error_description: description });
    }
    const once = await code();
    const first = await exchange({ ...good, code: once, code_verifier: VERIFIER });
    expect(first.json).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    expect((await exchange({ ...good, code: once, code_verifier: VERIFIER })).json).toEqual({
      error: 'unauthorized_client',
      error_description: 'client is not authorized',
    });
  });
});

providerSuite<ForgejoStandIn>({
  id: 'forgejo',
  name: 'Forgejo',
  hint: "Add your site to your Forgejo profile's Website field.",
  start: () => startForgejo(),
  providers: (forgejo) => ({ forgejo: forgejo.config }),
  host: () => 'codeberg.test',
  authorizeEndpoint: () => 'http://codeberg.test/login/oauth/authorize',
  link: (_forgejo, login) => `http://codeberg.test/${login}`,
  profile: (forgejo, login, fields) => {
    forgejo.account(login, { website: fields.website ?? '', description: fields.text ?? '' });
  },
  expectAuthorizeParams: (params) => {
    expect(params.get('response_type')).toBe('code');
    expect(params.has('scope')).toBe(false);
  },
  reserved: 'explore',
  revokes: false,
  usedCodeWords: 'it answered "unauthorized_client" (client is not authorized)',
});

describe.each(storeTargets)('what only Forgejo does ($name)', (target) => {
  let web: FixtureWeb;
  let selfHosted: ForgejoStandIn;
  let t: TestApp;
  let walker: Walker;

  beforeAll(async () => {
    web = await startFixtureWeb();
    selfHosted = await startForgejo({ base: 'http://git.test' });
  });
  afterAll(async () => {
    await selfHosted?.close();
    await web?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    selfHosted.reset();
    web.page(CLIENT, clientApp('Test App', CLIENT));
    // No Codeberg preset: only an added instance.
    t = await createTestApp(target, { connectTo: [...web.connectTo, ...selfHosted.connectTo] });
    walker = new Walker(t.app);
  });
  afterEach(async () => {
    await t?.close();
  });

  it('signs in with an added instance only, and calls no revocation endpoint (Forgejo has none)', async () => {
    selfHosted.account('dave', { description: 'I write at http://dave.test/.' });
    selfHosted.loginAs = 'dave';
    web.page('http://dave.test/', homepage('Dave', '<a rel="me" href="http://git.test/dave">Forgejo</a>'));
    await new ProviderInstances(t.services.store, t.services.secrets).add(
      'forgejo',
      selfHosted.base,
      selfHosted.app.clientId,
      selfHosted.app.clientSecret,
      1,
    );
    const start = await walker.get(
      `/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        state: 'rp',
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
        me: 'http://dave.test/',
      })}`,
    );
    expect(start.status, start.text.slice(0, 400)).toBe(302);
    const back = await selfHosted.visit(start.location ?? '');
    const callback = new URL(back.location ?? '');
    const done = await walker.get(callback.pathname + callback.search);
    expect(done.status, done.text.slice(0, 400)).toBe(302);
    expect(selfHosted.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v1/users/dave',
      'GET /login/oauth/authorize',
      'POST /login/oauth/access_token',
      'GET /api/v1/user',
    ]);
    expect(selfHosted.requests.at(-1)?.headers.authorization).toBe(`Bearer ${selfHosted.issued[0]}`);
  });
});
