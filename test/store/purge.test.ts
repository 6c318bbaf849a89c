/**
 * SECURITY R6 on SQLite and PostgreSQL: every table with an end of life is purged, in bounded
 * batches, and two instances purging at once neither fail nor leave rows behind. Rows are written
 * with the store's own insert functions; only the 20k-row backlog is bulk-inserted.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertAccountSession, insertSigninLog } from '../../src/store/account.js';
import { putCachedClientInfo } from '../../src/store/clients.js';
import { insertCode } from '../../src/store/codes.js';
import type { Store } from '../../src/store/db.js';
import { type PurgeTable, purgeExpired, SIGNIN_LOG_KEEP_SECONDS } from '../../src/store/purge.js';
import { insertRefreshToken } from '../../src/store/refresh-tokens.js';
import {
  hitRateLimit,
  insertAttempt,
  insertStep,
  putEmailCode,
  upsertIdentity,
} from '../../src/store/signin.js';
import { insertAccessToken, insertGrant, recordRedeemedCode } from '../../src/store/tokens.js';
import { storeTargets } from '../helpers/stores.js';

const AT = 10_000_000;
const KEEP = 7 * 24 * 3600;
/** Long past every keep period. */
const LONG_AGO = AT - 2 * KEEP;
const LATER = AT + 3600;

const grant = (id: string, createdAt: number) => ({
  id,
  me: 'https://alice.example/',
  clientId: 'https://app.example/',
  scope: 'create',
  source: 'code' as const,
  authorizationEndpoint: null,
  createdAt,
});

const access = (id: string, grantId: string, expiresAt: number, revokedAt: number | null = null) => ({
  id,
  tokenHash: `hash-${id}`,
  grantId,
  me: 'https://alice.example/',
  clientId: 'https://app.example/',
  scope: 'create',
  createdAt: LONG_AGO,
  expiresAt,
  lastUsedAt: null,
  revokedAt,
});

const refresh = (id: string, grantId: string, expiresAt: number, revokedAt: number | null = null) => ({
  id,
  token_hash: `rhash-${id}`,
  grant_id: grantId,
  me: 'https://alice.example/',
  client_id: 'https://app.example/',
  scope: 'create',
  created_at: LONG_AGO,
  expires_at: expiresAt,
  rotated_at: null,
  revoked_at: revokedAt,
});

const code = (hash: string, expiresAt: number) => ({
  code_hash: hash,
  client_id: 'https://app.example/',
  redirect_uri: 'https://app.example/cb',
  code_challenge: null,
  me: 'https://alice.example/',
  scope: '',
  profile: null,
  auth_method: 'email',
  created_at: expiresAt - 60,
  expires_at: expiresAt,
  used_at: null,
  used_by: null,
  grant_id: null,
});

const attempt = (id: string, expiresAt: number) => ({
  id,
  session_hash: `s-${id}`,
  state: 'requested',
  request: '{}',
  client: '{}',
  me: null,
  candidates: null,
  method: null,
  method_state: null,
  proof: null,
  created_at: expiresAt - 600,
  updated_at: expiresAt - 600,
  expires_at: expiresAt,
});

/** One expired and one live row in each sign-in table, plus the client cache. */
async function seedShortLived(store: Store): Promise<void> {
  const db = store.db;
  for (const [name, expires] of [
    ['old', AT - 1],
    ['live', LATER],
  ] as const) {
    await insertAttempt(db, attempt(`a-${name}`, expires));
    await insertStep(db, {
      token_hash: `step-${name}`,
      kind: 'site',
      attempt_id: `a-${name}`,
      session_hash: 's',
      created_at: expires - 600,
      expires_at: expires,
      used_at: null,
    });
    await upsertIdentity(db, {
      session_hash: `s-${name}`,
      me: 'https://alice.example/',
      method: 'email',
      profile: null,
      authenticated_at: expires - 600,
      expires_at: expires,
    });
    await putEmailCode(db, {
      attempt_id: `a-${name}`,
      session_hash: 's',
      me: 'https://alice.example/',
      address: 'alice@alice.example',
      code_hash: `ec-${name}`,
      tries: 0,
      created_at: expires - 600,
      expires_at: expires,
      used_at: null,
    });
    await putCachedClientInfo(db, {
      clientId: `https://${name}.example/`,
      info: '{}',
      fetchedAt: expires - 600,
      expiresAt: expires,
    });
  }
  // A window that ended before AT, and one still open.
  await hitRateLimit(db, 'signin-ip:old', 600, AT - 1200);
  await hitRateLimit(db, 'signin-ip:live', 600, AT);
}

async function ids(
  store: Store,
  table: 'grants' | 'access_tokens' | 'refresh_tokens' | 'signin_log',
): Promise<string[]> {
  const rows = await store.db.selectFrom(table).select('id').orderBy('id').execute();
  return rows.map((row) => row.id);
}

