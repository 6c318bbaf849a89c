/**
 * One store suite, run against SQLite and PostgreSQL (DESIGN "Testing").
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findCode, insertCode } from '../../src/store/codes.js';
import type { Store } from '../../src/store/db.js';
import { purgeExpired } from '../../src/store/purge.js';
import { findRefreshTokenByHash, insertRefreshToken } from '../../src/store/refresh-tokens.js';
import { getSetting, putSettingIfAbsent } from '../../src/store/settings.js';
import {
  findAccessTokenByHash,
  findRedeemedCode,
  insertAccessToken,
  insertGrant,
  listAccessTokens,
  recordRedeemedCode,
  revokeAccessToken,
  revokeGrant,
} from '../../src/store/tokens.js';
import {
  addTrustedEndpoint,
  isTrustedEndpoint,
  listTrustedEndpoints,
  removeTrustedEndpoint,
} from '../../src/store/trusted-endpoints.js';
import { storeTargets } from '../helpers/stores.js';

const grant = (id: string) => ({
  id,
  me: 'https://alice.example/',
  clientId: 'https://app.example/',
  scope: 'create',
  source: 'mintoken' as const,
  authorizationEndpoint: 'https://alice.example/auth',
  createdAt: 1000,
});

const token = (
  id: string,
  grantId: string,
  overrides: Partial<Parameters<typeof insertAccessToken>[1]> = {},
) => ({
  id,
  tokenHash: `hash-${id}`,
  grantId,
  me: 'https://alice.example/',
  clientId: 'https://app.example/',
  scope: 'create',
  createdAt: 1000,
  expiresAt: 2000,
  lastUsedAt: null,
  revokedAt: null,
  ...overrides,
});

describe.each(storeTargets)('store on $name', (target) => {
  let store: Store;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ store, dispose } = await target.create());
  });
  afterEach(async () => {
    await dispose();
  });

  it('migrations are idempotent', async () => {
    expect(await store.migrate()).toEqual([]);
    await store.ping();
  });

  it('settings: the first value stored wins', async () => {
    expect(await putSettingIfAbsent(store.db, 'secret', 'one')).toBe('one');
    expect(await putSettingIfAbsent(store.db, 'secret', 'two')).toBe('one');
    expect(await getSetting(store.db, 'secret')).toBe('one');
  });

  it('trusted endpoints: add, list, check, remove', async () => {
    expect(await addTrustedEndpoint(store.db, 'https://b.example/auth')).toBe(true);
    expect(await addTrustedEndpoint(store.db, 'https://a.example/auth')).toBe(true);
    expect(await addTrustedEndpoint(store.db, 'https://a.example/auth')).toBe(false);
    expect(await listTrustedEndpoints(store.db)).toEqual([
      'https://a.example/auth',
      'https://b.example/auth',
    ]);
    expect(await isTrustedEndpoint(store.db, 'https://a.example/auth')).toBe(true);
    expect(await isTrustedEndpoint(store.db, 'https://a.example/auth/')).toBe(false);
    expect(await removeTrustedEndpoint(store.db, 'https://a.example/auth')).toBe(true);
    expect(await removeTrustedEndpoint(store.db, 'https://a.example/auth')).toBe(false);
  });

  it('tokens: insert, find by hash, revoke once', async () => {
    await insertGrant(store.db, grant('g1'));
    await insertAccessToken(store.db, token('t1', 'g1'));
    const found = await findAccessTokenByHash(store, 'hash-t1');
    expect(found).toMatchObject({ id: 't1', grantId: 'g1', expiresAt: 2000, revokedAt: null });
    expect(typeof found?.createdAt).toBe('number');
    expect(await revokeAccessToken(store.db, { tokenHash: 'hash-t1' }, 1500)).toBe(true);
    expect(await revokeAccessToken(store.db, { id: 't1' }, 1600)).toBe(false);
    expect((await findAccessTokenByHash(store, 'hash-t1'))?.revokedAt).toBe(1500);
  });

  it('revoking a grant revokes all of its tokens and no others', async () => {
    await insertGrant(store.db, grant('g1'));
    await insertGrant(store.db, grant('g2'));
    await insertAccessToken(store.db, token('t1', 'g1'));
    await insertAccessToken(store.db, token('t2', 'g1'));
    await insertAccessToken(store.db, token('t3', 'g2'));
    await revokeGrant(store.db, 'g1', 1500);
    expect((await findAccessTokenByHash(store, 'hash-t1'))?.revokedAt).toBe(1500);
    expect((await findAccessTokenByHash(store, 'hash-t2'))?.revokedAt).toBe(1500);
    expect((await findAccessTokenByHash(store, 'hash-t3'))?.revokedAt).toBeNull();
  });

  it('lists active tokens, optionally for one profile', async () => {
    await insertGrant(store.db, grant('g1'));
    await insertAccessToken(store.db, token('t1', 'g1', { createdAt: 1001 }));
    await insertAccessToken(store.db, token('t2', 'g1', { me: 'https://bob.example/', createdAt: 1002 }));
    await insertAccessToken(store.db, token('t3', 'g1', { expiresAt: 1100 }));
    const active = await listAccessTokens(store.db, { activeAt: 1200 });
    expect(active.map((t) => t.id)).toEqual(['t2', 't1']);
    const bob = await listAccessTokens(store.db, { me: 'https://bob.example/' });
    expect(bob.map((t) => t.id)).toEqual(['t2']);
  });

  it('R6: purges long-expired tokens and old redeemed-code markers', async () => {
    await insertGrant(store.db, grant('g1'));
    await insertAccessToken(store.db, token('old', 'g1', { expiresAt: 100 }));
    await insertAccessToken(store.db, token('fresh', 'g1', { expiresAt: 5000 }));
    await recordRedeemedCode(store.db, { codeHash: 'c-old', grantId: 'g1', expiresAt: 100 });
    await recordRedeemedCode(store.db, { codeHash: 'c-new', grantId: 'g1', expiresAt: 5000 });
    const code = (hash: string, expires: number) => ({
      code_hash: hash,
      client_id: 'https://app.example/',
      redirect_uri: 'https://app.example/cb',
      code_challenge: null,
      me: 'https://alice.example/',
      scope: '',
      profile: null,
      auth_method: 'email',
      created_at: 0,
      expires_at: expires,
      used_at: null,
      used_by: null,
      grant_id: null,
    });
    await insertCode(store.db, code('code-old', 100));
    await insertCode(store.db, code('code-recent', 950));
    const refresh = (id: string, expires: number) => ({
      id,
      token_hash: `rhash-${id}`,
      grant_id: 'g1',
      me: 'https://alice.example/',
      client_id: 'https://app.example/',
      scope: 'create',
      created_at: 0,
      expires_at: expires,
      rotated_at: null,
      revoked_at: null,
    });
    await insertRefreshToken(store.db, refresh('r-old', 100));
    await insertRefreshToken(store.db, refresh('r-fresh', 5000));
    // Used or expired codes are kept a day (late replays still revoke); tokens here 500 s.
    expect((await purgeExpired(store.db, 1000, { keepSeconds: 500 })).total).toBe(3);
    expect(await findCode(store.db, 'code-old')).toBeDefined();
    expect(await findAccessTokenByHash(store, 'hash-old')).toBeUndefined();
    expect(await findAccessTokenByHash(store, 'hash-fresh')).toBeDefined();
    expect(await findRedeemedCode(store.db, 'c-old')).toBeUndefined();
    expect(await findRedeemedCode(store.db, 'c-new')).toEqual({ grantId: 'g1' });
    // A day later: the old code goes, and so do the rows that were fresh at t=1000; with no token
    // left, so does their grant (test/store/purge.test.ts covers every table).
    expect((await purgeExpired(store.db, 100 + 86400 + 1, { keepSeconds: 500 })).total).toBe(5);
    expect(await findCode(store.db, 'code-old')).toBeUndefined();
    expect(await findCode(store.db, 'code-recent')).toBeDefined();
    expect(await findRefreshTokenByHash(store.db, 'rhash-r-old')).toBeUndefined();
  });

  it('a redeemed code is recorded exactly once under 50 concurrent attempts', async () => {
    await insertGrant(store.db, grant('g1'));
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        store.write((tx) => recordRedeemedCode(tx, { codeHash: 'same', grantId: 'g1', expiresAt: 9999 })),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('a failing write transaction leaves nothing behind', async () => {
    await expect(
      store.write(async (tx) => {
        await insertGrant(tx, grant('g-rollback'));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await store.db.selectFrom('grants').selectAll().execute();
    expect(rows).toEqual([]);
  });

  it('write transactions serialise read-then-write sequences', async () => {
    await putSettingIfAbsent(store.db, 'counter', '0');
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.write(async (tx) => {
          // SQLite's BEGIN IMMEDIATE already holds the write lock; PostgreSQL needs a row lock.
          const select = tx.selectFrom('settings').select('value').where('key', '=', 'counter');
          const row = await (store.dialect === 'postgres'
            ? select.forUpdate()
            : select
          ).executeTakeFirstOrThrow();
          await tx
            .updateTable('settings')
            .set({ value: String(Number(row.value) + 1) })
            .where('key', '=', 'counter')
            .execute();
        }),
      ),
    );
    expect(await getSetting(store.db, 'counter')).toBe('20');
  });

  it('returns epoch-second columns as numbers on every dialect', async () => {
    await insertGrant(store.db, grant('g1'));
    await insertAccessToken(store.db, token('t1', 'g1', { expiresAt: 4_102_444_800 }));
    const found = await findAccessTokenByHash(store, 'hash-t1');
    expect(found?.expiresAt).toBe(4_102_444_800);
    expect(typeof found?.createdAt).toBe('number');
  });
});
