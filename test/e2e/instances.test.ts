/**
 * Several instances on PostgreSQL, proven (DESIGN "Stateless instances", issue 10 item 4): two real
 * Latchkey processes share one throwaway database behind a round-robin proxy on loopback, and a whole
 * sign-in (site form, email code, consent, code, token, verification, refresh, introspection,
 * revocation) walks across them with every request on the other instance than the one before.
 *
 * - D5 across instances: a refresh on one instance rotates the token; the old one presented to the
 *   other instance is refused and ends the grant there and here.
 * - D4: right after `/revoke` on one instance the token is inactive on both, asked directly.
 * - R6: both instances purge at start while the other does the same, and two more purges run at
 *   once while both serve: exactly the rows past their end of life go, each once, never a kept or
 *   live one, with no error or deadlock in either process, and live tokens keep verifying.
 */

import { createHash, randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/db.js';
import { type PurgeReport, type PurgeTable, purgeExpired } from '../../src/store/purge.js';
import type { Database } from '../../src/store/schema.js';
import { ResourceServerService } from '../../src/tokens/resource-servers.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { HttpWalker, readPage, type WirePage } from '../helpers/http-walker.js';
import { type LatchkeyProcess, type LogLine, startLatchkeyProcess } from '../helpers/latchkey-process.js';
import { type RoundRobinProxy, startRoundRobin } from '../helpers/round-robin.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';
import { storeTargets } from '../helpers/stores.js';

const postgres = storeTargets.find((target) => target.name === 'postgres');

const CLIENT = 'http://app.test/';
const REDIRECT = 'http://app.test/callback';
const STATE = 'st-1 &=?/+%';
const DAY = 86400;
/** server.ts KEEP_EXPIRED: tokens and grants stay a week past their end for `latchkey tokens list`. */
const KEEP = 7 * DAY;
/** Purge sweeps whose rows only the seed below can have made expired: these are counted exactly. */
const EXACT: ReadonlyArray<PurgeTable & SeededTable> = [
  'grants',
  'access_tokens',
  'refresh_tokens',
  'auth_codes',
];

const nowSeconds = () => Math.floor(Date.now() / 1000);
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

// ---------------------------------------------------------------------------------------------------
// Rows for the purge: many past their end of life, and beside them rows that must stay.

type SeededTable = 'grants' | 'access_tokens' | 'refresh_tokens' | 'auth_codes' | 'signin_attempts';

interface Seeded {
  /** Ids (or code hashes) of rows the purge must remove, per table. */
  expired: Record<SeededTable, string[]>;
  /** Ids of rows it must keep. */
  kept: Record<SeededTable, string[]>;
  /** A live access token of a kept grant, in clear: it must verify on both instances after the purge. */
  liveToken: string;
}

const emptyIds = (): Record<SeededTable, string[]> => ({
  grants: [],
  access_tokens: [],
  refresh_tokens: [],
  auth_codes: [],
  signin_attempts: [],
});

async function insertChunked<T extends keyof Database>(
  db: Kysely<Database>,
  table: T,
  rows: Database[T][],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) {
    // Kysely cannot narrow a generic table's insert type; the rows are typed by the caller.
    await db
      .insertInto(table)
      .values(rows.slice(i, i + 200) as never)
      .execute();
  }
}

/**
 * `n` expired grants with an access and a refresh token each (long past the week's keep), `n / 5`
 * grants revoked long ago, `n` codes past their day, `n / 2` sign-in attempts with their steps; and
 * the rows that must stay: tokens expired or revoked within the week, a grant younger than the week,
 * a recently revoked one, a live token, a code within its day, a live attempt.
 */