describe.each(storeTargets)('purge on $name (SECURITY R6)', (target) => {
  let store: Store;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    ({ store, dispose } = await target.create());
  });
  afterEach(async () => {
    await dispose();
  });

  it('R6: purges every table with an end of life, grants included, and keeps live rows and the week of expired tokens', async () => {
    const db = store.db;
    await seedShortLived(store);
    // g-dead: its tokens expired long ago → tokens, then the grant, go.
    await insertGrant(db, grant('g-dead', LONG_AGO));
    await insertAccessToken(db, access('t-dead', 'g-dead', AT - KEEP - 10));
    await insertRefreshToken(db, refresh('r-dead', 'g-dead', AT - KEEP - 10));
    // g-revoked: revoked long ago; its long-lived tokens are revoked with it → all go.
    await insertGrant(db, grant('g-revoked', LONG_AGO));
    await insertAccessToken(db, access('t-revoked', 'g-revoked', LATER, AT - KEEP - 10));
    await insertRefreshToken(db, refresh('r-revoked', 'g-revoked', LATER, AT - KEEP - 10));
    await db
      .updateTable('grants')
      .set({ revoked_at: AT - KEEP - 10 })
      .where('id', '=', 'g-revoked')
      .execute();
    // g-live: old, but its access token is still usable → kept.
    await insertGrant(db, grant('g-live', LONG_AGO));
    await insertAccessToken(db, access('t-live', 'g-live', LATER));
    // g-week: its token expired yesterday → token kept a week for `tokens list`, grant with it.
    await insertGrant(db, grant('g-week', LONG_AGO));
    await insertAccessToken(db, access('t-week', 'g-week', AT - 86400));
    // g-refresh: access token long gone, refresh token usable → the grant stays.
    await insertGrant(db, grant('g-refresh', LONG_AGO));
    await insertAccessToken(db, access('t-refresh-old', 'g-refresh', AT - KEEP - 10));
    await insertRefreshToken(db, refresh('r-refresh', 'g-refresh', LATER));
    // Redeemed-code markers go at expiry; our own codes a day after (late replays still revoke, C1).
    await recordRedeemedCode(db, { codeHash: 'rc-old', grantId: 'g-live', expiresAt: AT - 1 });
    await recordRedeemedCode(db, { codeHash: 'rc-live', grantId: 'g-live', expiresAt: LATER });
    await insertCode(db, code('c-old', AT - 86400 - 1));
    await insertCode(db, code('c-recent', AT - 60));
    // The account page (PROTOCOL §13): sessions go at expiry, the sign-in log after 90 days.
    for (const [id, expiresAt] of [
      ['as-old', AT - 1],
      ['as-live', LATER],
    ] as const) {
      await insertAccountSession(db, {
        id_hash: id,
        me: 'https://alice.example/',
        method: 'email',
        proven_at: expiresAt - 12 * 3600,
        fresh: 1,
        created_at: expiresAt - 12 * 3600,
        expires_at: expiresAt,
      });
    }
    for (const [id, createdAt] of [
      ['log-old', AT - SIGNIN_LOG_KEEP_SECONDS - 1],
      ['log-recent', AT - SIGNIN_LOG_KEEP_SECONDS + 60],
    ] as const) {
      await insertSigninLog(db, {
        id,
        me: 'https://alice.example/',
        client_id: 'https://app.example/',
        client_name: 'App',
        method: 'email',
        evidence: 'The site links to mailto:alice@alice.example.',
        created_at: createdAt,
      });
    }

    const report = await purgeExpired(db, AT, { keepSeconds: KEEP });

    const expected: Record<PurgeTable, number> = {
      signin_steps: 1,
      email_codes: 1,
      signin_attempts: 1,
      session_identities: 1,
      rate_limits: 1,
      client_cache: 1,
      redeemed_codes: 1,
      auth_codes: 1,
      access_tokens: 3,
      refresh_tokens: 2,
      grants: 2,
      account_sessions: 1,
      webauthn_challenges: 0,
      signin_log: 1,
    };
    expect(report.removed).toEqual(expected);
    expect(report.total).toBe(17);
    expect(
      (await db.selectFrom('account_sessions').select('id_hash').execute()).map((r) => r.id_hash),
    ).toEqual(['as-live']);
    expect(await ids(store, 'signin_log')).toEqual(['log-recent']);
    expect(await ids(store, 'grants')).toEqual(['g-live', 'g-refresh', 'g-week']);
    expect(await ids(store, 'access_tokens')).toEqual(['t-live', 't-week']);
    expect(await ids(store, 'refresh_tokens')).toEqual(['r-refresh']);
    for (const table of ['signin_steps', 'email_codes', 'signin_attempts', 'session_identities'] as const) {
      const left = await db.selectFrom(table).select('expires_at').execute();
      expect(
        left.map((row) => row.expires_at),
        table,
      ).toEqual([LATER]);
    }
    expect((await db.selectFrom('rate_limits').select('key').execute()).map((r) => r.key)).toEqual([
      'signin-ip:live',
    ]);
    expect(
      (await db.selectFrom('client_cache').select('client_id').execute()).map((r) => r.client_id),
    ).toEqual(['https://live.example/']);
    expect(
      (await db.selectFrom('redeemed_codes').select('code_hash').execute()).map((r) => r.code_hash),
    ).toEqual(['rc-live']);
    expect((await db.selectFrom('auth_codes').select('code_hash').execute()).map((r) => r.code_hash)).toEqual(
      ['c-recent'],
    );
    // R1: no token is left without its grant.
    const orphans = await db
      .selectFrom('access_tokens')
      .leftJoin('grants', 'grants.id', 'access_tokens.grant_id')
      .select('access_tokens.id')
      .where('grants.id', 'is', null)
      .execute();
    expect(orphans).toEqual([]);

    // Running again finds nothing more.
    expect((await purgeExpired(db, AT, { keepSeconds: KEEP })).total).toBe(0);
  });

  it('R6: a 20k-row backlog is purged in batches, no DELETE removing more than batchSize rows', async () => {
    const db = store.db;
    const grants = 2_000;
    const perGrant = 10;
    for (let g = 0; g < grants; g += 500) {
      await db
        .insertInto('grants')
        .values(
          Array.from({ length: 500 }, (_, i) => ({
            id: `g${String(g + i).padStart(5, '0')}`,
            me: 'https://alice.example/',
            client_id: 'https://app.example/',
            scope: 'create',
            source: 'code',
            authorization_endpoint: null,
            created_at: LONG_AGO,
            revoked_at: null,
            profile: null,
          })),
        )
        .execute();
    }
    for (let n = 0; n < grants * perGrant; n += 1_000) {
      await db
        .insertInto('access_tokens')
        .values(
          Array.from({ length: 1_000 }, (_, i) => {
            const k = n + i;
            return {
              id: `t${String(k).padStart(6, '0')}`,
              token_hash: `h${k}`,
              grant_id: `g${String(Math.floor(k / perGrant)).padStart(5, '0')}`,
              me: 'https://alice.example/',
              client_id: 'https://app.example/',
              scope: 'create',
              created_at: LONG_AGO,
              expires_at: AT - KEEP - 1,
              last_used_at: null,
              revoked_at: null,
            };
          }),
        )
        .execute();
    }

    const batches: Array<[PurgeTable, number]> = [];
    const report = await purgeExpired(db, AT, {
      keepSeconds: KEEP,
      batchSize: 500,
      onBatch: (table, removed) => batches.push([table, removed]),
    });

    expect(report.removed.access_tokens).toBe(20_000);
    expect(report.removed.grants).toBe(2_000);
    expect(batches.every(([, removed]) => removed <= 500)).toBe(true);
    const tokenBatches = batches.filter(([table, removed]) => table === 'access_tokens' && removed > 0);
    const grantBatches = batches.filter(([table, removed]) => table === 'grants' && removed > 0);
    expect(tokenBatches).toHaveLength(40);
    expect(grantBatches).toHaveLength(4);
    expect(report.batches).toBe(batches.length);
    expect(await ids(store, 'access_tokens')).toEqual([]);
    expect(await ids(store, 'grants')).toEqual([]);
  }, 120_000);

  it('R6: two instances purging at once both finish, remove each row once, and leave nothing behind', async () => {
    const db = store.db;
    for (let g = 0; g < 300; g++) {
      const id = `g${String(g).padStart(4, '0')}`;
      await insertGrant(db, grant(id, LONG_AGO));
      await insertAccessToken(db, access(`t${id}`, id, AT - KEEP - 1));
    }
    await insertGrant(db, grant('g-live', LONG_AGO));
    await insertAccessToken(db, access('t-live', 'g-live', LATER));

    const [one, two] = await Promise.all([
      purgeExpired(db, AT, { keepSeconds: KEEP, batchSize: 50 }),
      purgeExpired(db, AT, { keepSeconds: KEEP, batchSize: 50 }),
    ]);

    expect(one.removed.access_tokens + two.removed.access_tokens).toBe(300);
    expect(one.removed.grants + two.removed.grants).toBe(300);
    expect(await ids(store, 'grants')).toEqual(['g-live']);
    expect(await ids(store, 'access_tokens')).toEqual(['t-live']);
  }, 120_000);

  it('R6: an aborted purge stops between batches', async () => {
    await seedShortLived(store);
    const stop = new AbortController();
    stop.abort();
    const report = await purgeExpired(store.db, AT, { keepSeconds: KEEP, signal: stop.signal });
    expect(report.batches).toBe(0);
  });
});
