/**
 * SECURITY E9 on both stores, at the service: registration needs a fresh proof by another method
 * within 10 minutes; challenges are single-use and bound to their session/attempt and `me`; a
 * passkey is for its own `me` only; a site that dropped the link that proved it is refused in plain words.
 * Through the full verify path (a software authenticator, test/helpers/soft-authenticator.ts): RP ID
 * and origin checked, user verification required, a replayed answer and a counter going back refused.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PasskeyService } from '../../src/account/passkeys.js';
import type { AccountSession } from '../../src/account/service.js';
import type { SiteDiscovery } from '../../src/indieauth/discovery.js';
import { insertChallenge, insertPasskey, takeChallenge } from '../../src/store/passkeys.js';
import { sha256 } from '../../src/tokens/secrets.js';
import { type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { type Knobs, type SoftAuthenticator, softAuthenticator } from '../helpers/soft-authenticator.js';
import { storeTargets } from '../helpers/stores.js';

const BOB = 'https://bob.example/';

for (const target of storeTargets) {
  describe(`passkeys E9 (${target.name})`, () => {
    let t: TestApp;
    let passkeys: PasskeyService;
    beforeEach(async () => {
      t = await createTestApp(target);
      passkeys = t.services.passkeys;
    });
    afterEach(() => t.close());

    const session = (over: Partial<AccountSession> = {}): AccountSession => ({
      id: 'x',
      idHash: 'session-a',
      me: BOB,
      method: 'email',
      provenAt: t.clock.now,
      fresh: true,
      expiresAt: t.clock.now + 3600,
      ...over,
    });

    it('refuses registration after "Continue as", after a passkey, and after 10 minutes, in plain words', async () => {
      expect(passkeys.canRegister(session())).toEqual({ ok: true });
      for (const s of [
        session({ fresh: false }),
        session({ method: 'passkey' }),
        session({ provenAt: t.clock.now - 601 }),
      ]) {
        const gate = await passkeys.registrationOptions(s);
        expect(gate.ok).toBe(false);
        if (!gate.ok)
          expect(gate.reason).toContain('Sign in again with email, a provider or a key to add a passkey');
      }
      const ok = await passkeys.registrationOptions(session());
      expect(ok.ok && ok.options.rp.id).toBe('login.test');
      expect(ok.ok && ok.options.authenticatorSelection?.userVerification).toBe('required');
    });

    it('a challenge is single-use, and only for its own session, kind and me', async () => {
      const db = t.services.store.db;
      await insertChallenge(db, {
        challenge_hash: sha256('c1'),
        kind: 'authenticate',
        binding: 'attempt-a',
        me: BOB,
        expires_at: t.clock.now + 300,
        used_at: null,
      });
      const take = (binding: string, me = BOB, kind: 'register' | 'authenticate' = 'authenticate') =>
        takeChallenge(db, { hash: sha256('c1'), kind, binding, me }, t.clock.now);
      expect(await take('attempt-b')).toBe(false);
      expect(await take('attempt-a', 'https://eve.example/')).toBe(false);
      expect(await take('attempt-a', BOB, 'register')).toBe(false);
      expect(await take('attempt-a')).toBe(true);
      expect(await take('attempt-a')).toBe(false);
    });

    it('a passkey of another me is refused; a site that dropped the proving link is refused in plain words', async () => {
      await insertPasskey(t.services.store.db, {
        id: 'cred-bob',
        me: BOB,
        public_key: 'AA',
        counter: 0,
        transports: '[]',
        name: 'Laptop',
        registered_via: JSON.stringify({ method: 'email', link: 'mailto:bob@bob.example' }),
        created_at: t.clock.now,
        last_used_at: null,
      });
      const foreign = await passkeys.authenticate({
        me: 'https://eve.example/',
        binding: 'attempt-a',
        allowed: ['cred-bob'],
        response: JSON.stringify({ id: 'cred-bob', rawId: 'cred-bob', type: 'public-key', response: {} }),
      });
      expect(foreign.ok).toBe(false);
      if (!foreign.ok) expect(foreign.reason).toContain('not registered for');

      const site = (links: string[]): SiteDiscovery =>
        ({
          me: BOB,
          relMe: links.map((url) => ({ url, rel: 'me' })),
          pgpkey: [],
          sshKey: [],
          authn: [],
        }) as unknown as SiteDiscovery;
      const kept = await passkeys.candidate(site(['mailto:bob@bob.example']));
      expect(kept?.details?.usable).toBe('cred-bob');
      const dropped = await passkeys.candidate(site(['https://github.com/bob']));
      expect(dropped?.details?.usable).toBe('');
      expect(dropped?.details?.refused).toContain('linked to mailto:bob@bob.example, and it no longer does');
      const stale = await passkeys.authenticate({
        me: BOB,
        binding: 'attempt-a',
        allowed: [],
        response: JSON.stringify({ id: 'cred-bob', rawId: 'cred-bob', type: 'public-key', response: {} }),
      });
      expect(stale.ok).toBe(false);
    });
  });

  describe(`passkeys E9 through the verify path (${target.name})`, () => {
    const CAROL = 'http://carol.test/';
    const RP_ID = 'login.test';
    const ORIGIN = 'https://login.test';
    let web: FixtureWeb;
    let t: TestApp;
    let passkeys: PasskeyService;
    let key: SoftAuthenticator;
    beforeAll(async () => {
      web = await startFixtureWeb(['carol.test']);
      // Carol's site names this server, so a registration proves it (registered_via.link null).
      web.page(
        CAROL,
        homepage('Carol', '<link rel="authorization_endpoint" href="https://login.test/auth">'),
      );
    });
    afterAll(() => web?.close());
    beforeEach(async () => {
      t = await createTestApp(target, { connectTo: web.connectTo });
      passkeys = t.services.passkeys;
      key = softAuthenticator(RP_ID, ORIGIN);
    });
    afterEach(() => t.close());

    const session = (): AccountSession => ({
      id: 'x',
      idHash: 'session-c',
      me: CAROL,
      method: 'email',
      provenAt: t.clock.now,
      fresh: true,
      expiresAt: t.clock.now + 3600,
    });

    /** Options from the real service, then the soft authenticator's answer, then `register`. */
    const register = async (knobs: Knobs = {}) => {
      const options = await passkeys.registrationOptions(session());
      if (!options.ok) throw new Error(options.reason);
      expect(options.options.rp.id).toBe(RP_ID);
      return passkeys.register(
        session(),
        JSON.stringify(key.register(options.options.challenge, knobs)),
        'Soft',
      );
    };
    const registered = async () => {
      const outcome = await register();
      expect(outcome).toMatchObject({ ok: true, passkey: { id: key.id, name: 'Soft' } });
    };
    /** A sign-in attempt's options (its challenge bound to `binding`), and the soft authenticator's answer. */
    const answer = async (knobs: Knobs = {}, binding = 'attempt-c') => {
      const options = await passkeys.authenticationOptions(CAROL, binding, [key.id]);
      expect(options.rpId).toBe(RP_ID);
      expect(options.userVerification).toBe('required');
      return JSON.stringify(key.authenticate(options.challenge, knobs));
    };
    const authenticate = (response: string, binding = 'attempt-c') =>
      passkeys.authenticate({ me: CAROL, binding, allowed: [key.id], response });
    const refused = (outcome: { ok: boolean; reason?: string }, words: string) => {
      expect(outcome.ok).toBe(false);
      expect(outcome.reason).toContain(words);
    };

    it('E9 a correct soft-authenticator registration and sign-in succeed (so the refusals below are real)', async () => {
      await registered();
      const [row] = await passkeys.list(CAROL);
      expect(row?.registeredVia).toEqual({ method: 'email', link: null });
      const first = await authenticate(await answer());
      expect(first).toMatchObject({ ok: true, passkey: { id: key.id, lastUsedAt: t.clock.now } });
      t.clock.now += 1;
      expect((await authenticate(await answer())).ok).toBe(true);
    });

    it('E9 a site showing two links for the way the person signed in: no passkey, since the proving one is unknown', async () => {
      // Bob holds one of the two PGP keys Carol's site lists; a passkey tied to the other would keep
      // working after Carol removed his.
      const pgp = session();
      pgp.method = 'pgp';
      const keys = (...names: string[]) =>
        names.map((name) => `<link rel="pgpkey" href="${CAROL}${name}.asc">`).join('');
      web.page(CAROL, homepage('Carol', keys('carol', 'bob')));
      const registerAs = async (s: AccountSession) => {
        const options = await passkeys.registrationOptions(s);
        if (!options.ok) throw new Error(options.reason);
        return passkeys.register(s, JSON.stringify(key.register(options.options.challenge)), 'Soft');
      };
      try {
        refused(await registerAs(pgp), 'shows 2 links for the way you signed in');
        expect(await passkeys.list(CAROL)).toEqual([]);
        web.page(CAROL, homepage('Carol', keys('carol')));
        expect((await registerAs(pgp)).ok).toBe(true);
        expect((await passkeys.list(CAROL))[0]?.registeredVia).toEqual({
          method: 'pgp',
          link: `${CAROL}carol.asc`,
        });
      } finally {
        web.page(
          CAROL,
          homepage('Carol', '<link rel="authorization_endpoint" href="https://login.test/auth">'),
        );
      }
    });

    it('E9 a registration made on another origin, or for another RP ID, or without UV is refused and stores nothing', async () => {
      for (const origin of ['https://evil.test', 'http://login.test', 'https://login.test:8443']) {
        refused(await register({ origin }), 'made on another website (its origin');
      }
      for (const rpId of ['evil.test', 'carol.test', 'test']) {
        refused(await register({ rpId }), 'made for another website (its RP ID');
      }
      refused(await register({ uv: false }), 'Your device did not verify you');
      expect(await passkeys.list(CAROL)).toEqual([]);
      await registered();
    });

    it('E9 a sign-in made on another origin, or for another RP ID, or without UV is refused', async () => {
      await registered();
      for (const origin of ['https://evil.test', 'http://login.test', 'https://login.test:8443']) {
        refused(await authenticate(await answer({ origin })), 'made on another website (its origin');
      }
      for (const rpId of ['evil.test', 'carol.test']) {
        refused(await authenticate(await answer({ rpId })), 'made for another website (its RP ID');
      }
      refused(await authenticate(await answer({ uv: false })), 'Your device did not verify you');
      expect((await passkeys.list(CAROL))[0]?.lastUsedAt).toBeNull();
      expect((await authenticate(await answer())).ok).toBe(true);
    });

    it('E9 the same registration answer sent twice is refused the second time', async () => {
      const options = await passkeys.registrationOptions(session());
      if (!options.ok) throw new Error(options.reason);
      const response = JSON.stringify(key.register(options.options.challenge));
      expect((await passkeys.register(session(), response, 'Soft')).ok).toBe(true);
      await t.services.store.db.deleteFrom('passkeys').execute();
      refused(await passkeys.register(session(), response, 'Soft'), 'its challenge was used already');
      expect(await passkeys.list(CAROL)).toEqual([]);
    });

    it('E9 the same sign-in answer sent twice is refused the second time; so is one for another attempt', async () => {
      await registered();
      const response = await answer();
      expect((await authenticate(response)).ok).toBe(true);
      refused(await authenticate(response), 'its challenge was used already');
      // An answer to attempt A's challenge cannot finish attempt B, and is still good for A after that.
      const forA = await answer({}, 'attempt-a');
      refused(await authenticate(forA, 'attempt-b'), 'its challenge was used already');
      expect((await authenticate(forA, 'attempt-a')).ok).toBe(true);
      // A challenge expires after 5 minutes.
      const late = await answer();
      t.clock.now += 5 * 60;
      refused(await authenticate(late), 'its challenge was used already');
    });

    it('E9 a signature counter that goes back (or stays) is refused', async () => {
      await registered();
      expect((await authenticate(await answer({ counter: 5 }))).ok).toBe(true);
      refused(await authenticate(await answer({ counter: 3 })), 'its counter went backwards');
      refused(await authenticate(await answer({ counter: 5 })), 'its counter went backwards');
      expect((await authenticate(await answer({ counter: 6 }))).ok).toBe(true);
    });
  });
}