async function seed(db: Kysely<Database>, tag: string, at: number, n: number): Promise<Seeded> {
  const expired = emptyIds();
  const kept = emptyIds();
  const person = { me: 'http://bob.test/', client_id: CLIENT, scope: 'create' };
  const grants: Database['grants'][] = [];
  const access: Database['access_tokens'][] = [];
  const refresh: Database['refresh_tokens'][] = [];
  const codes: Database['auth_codes'][] = [];
  const attempts: Database['signin_attempts'][] = [];
  const steps: Database['signin_steps'][] = [];

  const grant = (id: string, createdAt: number, revokedAt: number | null, keep: boolean) => {
    grants.push({
      id,
      ...person,
      source: 'code',
      authorization_endpoint: null,
      created_at: createdAt,
      revoked_at: revokedAt,
      profile: null,
      client_name: null,
      client_logo: null,
      auth_method: 'email',
    });
    (keep ? kept : expired).grants.push(id);
  };
  const token = (
    id: string,
    grantId: string,
    expiresAt: number,
    revokedAt: number | null,
    keep: boolean,
    hash = sha256(`${id}-${randomBytes(8).toString('hex')}`),
  ) => {
    access.push({
      id,
      token_hash: hash,
      grant_id: grantId,
      ...person,
      created_at: at - 30 * DAY,
      expires_at: expiresAt,
      last_used_at: null,
      revoked_at: revokedAt,
    });
    (keep ? kept : expired).access_tokens.push(id);
  };
  const refreshToken = (
    id: string,
    grantId: string,
    expiresAt: number,
    revokedAt: number | null,
    keep: boolean,
  ) => {
    refresh.push({
      id,
      token_hash: sha256(`${id}-${randomBytes(8).toString('hex')}`),
      grant_id: grantId,
      ...person,
      created_at: at - 30 * DAY,
      expires_at: expiresAt,
      rotated_at: null,
      revoked_at: revokedAt,
    });
    (keep ? kept : expired).refresh_tokens.push(id);
  };
  const code = (hash: string, expiresAt: number, keep: boolean) => {
    codes.push({
      code_hash: hash,
      client_id: CLIENT,
      redirect_uri: REDIRECT,
      code_challenge: null,
      me: person.me,
      scope: '',
      profile: null,
      auth_method: 'email',
      created_at: expiresAt - 60,
      expires_at: expiresAt,
      used_at: null,
      used_by: null,
      grant_id: null,
      client_name: null,
      client_logo: null,
      proof_fresh: null,
    });
    (keep ? kept : expired).auth_codes.push(hash);
  };
  const attempt = (id: string, expiresAt: number, keep: boolean) => {
    attempts.push({
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
    steps.push({
      token_hash: `step-${id}`,
      kind: 'site',
      attempt_id: id,
      session_hash: `s-${id}`,
      created_at: expiresAt - 600,
      expires_at: expiresAt,
      used_at: null,
    });
    (keep ? kept : expired).signin_attempts.push(id);
  };

  for (let i = 0; i < n; i++) {
    grant(`${tag}-g-old-${i}`, at - 30 * DAY, null, false);
    token(`${tag}-at-old-${i}`, `${tag}-g-old-${i}`, at - 20 * DAY, null, false);
    refreshToken(`${tag}-rt-old-${i}`, `${tag}-g-old-${i}`, at - 20 * DAY, null, false);
    code(`${tag}-code-old-${i}`, at - 2 * DAY, false);
  }
  for (let i = 0; i < n / 5; i++) {
    // Revoked long ago although their expiry is still ahead: the revocation ends them.
    grant(`${tag}-g-rev-${i}`, at - 30 * DAY, at - 10 * DAY, false);
    token(`${tag}-at-rev-${i}`, `${tag}-g-rev-${i}`, at + 10 * DAY, at - 10 * DAY, false);
    refreshToken(`${tag}-rt-rev-${i}`, `${tag}-g-rev-${i}`, at + 10 * DAY, at - 10 * DAY, false);
  }
  for (let i = 0; i < n / 2; i++) attempt(`${tag}-a-old-${i}`, at - 60, false);

  // What stays: within the week's keep, younger than it, or alive.
  grant(`${tag}-g-recent`, at - 30 * DAY, null, true);
  token(`${tag}-at-recent`, `${tag}-g-recent`, at - DAY, null, true);
  refreshToken(`${tag}-rt-recent`, `${tag}-g-recent`, at + DAY, at - DAY, true);
  grant(`${tag}-g-young`, at - DAY, null, true);
  grant(`${tag}-g-revoked-recently`, at - 30 * DAY, at - DAY, true);
  const liveToken = `${tag}-live-${randomBytes(24).toString('base64url')}`;
  grant(`${tag}-g-live`, at - 30 * DAY, null, true);
  token(`${tag}-at-live`, `${tag}-g-live`, at + DAY, null, true, sha256(liveToken));
  refreshToken(`${tag}-rt-live`, `${tag}-g-live`, at + 30 * DAY, null, true);
  code(`${tag}-code-recent`, at - 3600, true);
  attempt(`${tag}-a-live`, at + 3600, true);

  await insertChunked(db, 'grants', grants);
  await insertChunked(db, 'access_tokens', access);
  await insertChunked(db, 'refresh_tokens', refresh);
  await insertChunked(db, 'auth_codes', codes);
  await insertChunked(db, 'signin_attempts', attempts);
  await insertChunked(db, 'signin_steps', steps);
  return { expired, kept, liveToken };
}

/** How many of `ids` are still in `table`. */
async function present(db: Kysely<Database>, table: SeededTable, ids: string[]): Promise<number> {
  const key = table === 'auth_codes' ? 'code_hash' : 'id';
  let found = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const { rows } = await sql<{ n: string | number }>`SELECT count(*) AS n FROM ${sql.table(table)}
      WHERE ${sql.ref(key)} IN (${sql.join(ids.slice(i, i + 500))})`.execute(db);
    found += Number(rows[0]?.n ?? 0);
  }
  return found;
}

/** Every expired seed row gone, every kept one still there. */
async function expectPurged(db: Kysely<Database>, seeded: Seeded): Promise<void> {
  for (const table of Object.keys(seeded.expired) as SeededTable[]) {
    expect({ table, left: await present(db, table, seeded.expired[table]) }).toEqual({ table, left: 0 });
    expect({ table, kept: await present(db, table, seeded.kept[table]) }).toEqual({
      table,
      kept: seeded.kept[table].length,
    });
  }
}

/** Rows removed per table, summed over several purge reports (or `store.purged` log lines). */
function removedBy(reports: Array<Partial<Record<PurgeTable, number>>>): Record<PurgeTable, number> {
  const sum = {} as Record<PurgeTable, number>;
  for (const report of reports) {
    for (const [table, rows] of Object.entries(report) as Array<[PurgeTable, number]>) {
      sum[table] = (sum[table] ?? 0) + rows;
    }
  }
  return sum;
}

const purgeLogs = (instance: LatchkeyProcess, from = 0): LogLine[] =>
  instance.logs.slice(from).filter((line) => line.event === 'store.purged');

// ---------------------------------------------------------------------------------------------------

describe.skipIf(!postgres)(
  'two Latchkey processes on one PostgreSQL database behind a round-robin proxy',
  () => {
    let database: { store: Store; url: string; dispose(): Promise<void> } | undefined;
    let web: FixtureWeb | undefined;
    let smtp: SmtpFixture | undefined;
    let proxy: RoundRobinProxy | undefined;
    const instances: LatchkeyProcess[] = [];
    let atStart: Seeded;
    let introspectionSecret = '';
    /** Walk 2's tokens: alive through the purge test, revoked in the D4 test. */
    let live: { access: string; refresh: string } | undefined;

    const one = () => instances[0] as LatchkeyProcess;
    const two = () => instances[1] as LatchkeyProcess;
    const base = () => (proxy as RoundRobinProxy).url;
    const db = () => (database as { store: Store }).store.db;

    beforeAll(async () => {
      database = await (postgres as NonNullable<typeof postgres>).create();
      // Seeded before the instances start: each purges once as it starts, both at about the same time.
      atStart = await seed(db(), 'start', nowSeconds(), 1500);

      web = await startFixtureWeb(['app.test', 'bob.test', 'erin.test']);
      web.page(CLIENT, clientApp('Two Instance App', CLIENT));
      web.page('http://bob.test/', homepage('Bob', '<a rel="me" href="mailto:bob@bob.test">email</a>'));
      web.page('http://erin.test/', homepage('Erin', '<link rel="me" href="mailto:erin@erin.test">'));
      smtp = await startSmtp();
      proxy = await startRoundRobin();
      introspectionSecret = (await new ResourceServerService(database.store).create('instances-test')).secret;

      const env = {
        DATABASE_URL: database.url,
        LATCHKEY_URL: proxy.url,
        LATCHKEY_SECRET: randomBytes(32).toString('base64url'),
        LATCHKEY_TRUST_PROXY: '127.0.0.1',
        LATCHKEY_CONNECT_TO: web.connectTo.map((r) => `${r.host}=${r.address}:${r.port}`).join(','),
        SMTP_URL: smtp.url,
        MAIL_FROM: 'Latchkey <login@latchkey.test>',
        // A purge that removed nothing logs `store.purged` at debug; these tests wait for every one.
        LOG_LEVEL: 'debug',
      };
      const started = await Promise.allSettled(
        ['one', 'two'].map((name) => startLatchkeyProcess({ name, env, startTimeoutMs: 120_000 })),
      );
      for (const result of started) if (result.status === 'fulfilled') instances.push(result.value);
      const failed = started.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
      proxy.backends.push(one().port, two().port);
    }, 240_000);

    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await proxy?.close();
      await smtp?.close();
      await web?.close();
      await database?.dispose();
    }, 120_000);

    // -------------------------------------------------------------------------------------------------
    // Requests

    const STEPS_BEGIN = () => (proxy as RoundRobinProxy).hops.length;

    /** Every request the proxy saw since `from` went to the other instance than the one before. */
    const expectAlternation = (from: number, count: number) => {
      const hops = (proxy as RoundRobinProxy).hops.slice(from);
      expect(hops).toHaveLength(count);
      const ports = hops.map((hop) => hop.backend);
      for (let i = 1; i < ports.length; i++)
        expect(ports[i], `request ${i}: ${hops[i]?.path}`).not.toBe(ports[i - 1]);
      expect(new Set(ports)).toEqual(new Set([one().port, two().port]));
      expect(hops.every((hop) => hop.status > 0 && hop.status < 500)).toBe(true);
    };

    const send = async (url: string, init: RequestInit = {}): Promise<WirePage> =>
      readPage(await fetch(url, { redirect: 'manual', ...init }));

    const postForm = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      send(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
          ...headers,
        },
        body: new URLSearchParams(fields).toString(),
      });

    /** `GET /token` verification at `at` (the proxy or one instance directly). */
    const verify = (at: string, token: string) =>
      send(new URL('token', at).href, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });

    const introspect = (at: string, token: string) =>
      postForm(new URL('introspect', at).href, { token }, { authorization: `Bearer ${introspectionSecret}` });

    const json = (page: WirePage) => JSON.parse(page.body) as Record<string, unknown>;

    interface SignedIn {
      tokens: Record<string, unknown>;
      /** Backends of each step, in order. */
      pages: Record<string, WirePage>;
    }

    /**
     * The whole browser part and the code's redemption, through the proxy: /authorize → the site
     * form → the email page → send (the mail arrives over real SMTP) → the code → consent → back at
     * the app with code, state and iss → POST /token.
     */
    async function signIn(me: string, address: string): Promise<SignedIn> {
      const verifier = randomBytes(48).toString('base64url');
      const browser = new HttpWalker(base());
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        state: STATE,
        code_challenge: s256(verifier),
        code_challenge_method: 'S256',
        scope: 'profile create',
      });
      const authorize = await browser.get(`/authorize?${query}`);
      expect(authorize.status, `${authorize.location} ${authorize.text}`).toBe(200);
      expect(authorize.body).toContain('action="/signin/site"');

      const site = await browser.post('/signin/site', { step: authorize.step('/signin/site'), me });
      expect(site.status, site.text).toBe(200);
      expect(site.text).toContain(`Your site links to ${address}`);

      const sent = await browser.post('/signin/step/email.send', {
        step: site.step('/signin/step/email.send'),
      });
      expect(sent.status, sent.text).toBe(200);
      const mail = await (smtp as SmtpFixture).nextMessage(address, 60_000);
      const code = (smtp as SmtpFixture).codeIn(mail);

      const proven = await browser.post('/signin/step/email.verify', {
        step: sent.step('/signin/step/email.verify'),
        code,
      });
      expect(proven.status, proven.text).toBe(200);
      expect(proven.text).toContain('Two Instance App');

      const consent = await browser.post('/signin/consent', {
        step: proven.step('/signin/consent'),
        'scope.profile': 'on',
        'scope.create': 'on',
        decision: 'approve',
      });
      expect(consent.status, consent.text).toBe(303);
      const landed = new URL(consent.location ?? '');
      expect(landed.origin + landed.pathname).toBe(REDIRECT);
      expect(landed.searchParams.get('state')).toBe(STATE);
      expect(landed.searchParams.get('iss')).toBe(base());

      const redeemed = await postForm(new URL('token', base()).href, {
        grant_type: 'authorization_code',
        code: landed.searchParams.get('code') ?? '',
        client_id: CLIENT,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
      });
      expect(redeemed.status, redeemed.body).toBe(200);
      const tokens = json(redeemed);
      expect(tokens).toMatchObject({ token_type: 'Bearer', me, scope: 'profile create' });
      expect(tokens.access_token).toEqual(expect.any(String));
      expect(tokens.refresh_token).toEqual(expect.any(String));
      // The code was issued on one instance and redeemed on the other; the email code sent by one
      // was checked by the other; each step's token was minted by the instance before.
      expect(redeemed.backend).not.toBe(consent.backend);
      expect(proven.backend).not.toBe(sent.backend);
      return { tokens, pages: { authorize, site, sent, proven, consent, redeemed } };
    }

    // -------------------------------------------------------------------------------------------------

    it('R6: both instances purged as they started, together exactly the expired rows, each once', async () => {
      const [first, second] = await Promise.all(
        instances.map((instance) => instance.waitForLog((line) => line.event === 'store.purged', 120_000)),
      );
      const removed = removedBy([first?.tables, second?.tables] as Array<Record<PurgeTable, number>>);
      for (const table of EXACT)
        expect({ table, removed: removed[table] }).toEqual({ table, removed: atStart.expired[table].length });
      expect(removed.signin_attempts).toBeGreaterThanOrEqual(atStart.expired.signin_attempts.length);
      await expectPurged(db(), atStart);
      for (const instance of instances) {
        expect(instance.logs.filter((line) => line.event === 'store.purge_failed')).toEqual([]);
      }
      const live = await verify(one().direct, atStart.liveToken);
      expect(live.status, live.body).toBe(200);
      expect(await verify(two().direct, atStart.liveToken).then((p) => p.status)).toBe(200);
    }, 180_000);

    it('walks a sign-in across both instances; a refresh rotates, and the old token replayed on the other instance ends the grant on both (D5)', async () => {
      const from = STEPS_BEGIN();
      const { tokens } = await signIn('http://bob.test/', 'bob@bob.test');
      const access = String(tokens.access_token);
      const refresh = String(tokens.refresh_token);

      const verified = await verify(base(), access);
      expect(verified.status, verified.body).toBe(200);
      expect(json(verified)).toEqual({ me: 'http://bob.test/', client_id: CLIENT, scope: 'profile create' });

      const refreshed = await postForm(new URL('token', base()).href, {
        grant_type: 'refresh_token',
        refresh_token: refresh,
        client_id: CLIENT,
      });
      expect(refreshed.status, refreshed.body).toBe(200);
      const second = json(refreshed);
      expect(second).toMatchObject({ token_type: 'Bearer', me: 'http://bob.test/', scope: 'profile create' });
      expect(second.refresh_token).not.toBe(refresh);
      expect(second.access_token).not.toBe(access);
      // Issued by one instance, known to the other at once (asked directly, outside the proxy's turns).
      const other = refreshed.backend === one().port ? two() : one();
      const known = await verify(other.direct, String(second.access_token));
      expect(known.status, known.body).toBe(200);

      // The rotated token, presented right after to the other instance: refused, and the grant ends.
      const replayed = await postForm(new URL('token', base()).href, {
        grant_type: 'refresh_token',
        refresh_token: refresh,
        client_id: CLIENT,
      });
      expect(replayed.backend).not.toBe(refreshed.backend);
      expect(replayed.status, replayed.body).toBe(400);
      expect(json(replayed).error).toBe('invalid_grant');

      // The replay ended the grant on the instance that saw it; the other knows at once.
      for (const instance of [one(), two()]) {
        expect((await verify(instance.direct, String(second.access_token))).status).toBe(401);
        expect((await verify(instance.direct, access)).status).toBe(401);
      }
      const rotatedAgain = await postForm(new URL('token', base()).href, {
        grant_type: 'refresh_token',
        refresh_token: String(second.refresh_token),
        client_id: CLIENT,
      });
      expect(rotatedAgain.status).toBe(400);
      // 6 sign-in requests, verify, refresh, replay, refresh again: each on the other instance.
      expectAlternation(from, 10);
    }, 180_000);

    it('walks a second sign-in and introspects its token on both instances', async () => {
      const from = STEPS_BEGIN();
      const { tokens } = await signIn('http://erin.test/', 'erin@erin.test');
      live = { access: String(tokens.access_token), refresh: String(tokens.refresh_token) };
      const answers = [await introspect(base(), live.access), await introspect(base(), live.access)];
      expect(answers[0]?.backend).not.toBe(answers[1]?.backend);
      for (const answer of answers) {
        expect(answer.status, answer.body).toBe(200);
        expect(json(answer)).toMatchObject({
          active: true,
          me: 'http://erin.test/',
          client_id: CLIENT,
          scope: 'profile create',
        });
      }
      const verified = await verify(base(), live.access);
      expect(verified.status, verified.body).toBe(200);
      expectAlternation(from, 9);
    }, 180_000);

    it('R6: two purges at once while both instances serve remove exactly the expired rows; live tokens still verify', async () => {
      const at = nowSeconds();
      const seeded = await seed(db(), 'running', at, 1200);
      const logMarks = instances.map((instance) => instance.logs.length);
      // Two more "instances" purging the same rows at the same time, each on its own connection pool,
      // in small batches so that they interleave, while requests keep reaching both servers.
      const pools = [
        openStore((database as { url: string }).url),
        openStore((database as { url: string }).url),
      ];
      const statuses: number[] = [];
      try {
        let purging = true;
        const purges = Promise.all(
          pools.map((store) => purgeExpired(store.db, at, { keepSeconds: KEEP, batchSize: 25 })),
        ).finally(() => {
          purging = false;
        });
        const traffic = (async () => {
          // At least one request to each instance, then on until both purges are done.
          for (let i = 0; i < 2 || purging; i++) {
            const token = i % 2 === 0 ? (live?.access ?? '') : seeded.liveToken;
            statuses.push((await verify(base(), token)).status);
          }
        })();
        const [reports] = await Promise.all([purges, traffic]);
        // Whatever the instances' own scheduled purges took meanwhile counts too (each row once).
        const byInstances = instances.flatMap((instance, i) =>
          purgeLogs(instance, logMarks[i]).map((line) => line.tables as Record<PurgeTable, number>),
        );
        const removed = removedBy([...reports.map((report: PurgeReport) => report.removed), ...byInstances]);
        for (const table of EXACT) {
          expect({ table, removed: removed[table] }).toEqual({
            table,
            removed: seeded.expired[table].length,
          });
        }
        expect(removed.signin_attempts).toBeGreaterThanOrEqual(seeded.expired.signin_attempts.length);
        expect(reports.every((report: PurgeReport) => report.batches > 1)).toBe(true);
      } finally {
        await Promise.all(pools.map((store) => store.close()));
      }
      expect(statuses.length).toBeGreaterThanOrEqual(2);
      expect(statuses.every((status) => status === 200)).toBe(true);
      await expectPurged(db(), seeded);
      // What the first purge kept is still kept; the walks' rows are all there.
      await expectPurged(db(), atStart);
      for (const instance of [one(), two()]) {
        expect((await verify(instance.direct, live?.access ?? '')).status).toBe(200);
        expect((await verify(instance.direct, seeded.liveToken)).status).toBe(200);
        expect((await verify(instance.direct, atStart.liveToken)).status).toBe(200);
        expect(instance.logs.filter((line) => line.event === 'store.purge_failed')).toEqual([]);
      }
    }, 180_000);

    it('D4: right after /revoke on one instance the token is inactive on both, asked directly and through the proxy', async () => {
      const token = live?.access ?? '';
      const from = STEPS_BEGIN();
      const revoked = await postForm(new URL('revoke', base()).href, { token });
      expect(revoked.status).toBe(200);
      const other = revoked.backend === one().port ? two() : one();
      // First the instance that did not revoke, then the one that did, each without the proxy.
      for (const instance of [other, revoked.backend === one().port ? one() : two()]) {
        const verified = await verify(instance.direct, token);
        expect(verified.status).toBe(401);
        const introspected = await introspect(instance.direct, token);
        expect(introspected.status).toBe(200);
        expect(introspected.body).toBe('{"active":false}');
      }
      const throughProxy = [await introspect(base(), token), await verify(base(), token)];
      expect(throughProxy[0]?.body).toBe('{"active":false}');
      expect(throughProxy[1]?.status).toBe(401);
      // Revoking the access token leaves its refresh token (RFC 7009 §2.1 "MAY"); revoking the refresh
      // token ends the grant (refresh-tokens.ts), and the other instance refuses it at once.
      const revokedRefresh = await postForm(new URL('revoke', base()).href, { token: live?.refresh ?? '' });
      expect(revokedRefresh.status).toBe(200);
      const refresh = await postForm(new URL('token', base()).href, {
        grant_type: 'refresh_token',
        refresh_token: live?.refresh ?? '',
        client_id: CLIENT,
      });
      expect(refresh.backend).not.toBe(revokedRefresh.backend);
      expect(refresh.status, refresh.body).toBe(400);
      expect(json(refresh).error).toBe('invalid_grant');
      expectAlternation(from, 5);
    }, 120_000);

    it('both instances logged no error and stop cleanly on SIGTERM (R2)', async () => {
      for (const instance of instances) {
        expect(instance.logs.filter((line) => line.level >= 50)).toEqual([]);
      }
      const codes = await Promise.all(instances.map((instance) => instance.stop()));
      expect(codes).toEqual([0, 0]);
      for (const instance of instances) {
        expect(instance.logs.some((line) => line.event === 'server.stopped')).toBe(true);
      }
    }, 120_000);
  },
);
