/**
 * Several instances share one database (README "Deployment"): what one instance issues or revokes,
 * every other instance sees on the next request, with no cache in between.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
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
});
