/**
 * The SSH method (PROTOCOL §9, §9.1 `ssh`; SECURITY F8, F9, E7) driven in-process on both stores:
 * fixture sites on loopback link to key lists with `rel="ssh-key"`, keys and signatures come from
 * the real `ssh-keygen` (Debian openssh-client), and an RP's code is redeemed at /token. Each test
 * names its row.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clientApp,
  type FixtureWeb,
  HOSTS,
  homepage,
  startFixtureWeb,
} from '../../../../test/fixtures/sites.js';
import { createTestApp, form, type TestApp } from '../../../../test/helpers/app.js';
import { decodeEntities as decode } from '../../../../test/helpers/html-text.js';
import { freePort } from '../../../../test/helpers/server.js';
import { type SshKey, type SshKeys, sshKeygenAvailable, sshKeys } from '../../../../test/helpers/ssh.js';
import { storeTargets } from '../../../../test/helpers/stores.js';
import { type Page, Walker } from '../../../../test/helpers/walker.js';
import { s256 } from '../../../indieauth/pkce.js';
import type { Link } from '../../../net/links.js';
import { sshChallenge } from './command.js';
import { sshMethod, verifyChallengeSignature } from './index.js';
import { parseKeyList } from './sshsig.js';

const ISSUER = 'https://login.test/';
const NAMESPACE = 'login.test';
const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const VERIFIER = 'v'.repeat(43);
const ALICE = 'http://alice.test/';
const VERIFY = '/signin/step/ssh.verify';

function authorizeUrl(extra: Record<string, string> = {}): string {
  return `/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: REDIRECT,
    state: 'state-123',
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
    me: ALICE,
    ...extra,
  })}`;
}

const challengeOf = (page: Page): string =>
  decode(/<pre id="challenge">([^<]+)<\/pre>/.exec(page.body)?.[1] ?? '');
const commandOf = (page: Page): string =>
  decode(/<pre id="command"><code>([^<]+)<\/code><\/pre>/.exec(page.body)?.[1] ?? '');

function link(rel: string, url: string): Link {
  return { rel, url, source: 'html' } as Link;
}

// ------------------------------------------------------------------------------------------ units

describe('the SSH challenge and method, without a server', () => {
  const method = sshMethod({
    fetcher: async () => Promise.reject(new Error('no')),
    clock: () => 0,
    issuer: ISSUER,
  });

  it('F8: the challenge is one shell-safe line naming the service host, the site and the nonce', () => {
    const challenge = sshChallenge('login.example', "https://alice.example/o'brien/$HOME/`x`/\\ !", 'n-_0');
    expect(challenge).toMatch(/^login\.example sign-in for https:\/\/alice\.example\/.* nonce n-_0$/);
    expect(challenge).not.toMatch(/['"$`\\\n!]/);
    expect(challenge).toContain('o%27brien/%24HOME/%60x%60/%5C%20%21');
    expect(sshChallenge('login.example', 'https://alice.example/', 'abc')).toBe(
      'login.example sign-in for https://alice.example/ nonce abc',
    );
  });

  it('PROTOCOL §9: only rel="ssh-key" links to http(s) URLs are SSH candidates; no host is special', () => {
    const site = {} as Parameters<typeof method.recognise>[1];
    for (const url of [
      'https://github.com/alice.keys',
      'http://alice.example/id.pub',
      'https://x.example/keys',
    ])
      expect(method.recognise(link('ssh-key', url), site)).toMatchObject({
        method: 'ssh',
        target: url,
        label: 'Sign a challenge with your SSH key',
      });
    expect(method.recognise(link('me', 'https://github.com/alice.keys'), site)).toBeUndefined();
    expect(method.recognise(link('ssh-key', 'ftp://alice.example/id.pub'), site)).toBeUndefined();
    expect(method.recognise(link('ssh-key', 'mailto:alice@alice.example'), site)).toBeUndefined();
  });
});

describe.skipIf(!sshKeygenAvailable)('the signed data (ssh-keygen)', () => {
  let keys: SshKeys;
  beforeAll(() => {
    keys = sshKeys();
  });
  afterAll(() => keys?.dispose());

  it('F8: exactly the challenge, or it plus the one newline echo adds, verifies; any other text is refused', () => {
    const key = keys.key('ed25519');
    const list = parseKeyList(key.pub);
    const challenge = sshChallenge(NAMESPACE, ALICE, 'nonce123');
    expect(verifyChallengeSignature(key.sign(challenge, NAMESPACE), challenge, NAMESPACE, list).ok).toBe(
      true,
    );
    expect(
      verifyChallengeSignature(key.sign(`${challenge}\n`, NAMESPACE), challenge, NAMESPACE, list).ok,
    ).toBe(true);
    for (const other of [
      `${challenge}\n\n`,
      `${challenge}\r\n`,
      ` ${challenge}`,
      `${challenge} `,
      `${challenge}x`,
    ]) {
      expect(
        verifyChallengeSignature(key.sign(other, NAMESPACE), challenge, NAMESPACE, list),
        JSON.stringify(other),
      ).toMatchObject({ ok: false, reason: expect.stringContaining('does not match the challenge') });
    }
  });
});

// ----------------------------------------------------------------------------------- in-process

describe.skipIf(!sshKeygenAvailable).each(storeTargets)('sign-in with an SSH key ($name)', (target) => {
  let web: FixtureWeb;
  let t: TestApp;
  let walker: Walker;
  let keys: SshKeys;
  let ed25519: SshKey;
  let closedPort: number;

  beforeAll(async () => {
    web = await startFixtureWeb([...HOSTS, 'github.test']);
    keys = sshKeys();
    ed25519 = keys.key('ed25519');
    closedPort = await freePort();
  });
  afterAll(async () => {
    keys?.dispose();
    await web?.close();
  });
  beforeEach(async () => {
    web.pages.clear();
    web.page(CLIENT, clientApp('Test App', CLIENT));
    web.page(ALICE, homepage('Alice', '<link rel="ssh-key" href="/id.pub">'));
    web.page('http://alice.test/id.pub', { type: 'text/plain', body: ed25519.pub });
    t = await createTestApp(target, {
      connectTo: [...web.connectTo, { host: 'down.test', address: '127.0.0.1', port: closedPort }],
    });
    walker = new Walker(t.app);
  });
  afterEach(async () => {
    await t?.close();
  });

  /** GET /authorize for a site whose only way in is its SSH key list: straight to the SSH page. */
  async function sshPage(extra: Record<string, string> = {}): Promise<Page> {
    const page = await walker.get(authorizeUrl(extra));
    expect(page.status, page.text.slice(0, 400)).toBe(200);
    expect(page.body).toContain(`action="${VERIFY}"`);
    return page;
  }

  const post = (page: Page, signature: string) =>
    walker.post(VERIFY, { step: page.step(VERIFY), signed: signature });

  function codeFrom(page: Page): string {
    expect(page.status, page.text.slice(0, 400)).toBe(303);
    const url = new URL(page.location ?? '');
    expect(url.origin + url.pathname).toBe(REDIRECT);
    expect(url.searchParams.get('state')).toBe('state-123');
    expect(url.searchParams.get('iss')).toBe(ISSUER);
    return url.searchParams.get('code') ?? '';
  }

  async function redeem(code: string): Promise<Record<string, unknown>> {
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
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function lastEvidence(): Promise<string> {
    const row = await t.services.store.db
      .selectFrom('signin_attempts')
      .select('proof')
      .where('method', '=', 'ssh')
      .where('proof', 'is not', null)
      .executeTakeFirst();
    return (JSON.parse(row?.proof ?? '{}') as { evidence?: string }).evidence ?? '';
  }

  it.each([
    ['ed25519', 'ed25519', undefined, '~/.ssh/id_ed25519'],
    ['ECDSA P-256', 'ecdsa', 256, '~/.ssh/id_ecdsa'],
    ['ECDSA P-384', 'ecdsa', 384, '~/.ssh/id_ecdsa'],
    ['RSA 3072', 'rsa', 3072, '~/.ssh/id_rsa'],
  ] as const)(
    'F8: an RP signs a visitor in with an %s key: SSH page → the page’s own command → code → token → me',
    async (_label, type, bits, file) => {
      const key = keys.key(type, bits);
      web.page('http://alice.test/id.pub', { type: 'text/plain', body: key.pub });
      const page = await sshPage();
      expect(page.text).toContain('Your site links to SSH public keys at http://alice.test/id.pub');
      expect(page.text).toContain(key.fingerprint);
      expect(page.text).toContain('(alice@laptop)');
      const challenge = challengeOf(page);
      expect(challenge).toMatch(/^login\.test sign-in for http:\/\/alice\.test\/ nonce [A-Za-z0-9_-]{24}$/);
      // The command on the page, run as shown (only the key file swapped for this test's), signs it.
      const command = commandOf(page);
      expect(command).toBe(`printf '%s' '${challenge}' | ssh-keygen -Y sign -f ${file} -n login.test`);
      const signature = keys.shell(command.replace(` -f ${file} `, ` -f '${key.file}' `));
      expect(signature).toContain('-----BEGIN SSH SIGNATURE-----');

      const code = codeFrom(await post(page, signature));
      expect(await redeem(code)).toEqual({ me: ALICE });
      expect(await lastEvidence()).toBe(
        `${ALICE} links to the SSH keys at http://alice.test/id.pub; the key ${key.fingerprint} (${parseKeyList(key.pub)[0]?.type}) signed the challenge.`,
      );
    },
  );

  it('F8: with a scope, the SSH proof leads through consent to a token with that scope and the profile', async () => {
    const page = await sshPage({ scope: 'profile create' });
    const consent = await post(page, ed25519.sign(challengeOf(page), NAMESPACE));
    expect(consent.status).toBe(200);
    expect(consent.text).toContain('It asks for permission to');
    const done = await walker.post('/signin/consent', {
      step: consent.step('/signin/consent'),
      decision: 'approve',
      'scope.profile': 'on',
      'scope.create': 'on',
    });
    const body = await redeem(codeFrom(done));
    expect(body).toMatchObject({ me: ALICE, scope: 'profile create', token_type: 'Bearer' });
    expect(body.profile).toMatchObject({ name: 'Alice', url: ALICE });
  });

  it('reads an authorized_keys file with options and comments; any listed key signs', async () => {
    const rsa = keys.key('rsa', 3072, 'work laptop');
    web.page('http://alice.test/id.pub', {
      type: 'application/octet-stream',
      body: [
        '# Alice’s keys',
        `command="/usr/bin/true",no-pty,from="192.0.2.0/24" ${ed25519.pub.trim()}`,
        'ssh-dss AAAAB3NzaC1kc3MAAACBAP== ancient',
        `restrict ${rsa.pub.trim()}`,
        '',
      ].join('\n'),
    });
    const page = await sshPage();
    expect(page.text).toContain(ed25519.fingerprint);
    expect(page.text).toContain(rsa.fingerprint);
    expect(page.text).toContain('(work laptop)');
    expect(page.text).not.toContain('ancient');
    const code = codeFrom(await post(page, rsa.sign(challengeOf(page), NAMESPACE)));
    expect(await redeem(code)).toEqual({ me: ALICE });
  });

  it('reads a GitHub-style /<login>.keys list (no comments) from another host; the host is not special', async () => {
    const ecdsa = keys.key('ecdsa', 521);
    const bare = (key: SshKey) => key.pub.split(' ').slice(0, 2).join(' ');
    web.page(ALICE, homepage('Alice', '<link rel="ssh-key" href="http://github.test/alice.keys">'));
    web.page('http://github.test/alice.keys', {
      type: 'text/plain; charset=utf-8',
      body: `${bare(ed25519)}\n${bare(ecdsa)}\n`,
    });
    const page = await sshPage();
    expect(page.text).toContain('http://github.test/alice.keys');
    expect(page.text).not.toContain('alice@laptop');
    expect(commandOf(page)).toContain('-f ~/.ssh/id_ed25519 ');
    const code = codeFrom(await post(page, ecdsa.sign(challengeOf(page), NAMESPACE)));
    expect(await redeem(code)).toEqual({ me: ALICE });
    expect(await lastEvidence()).toContain('links to the SSH keys at http://github.test/alice.keys');
  });

  it('the chooser offers SSH, with its label, beside the site’s other ways', async () => {
    web.page(
      ALICE,
      homepage('Alice', '<link rel="ssh-key" href="/id.pub"><link rel="pgpkey" href="/key.asc">'),
    );
    const chooser = await walker.get(authorizeUrl());
    const button = chooser.body.split('<button').find((part) => part.includes('your SSH key'));
    expect(button).toContain('ssh-keygen and a key listed at http://alice.test/id.pub');
    expect(button).toContain('<svg');
    const choice = /value="(\d+)"/.exec(button ?? '')?.[1];
    expect(choice, chooser.text).toBeDefined();
    const page = await walker.post('/signin/choose', {
      step: chooser.step('/signin/choose'),
      candidate: choice ?? '',
    });
    expect(page.body).toContain(`action="${VERIFY}"`);
    expect(page.text).toContain(ed25519.fingerprint);
  });

  it('F8: a valid signature over other text, in another namespace or by an unlisted key is refused', async () => {
    const stranger = keys.key('ed25519', undefined, 'mallory');
    let page = await sshPage();
    const challenge = challengeOf(page);
    const cases: [string, string][] = [
      [
        ed25519.sign(challenge.replace(/nonce \S+/, 'nonce other'), NAMESPACE),
        'does not match the challenge',
      ],
      [ed25519.sign(`Sign in to ${NAMESPACE} as ${ALICE}`, NAMESPACE), 'does not match the challenge'],
      [ed25519.sign(challenge, 'git'), 'not for login.test: sign with -n login.test'],
      [ed25519.sign(challenge, 'login.test.evil.test'), 'sign with -n login.test'],
      [stranger.sign(challenge, NAMESPACE), 'made with a key your site does not list'],
    ];
    for (const [signature, reason] of cases) {
      page = await post(page, signature);
      expect(page.status, reason).toBe(400);
      expect(page.text).toContain(reason);
      expect(page.location).toBeUndefined();
    }
  });

  it('F8: a signature for an earlier challenge (another attempt, or one already used) is refused', async () => {
    const first = await sshPage();
    const oldSignature = ed25519.sign(challengeOf(first), NAMESPACE);
    // A second attempt in the same browser gets a new nonce; the first attempt's signature fails there.
    const second = await sshPage();
    expect(challengeOf(second)).not.toBe(challengeOf(first));
    const refused = await post(second, oldSignature);
    expect(refused.text).toContain('does not match the challenge');
    // The first attempt signs in once; afterwards its signature is worth nothing to a new attempt.
    codeFrom(await post(first, oldSignature));
    const third = await sshPage({ prompt: 'login' });
    expect((await post(third, oldSignature)).text).toContain('does not match the challenge');
  });

  it('F9: the challenge is single-use — a replayed, foreign or cross-method step token is stale', async () => {
    const page = await sshPage();
    const step = page.step(VERIFY);
    const signature = ed25519.sign(challengeOf(page), NAMESPACE);
    const other = new Walker(t.app);
    expect((await other.post(VERIFY, { step, signed: signature })).text).toContain(
      'This sign-in page has expired',
    );
    expect((await walker.post('/signin/step/pgp.verify', { step, signed: signature })).text).toContain(
      'This sign-in page has expired',
    );
    // Neither misuse spent the token: its own browser and step still sign in, once.
    codeFrom(await walker.post(VERIFY, { step, signed: signature }));
    const replay = await walker.post(VERIFY, { step, signed: signature });
    expect(replay.text).toContain('This sign-in page has expired');
    expect(replay.location).toBeUndefined();
  });

  it('F8: 5 refused tries end the challenge; even the right signature is then too late', async () => {
    let page = await sshPage();
    const good = ed25519.sign(challengeOf(page), NAMESPACE);
    const pages: Page[] = [];
    for (let i = 1; i <= 4; i++) {
      page = await post(page, i === 1 ? '' : 'not a signature');
      expect(page.status).toBe(400);
      expect(page.body).toContain(`action="${VERIFY}"`);
      pages.push(page);
    }
    const last = await post(page, ed25519.sign('something else', NAMESPACE));
    expect(last.text).toContain('Too many attempts');
    expect(last.text).toContain('5 signatures were refused for this challenge');
    expect(last.body).not.toContain(`action="${VERIFY}"`);
    for (const earlier of pages)
      expect((await post(earlier, good)).text).toContain('This sign-in page has expired');
  });

  it('F8: the challenge expires after 10 minutes', async () => {
    let page = await sshPage();
    const good = ed25519.sign(challengeOf(page), NAMESPACE);
    t.clock.now += 10 * 60 - 1;
    page = await post(page, 'not yet');
    expect(page.status).toBe(400);
    expect(page.text).toContain('BEGIN SSH SIGNATURE');
    t.clock.now += 2;
    const late = await post(page, good);
    expect(late.text).toContain('The challenge has expired');
    expect(late.location).toBeUndefined();
  });

  it('F8: a key the site removed after the challenge was shown no longer signs in (the list is fetched again)', async () => {
    const page = await sshPage();
    const signature = ed25519.sign(challengeOf(page), NAMESPACE);
    web.page('http://alice.test/id.pub', { type: 'text/plain', body: keys.key('ecdsa', 256).pub });
    const refused = await post(page, signature);
    expect(refused.text).toContain('made with a key your site does not list');
  });

  it('E7: key comments and the namespace a signature names are escaped', async () => {
    const evil = keys.key('ed25519', undefined, '<script>alert(1)</script>"><img src=x onerror=alert(2)>');
    web.page('http://alice.test/id.pub', { type: 'text/plain', body: evil.pub });
    const page = await sshPage();
    expect(page.body).not.toContain('<script>alert(1)');
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).toContain('<script>alert(1)</script>');
    const refused = await post(page, evil.sign(challengeOf(page), '<b>bold</b>'));
    expect(refused.body).not.toContain('<b>bold</b>');
    expect(refused.text).toContain('"<b>bold</b>"');
  });

  it('/setup#ssh, which the failure pages name, shows how to link keys and the signing command', async () => {
    const setup = await walker.get('/setup');
    expect(setup.status).toBe(200);
    expect(setup.body).toContain('id="ssh"');
    expect(setup.body).toContain('href="#ssh"');
    expect(setup.text).toContain('<link rel="ssh-key" href="https://github.com/you.keys">');
    expect(setup.text).toContain(
      "printf '%s' 'CHALLENGE' | ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n login.test",
    );
  });

  it('a key list with no usable key says which key types work', async () => {
    for (const body of ['ssh-dss AAAAB3NzaC1kc3MAAACBAP== old\n', '<!doctype html><p>my keys</p>', '']) {
      web.page('http://alice.test/id.pub', { type: 'text/plain', body });
      const page = await walker.get(authorizeUrl());
      expect(page.status, body).toBe(400);
      expect(page.text).toContain('Your SSH keys could not be used');
      expect(page.text).toContain('http://alice.test/id.pub lists no SSH public key Latchkey can use');
      expect(page.text).toContain('ssh-ed25519, ecdsa-sha2-nistp256');
      expect(page.text).toContain('ssh-rsa (2048 bits or more)');
      expect(page.body).not.toContain(`action="${VERIFY}"`);
    }
  });

  it('G5: a key list over 1 MiB, a missing one and an unreachable host give plain-words pages', async () => {
    const cases: [string, string][] = [
      ['http://alice.test/id.pub', 'larger than the'],
      ['http://alice.test/missing.pub', 'it answered HTTP 404'],
      ['http://down.test/id.pub', 'Latchkey could not read the SSH keys at http://down.test/id.pub:'],
    ];
    web.page('http://alice.test/id.pub', {
      type: 'text/plain',
      body: `${ed25519.pub}${'#'.repeat(1024 * 1024)}\n`,
    });
    for (const [url, words] of cases) {
      web.page(ALICE, homepage('Alice', `<link rel="ssh-key" href="${url}">`));
      const page = await walker.get(authorizeUrl());
      expect(page.status, url).toBe(400);
      expect(page.text).toContain('Your SSH keys could not be used');
      expect(page.text).toContain(words);
      expect(page.text).toContain('/setup#ssh');
    }
    // At verification time too: the page says so and the try is counted, not the attempt lost.
    web.page(ALICE, homepage('Alice', '<link rel="ssh-key" href="/id.pub">'));
    web.page('http://alice.test/id.pub', { type: 'text/plain', body: ed25519.pub });
    const page = await sshPage();
    web.page('http://alice.test/id.pub', { status: 503, type: 'text/plain', body: 'down' });
    const refused = await post(page, ed25519.sign(challengeOf(page), NAMESPACE));
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('it answered HTTP 503');
    web.page('http://alice.test/id.pub', { type: 'text/plain', body: ed25519.pub });
    codeFrom(await post(refused, ed25519.sign(challengeOf(refused), NAMESPACE)));
  });
});
