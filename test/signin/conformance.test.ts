/**
 * The rules every sign-in method keeps, run over the whole registry (DESIGN "Methods": one
 * conformance suite, `it.each(methods)`), with every provider configured: the shape of a method,
 * look-alike links refused (SECURITY F5), step tokens typed and single-use so one method's or one
 * browser's token cannot finish another's step (F9), and upstream callbacks with a missing, made-up
 * or foreign `state` refused (E5, F11).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s256 } from '../../src/indieauth/pkce.js';
import type { Link } from '../../src/net/links.js';
import type { AnyMethod } from '../../src/signin/types.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { storeTargets } from '../helpers/stores.js';
import { Walker } from '../helpers/walker.js';

const app = (url: string) => ({
  clientId: 'conformance-id',
  clientSecret: 'conformance-secret',
  url,
  apiUrl: url,
});

let t: TestApp;
let methods: AnyMethod[];

beforeAll(async () => {
  t = await createTestApp(storeTargets[0] as (typeof storeTargets)[number], {
    config: {
      smtpUrl: 'smtp://127.0.0.1:9',
      providers: {
        github: { ...app('https://github.com'), apiUrl: 'https://api.github.com' },
        gitlab: app('https://gitlab.com'),
        forgejo: app('https://codeberg.org'),
      },
    },
  });
  methods = (t.services.signIn as unknown as { deps: { methods: AnyMethod[] } }).deps.methods;
});
afterAll(async () => {
  await t?.close();
});

const LOOK_ALIKES = [
  'https://github.com.evil.example/alice',
  'https://evil.example/github.com/alice',
  'https://gitlab.com.evil.example/alice',
  'https://evil.example/gitlab.com/alice',
  'https://codeberg.org.evil.example/alice',
  'https://www.github.com.evil.example/alice',
  'https://githubcom.example/alice',
  'javascript:alert(1)//github.com/alice',
  'mailto:alice@alice.example?body=x',
];

describe('every sign-in method (conformance)', () => {
  it('the registry holds every method, each once, with a name and its own step kinds', () => {
    const ids = methods.map((method) => method.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'passkey',
        'indieauth',
        'email',
        'pgp',
        'ssh',
        'github',
        'gitlab',
        'forgejo',
        'mastodon',
      ]),
    );
    expect(new Set(ids).size).toBe(ids.length);
    const kinds = methods.flatMap((method) => method.steps);
    expect(new Set(kinds).size).toBe(kinds.length);
  });

  it.each(
    storeTargets.length
      ? ['passkey', 'indieauth', 'email', 'pgp', 'ssh', 'github', 'gitlab', 'forgejo', 'mastodon']
      : [],
  )('%s: a name, a state schema that refuses garbage, step kinds named after it', (id) => {
    const method = methods.find((candidate) => candidate.id === id) as AnyMethod;
    expect(method.name.length).toBeGreaterThan(1);
    for (const kind of method.steps) expect(kind.startsWith(`${id}.`)).toBe(true);
    expect(method.state.safeParse('not state').success).toBe(false);
    expect(method.state.safeParse({ unrelated: 1 }).success).toBe(false);
  });

  it.each(LOOK_ALIKES)('F5: %s is recognised by no method', async (url) => {
    const site = { me: 'https://alice.example/' } as Parameters<AnyMethod['recognise']>[1];
    // Key links (rel=pgpkey, rel=ssh-key) may live on any host; provider links may not.
    for (const rel of ['me', 'authn']) {
      const link = { rel, url, source: 'html' } as unknown as Link;
      for (const method of methods) {
        if (url.startsWith('mailto:') && method.id === 'email') continue; // a real address, see the email tests
        const candidate = await method.recognise(link, site);
        expect(candidate, `${method.id} recognised ${url} (rel=${rel})`).toBeUndefined();
      }
    }
  });
});

describe('step tokens and callbacks (conformance)', () => {
  const authorize = () =>
    `/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: 'http://127.0.0.1:9/',
      redirect_uri: 'http://127.0.0.1:9/cb',
      state: 's',
      code_challenge: s256('v'.repeat(43)),
      code_challenge_method: 'S256',
    })}`;

  const stepKinds = () =>
    methods.flatMap((method) => method.steps.filter((kind) => !kind.endsWith('.callback')));
  const callbackMethods = () =>
    methods.filter((method) => method.steps.includes(`${method.id}.callback`)).map((method) => method.id);

  it('F9: a step token of another kind (the sign-in form’s) cannot finish any method’s step', async () => {
    expect(stepKinds().length).toBeGreaterThan(3);
    for (const kind of stepKinds()) {
      const walker = new Walker(t.app);
      const form = await walker.get(authorize());
      const page = await walker.post(`/signin/step/${kind}`, {
        step: form.step('/signin/site'),
        code: 'X',
        signed: 'x',
      });
      expect(page.status, kind).toBe(400);
      expect(page.text, kind).toContain('This sign-in page has expired');
    }
  });

  it('E5/F9: every upstream callback refuses a missing, made-up, foreign or wrong-kind state', async () => {
    expect(callbackMethods()).toEqual(
      expect.arrayContaining(['indieauth', 'github', 'gitlab', 'forgejo', 'mastodon']),
    );
    for (const id of callbackMethods()) {
      const walker = new Walker(t.app);
      const form = await walker.get(authorize());
      const other = new Walker(t.app);
      const foreignForm = await other.get(authorize());
      for (const state of [
        undefined,
        'made-up-state',
        foreignForm.step('/signin/site'),
        form.step('/signin/site'),
      ]) {
        const query = new URLSearchParams({ code: 'abc', ...(state ? { state } : {}) });
        const page = await walker.get(`/signin/${id}/callback?${query}`);
        expect(page.status, `${id} state=${state}`).toBe(400);
        expect(page.location, id).toBeUndefined();
        expect(page.text, id).toContain('This sign-in page has expired');
      }
    }
  });

  it('a callback for a method that does not exist, or a POST of a callback kind, is refused', async () => {
    const walker = new Walker(t.app);
    expect((await walker.get('/signin/nonexistent/callback?state=x&code=y')).status).toBe(400);
    const form = await walker.get(authorize());
    const posted = await walker.post('/signin/step/github.callback', { step: form.step('/signin/site') });
    expect(posted.status).toBe(400);
  });
});
