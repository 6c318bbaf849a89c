/**
 * Several instances share one database (README "Deployment"): what one instance issues or revokes,
 * every other instance sees on the next request. SQLite serves repeated lookups from memory only
 * while nothing was written (store/read-cache.ts), so these tests cover that cache too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { s256 } from '../../src/indieauth/pkce.js';
import { silentLogger } from '../../src/log.js';
import { createServices, type Services } from '../../src/services.js';
import { storeTargets } from '../helpers/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-instances-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(storeTargets)('two instances on $name', (target) => {
  it('D4: a revoked token fails everywhere at once (all instances)', async () => {
    // SQLite instances share a file (several processes on one machine); PostgreSQL a server.
    const created = target.name === 'sqlite' ? undefined : await target.create();
    const url = created?.url ?? `sqlite:${join(dir, 'shared.db')}`;
    const instances: Services[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        instances.push(await createServices(testConfig({ databaseUrl: url }), { logger: silentLogger() }));
      }
      const [a, b] = instances as [Services, Services];
      const issued = await a.store.write((tx) =>
        a.tokens.issueForNewGrant(tx, {
          me: 'https://alice.example/',
          clientId: 'https://app.example/',
          scope: 'create',
          source: 'code',
          authorizationEndpoint: null,
        }),
      );
      expect(await b.tokens.verify(issued.accessToken)).toMatchObject({ me: 'https://alice.example/' });
      expect(await a.tokens.verify(issued.accessToken)).toBeDefined();
      await a.tokens.revoke(issued.accessToken);
      expect(await b.tokens.verify(issued.accessToken)).toBeUndefined();
      expect(await a.tokens.verify(issued.accessToken)).toBeUndefined();
    } finally {
      for (const s of instances) await s.close();
      await created?.dispose();
    }
  });

  /** Two instances on one shared store, as in the D4 test above. */
  async function twoInstances(name: string, fn: (a: Services, b: Services) => Promise<void>) {
    const created = target.name === 'sqlite' ? undefined : await target.create();
    const url = created?.url ?? `sqlite:${join(dir, `${name}.db`)}`;
    const instances: Services[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        instances.push(await createServices(testConfig({ databaseUrl: url }), { logger: silentLogger() }));
      }
      await fn(instances[0] as Services, instances[1] as Services);
    } finally {
      for (const s of instances) await s.close();
      await created?.dispose();
    }
  }

  /** A code with scope issued and redeemed on `on`: an access token and a refresh token. */
  async function signIn(on: Services, clientId = 'https://app.example/') {
    const verifier = 'a-verifier-that-is-long-enough-for-rfc7636-0123456789';
    const code = await on.codes.issue({
      clientId,
      redirectUri: `${clientId}callback`,
      codeChallenge: s256(verifier),
      me: 'https://alice.example/',
      scope: ['create'],
      authMethod: 'email',
    });
    const redeemed = await on.codes.redeem('token', {
      code,
      clientId,
      redirectUri: `${clientId}callback`,
      codeVerifier: verifier,
    });
    const tokens = redeemed?.tokens;
    if (!tokens?.refreshToken) throw new Error('expected an access and a refresh token');
    return { access: tokens.accessToken, refresh: tokens.refreshToken, tokenId: tokens.tokenId, clientId };
  }

  it('D9: a grant revoked on one instance is refused at once by the other (access and refresh)', async () => {
    await twoInstances('d9', async (a, b) => {
      const byToken = await signIn(a);
      const byId = await signIn(a);
      expect(await b.tokens.verify(byToken.access)).toBeDefined();
      expect(await b.tokens.verify(byId.access)).toBeDefined();

      // `latchkey tokens revoke ID`, run against instance a.
      expect(await a.grants.revokeForAccessToken(byToken.tokenId)).toBeDefined();
      expect(await b.tokens.verify(byToken.access)).toBeUndefined();
      await expect(
        b.refreshTokens?.refresh({ refreshToken: byToken.refresh, clientId: byToken.clientId }),
      ).rejects.toMatchObject({ code: 'invalid_grant' });

      // `latchkey grants revoke ID`, run against instance b; instance a sees it.
      const [grant] = await b.grants.list({ me: 'https://alice.example/' });
      expect(grant).toBeDefined();
      expect(await b.grants.revoke(grant?.id as string)).toBe(true);
      expect(await a.tokens.verify(byId.access)).toBeUndefined();
      await expect(
        a.refreshTokens?.refresh({ refreshToken: byId.refresh, clientId: byId.clientId }),
      ).rejects.toMatchObject({ code: 'invalid_grant' });
    });
  });

  it('A10: a client denied through one instance is refused at once by the other', async () => {
    await twoInstances('a10', async (a, b) => {
      const evil = await signIn(a, 'https://evil.example/');
      const good = await signIn(a, 'https://good.example/');
      // Both instances have verified once, so both hold a snapshot of the (empty) policy.
      expect(await a.tokens.verify(evil.access)).toBeDefined();
      expect(await b.tokens.verify(evil.access)).toBeDefined();
      // The allow-list (no revocation) shows the snapshot itself goes stale at once.
      await a.clientPolicy.set('https://good.example/', 'allow');
      expect(await b.tokens.verify(evil.access)).toBeUndefined();
      expect(await b.tokens.verify(good.access)).toBeDefined();
      await b.clientPolicy.remove('https://good.example/');
      expect(await a.tokens.verify(evil.access)).toBeDefined();
      await b.clientPolicy.set('https://evil.example/app', 'allow');
      expect(await a.tokens.verify(evil.access)).toBeUndefined();
      expect(await a.tokens.verify(good.access)).toBeUndefined();
    });
  });
});
