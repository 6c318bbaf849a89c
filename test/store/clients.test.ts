/**
 * Client rows (PROTOCOL §6) on SQLite and PostgreSQL: the client_id document cache and the
 * operator's allow/deny policy behind `latchkey clients`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isClientPermitted } from '../../src/indieauth/client-policy.js';
import {
  allowListMode,
  clientPolicy,
  findCachedClientInfo,
  forgetCachedClientInfo,
  listClientPolicies,
  putCachedClientInfo,
  removeClientPolicy,
  setClientPolicy,
} from '../../src/store/clients.js';
import type { Store } from '../../src/store/db.js';
import { purgeExpired } from '../../src/store/purge.js';
import { storeTargets } from '../helpers/stores.js';

describe.each(storeTargets)('client store on $name', (target) => {
  let store: Store;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ store, dispose } = await target.create());
  });
  afterEach(async () => {
    await dispose();
  });

  it('caches a client document until it expires, replaces it, and purges expired rows', async () => {
    const id = 'https://app.example/';
    await putCachedClientInfo(store.db, { clientId: id, info: '{"v":1}', fetchedAt: 1000, expiresAt: 1600 });
    expect(await findCachedClientInfo(store.db, id, 1599)).toBe('{"v":1}');
    expect(await findCachedClientInfo(store.db, id, 1600)).toBeUndefined();
    await putCachedClientInfo(store.db, { clientId: id, info: '{"v":2}', fetchedAt: 1700, expiresAt: 2300 });
    expect(await findCachedClientInfo(store.db, id, 1800)).toBe('{"v":2}');
    await putCachedClientInfo(store.db, {
      clientId: 'https://old.example/',
      info: '{}',
      fetchedAt: 1,
      expiresAt: 100,
    });
    expect((await purgeExpired(store.db, 1800, { keepSeconds: 0 })).removed.client_cache).toBe(1);
    expect(await forgetCachedClientInfo(store.db, id)).toBe(true);
    expect(await findCachedClientInfo(store.db, id, 1800)).toBeUndefined();
  });

  it('with no decisions every client is permitted', async () => {
    expect(await clientPolicy(store, 'https://app.example/')).toBe('default');
    expect(await allowListMode(store.db)).toBe(false);
    expect(await isClientPermitted(store, 'https://app.example/')).toEqual({ ok: true });
  });

  it('deny refuses that client only, and keys client_ids canonically', async () => {
    expect(await setClientPolicy(store.db, 'https://Bad.example', 'deny', 1000)).toBeUndefined();
    expect(await clientPolicy(store, 'https://bad.example/')).toBe('deny');
    const refused = await isClientPermitted(store, 'https://bad.example/');
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toContain('blocked the client https://bad.example/');
    expect(await isClientPermitted(store, 'https://good.example/')).toEqual({ ok: true });
    expect(await listClientPolicies(store.db)).toEqual([
      { clientId: 'https://bad.example/', decision: 'deny', createdAt: 1000 },
    ]);
  });

  it('one allow switches to allow-list mode; removing it switches back', async () => {
    await setClientPolicy(store.db, 'https://bad.example/', 'deny');
    expect(await setClientPolicy(store.db, 'https://mine.example/', 'allow')).toBeUndefined();
    expect(await allowListMode(store.db)).toBe(true);
    expect(await isClientPermitted(store, 'https://mine.example/')).toEqual({ ok: true });
    const other = await isClientPermitted(store, 'https://other.example/');
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.reason).toContain('latchkey clients allow https://other.example/');
    expect((await isClientPermitted(store, 'https://bad.example/')).ok).toBe(false);

    expect(await removeClientPolicy(store.db, 'https://mine.example')).toBe(true);
    expect(await removeClientPolicy(store.db, 'https://mine.example/')).toBe(false);
    expect(await allowListMode(store.db)).toBe(false);
    expect(await isClientPermitted(store, 'https://other.example/')).toEqual({ ok: true });
  });

  it('a later decision replaces an earlier one and reports it', async () => {
    await setClientPolicy(store.db, 'https://app.example/', 'allow', 1000);
    expect(await setClientPolicy(store.db, 'https://app.example/', 'deny', 2000)).toBe('allow');
    expect(await clientPolicy(store, 'https://app.example/')).toBe('deny');
    expect(await allowListMode(store.db)).toBe(false);
    expect(await listClientPolicies(store.db)).toEqual([
      { clientId: 'https://app.example/', decision: 'deny', createdAt: 2000 },
    ]);
  });
});
