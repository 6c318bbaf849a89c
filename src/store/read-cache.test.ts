import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from './db.js';
import { SqliteReadCache } from './read-cache.js';
import type { Database } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-read-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const READ = 'SELECT value FROM settings WHERE key = ?';

/**
 * A migrated WAL database opened with the cache's plugin, and `bumps(write)`: whether running
 * `write` (after a turn boundary) made the cache's stamp move.
 */
async function watchedDatabase(name: string) {
  const file = join(dir, name);
  const setup = openStore(`sqlite:${file}`);
  await setup.migrate();
  await setup.close();
  const raw = new SQLite(file);
  raw.pragma('journal_mode = WAL');
  const cache = new SqliteReadCache(raw, file);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }), plugins: [cache.plugin] });
  const bumps = async (write: () => Promise<unknown>) => {
    await null;
    const before = cache.current();
    await write();
    await null;
    return cache.current() !== before;
  };
  return { file, cache, db, bumps };
}

describe('SQLite hot-read cache (SECURITY D4)', () => {
  it('D4: serves a repeated read from memory until this process or another connection writes', async () => {
    const file = join(dir, 'cache.db');
    const store = openStore(`sqlite:${file}`);
    await store.migrate();
    await store.db.insertInto('settings').values({ key: 'k', value: 'one' }).execute();
    const read = () => store.hotQuery<{ value: string }>('read_setting', READ, ['k'], { cached: true });
    expect(await read()).toEqual({ value: 'one' });

    // Another connection (the CLI, a second process) writes behind our back: PRAGMA data_version.
    const other = new SQLite(file);
    other.prepare('UPDATE settings SET value = ? WHERE key = ?').run('two', 'k');
    expect(await read()).toEqual({ value: 'two' });

    // This process writes through the query builder…
    await store.db.updateTable('settings').set({ value: 'three' }).where('key', '=', 'k').execute();
    expect(await read()).toEqual({ value: 'three' });
    // …or through raw SQL.
    await sql`UPDATE settings SET value = 'four' WHERE key = 'k'`.execute(store.db);
    expect(await read()).toEqual({ value: 'four' });
    // Inside a transaction, and after a rollback the old value is back.
    await expect(
      store.write(async (tx) => {
        await tx.updateTable('settings').set({ value: 'five' }).where('key', '=', 'k').execute();
        expect(await read()).toEqual({ value: 'five' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await read()).toEqual({ value: 'four' });

    // A deleted row is gone at once.
    other.prepare('DELETE FROM settings WHERE key = ?').run('k');
    expect(await read()).toBeUndefined();
    other.close();
    await store.close();
  });

  it('D4: a write queued before the first cached read still ends what that read cached', async () => {
    // A fresh process: no cached query has said yet which tables it reads when a revocation is
    // built, queued behind a transaction that holds the one connection, and the first lookup
    // caches the row before the revocation runs.
    const file = join(dir, 'queued.db');
    const store = openStore(`sqlite:${file}`);
    await store.migrate();
    await store.db.insertInto('settings').values({ key: 'k', value: 'one' }).execute();
    let release = () => {};
    const holding = store.write(() => new Promise<void>((resolve) => (release = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    const revoke = store.db.updateTable('settings').set({ value: 'two' }).where('key', '=', 'k').execute();
    const read = async () =>
      (await store.hotQuery<{ value: string }>('read_setting', READ, ['k'], { cached: true }))?.value;
    expect(await read()).toBe('one');
    release();
    await holding;
    await revoke;
    expect(await read()).toBe('two');
    await store.close();
  });

  it('D4: sees every commit of another connection, through WAL restarts and checkpoints', async () => {
    const file = join(dir, 'many.db');
    const store = openStore(`sqlite:${file}`);
    await store.migrate();
    await store.db.insertInto('settings').values({ key: 'k', value: '0' }).execute();
    const read = async () =>
      (await store.hotQuery<{ value: string }>('read_setting', READ, ['k'], { cached: true }))?.value;
    const other = new SQLite(file);
    const update = other.prepare('UPDATE settings SET value = ? WHERE key = ?');
    for (let i = 1; i <= 200; i++) {
      update.run(String(i), 'k');
      // Every so often the other side checkpoints and truncates the WAL: the next commit restarts it.
      if (i % 50 === 0) other.pragma('wal_checkpoint(TRUNCATE)');
      expect(await read()).toBe(String(i));
      expect(await read()).toBe(String(i));
    }
    other.close();
    await store.close();
  });

  it("D4: a database opened through a symbolic link watches the real file's WAL index", async () => {
    const file = join(dir, 'real.db');
    const link = join(dir, 'link.db');
    symlinkSync(file, link);
    // A leftover -shm beside the link is not the one SQLite uses: it must not be read.
    writeFileSync(`${link}-shm`, Buffer.alloc(32_768));
    const store = openStore(`sqlite:${link}`);
    await store.migrate();
    await store.db.insertInto('settings').values({ key: 'k', value: 'one' }).execute();
    const read = async () =>
      (await store.hotQuery<{ value: string }>('read_setting', READ, ['k'], { cached: true }))?.value;
    expect(await read()).toBe('one');
    const other = new SQLite(file);
    other.prepare('UPDATE settings SET value = ? WHERE key = ?').run('two', 'k');
    expect(await read()).toBe('two');
    other.close();
    await store.close();
  });

  it('reads the WAL-index header of a WAL database file, and PRAGMA data_version otherwise', () => {
    const file = join(dir, 'watch.db');
    const onDisk = new SQLite(file);
    onDisk.pragma('journal_mode = WAL');
    const inMemory = new SQLite(':memory:');
    // Not in WAL mode: a -shm file lying beside it is no one's, and is not read.
    const rollbackFile = join(dir, 'rollback.db');
    const rollback = new SQLite(rollbackFile);
    writeFileSync(`${rollbackFile}-shm`, Buffer.alloc(32_768));
    const caches = [
      new SqliteReadCache(onDisk, file),
      new SqliteReadCache(inMemory, undefined),
      new SqliteReadCache(rollback, rollbackFile),
    ];
    expect(caches.map((cache) => cache.watching)).toEqual(['wal-index', 'data_version', 'data_version']);
    for (const cache of caches) cache.close();
    for (const db of [onDisk, inMemory, rollback]) db.close();
  });

  it("D4: counts this process's writes to the tables cached queries read, and raw SQL but BEGIN/COMMIT", async () => {
    const { file, cache, db, bumps } = await watchedDatabase('tables.db');
    cache.reads(['settings', 'access_tokens']);
    const other = new SQLite(file);
    // Writes that cannot change a cached row: leave it be.
    expect(
      await bumps(() =>
        db.insertInto('rate_limits').values({ key: 'a', window_start: 1, hits: 1, expires_at: 9 }).execute(),
      ),
    ).toBe(false);
    expect(await bumps(() => db.deleteFrom('signin_steps').execute())).toBe(false);
    expect(await bumps(() => sql`BEGIN IMMEDIATE`.execute(db))).toBe(false);
    expect(await bumps(() => sql`COMMIT`.execute(db))).toBe(false);
    // Writes that can.
    expect(await bumps(() => db.insertInto('settings').values({ key: 'x', value: '1' }).execute())).toBe(
      true,
    );
    expect(await bumps(() => db.updateTable('access_tokens').set({ last_used_at: 1 }).execute())).toBe(true);
    // A column is untracked only if every cached query reading its table says so.
    cache.reads(['access_tokens'], ['access_tokens.last_used_at', 'settings.value']);
    expect(await bumps(() => db.updateTable('access_tokens').set({ last_used_at: 2 }).execute())).toBe(true);
    expect(await bumps(() => sql`DELETE FROM rate_limits`.execute(db))).toBe(true);
    await sql`BEGIN`.execute(db);
    expect(await bumps(() => sql`ROLLBACK`.execute(db))).toBe(true);
    // Another connection's commit to any table counts: its effects are not known here.
    expect(
      await bumps(async () => other.prepare("INSERT INTO rate_limits VALUES ('c', 1, 1, 9)").run()),
    ).toBe(true);
    // And after one of this process's own commits, another connection's is still seen.
    await db
      .insertInto('rate_limits')
      .values({ key: 'b', window_start: 1, hits: 1, expires_at: 9 })
      .execute();
    expect(
      await bumps(async () => other.prepare("UPDATE rate_limits SET hits = 2 WHERE key = 'b'").run()),
    ).toBe(true);
    other.close();
    cache.close();
    await db.destroy();
  });

  it("the schema has no triggers and no cascading foreign keys, which cached queries' `tables` assume", async () => {
    // A write to one table can then change no other: if a migration adds a trigger or an ON DELETE
    // CASCADE, the `tables` of the hot queries (store/tokens.ts, store/resource-servers.ts) must
    // name what it reaches, and this test must be changed with them.
    const file = join(dir, 'schema.db');
    const store = openStore(`sqlite:${file}`);
    await store.migrate();
    await store.close();
    const raw = new SQLite(file, { readonly: true });
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()).toEqual([]);
    const tables = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .pluck()
      .all() as string[];
    const actions = tables.flatMap((table) =>
      (
        raw.prepare(`PRAGMA foreign_key_list(${JSON.stringify(table)})`).all() as Array<{
          on_delete: string;
          on_update: string;
        }>
      ).flatMap((key) => [key.on_delete, key.on_update]),
    );
    expect(actions.length).toBeGreaterThan(0);
    expect(new Set(actions)).toEqual(new Set(['NO ACTION']));
    raw.close();
  });

  it('D4: an update that sets only untracked columns leaves cached rows be; any other column counts', async () => {
    const { file, cache, db, bumps } = await watchedDatabase('untracked.db');
    await db
      .insertInto('resource_servers')
      .values({ id: 'rs', name: 'rs', secret_hash: 'h', created_at: 1, last_used_at: null })
      .execute();
    cache.reads(['resource_servers', 'access_tokens'], ['resource_servers.last_used_at']);
    const touch = () => db.updateTable('resource_servers').set({ last_used_at: 5 }).where('id', '=', 'rs');
    expect(await bumps(() => touch().execute())).toBe(false);
    // The same column of another table is tracked.
    expect(await bumps(() => db.updateTable('access_tokens').set({ last_used_at: 5 }).execute())).toBe(true);
    expect(await bumps(() => db.updateTable('resource_servers').set({ secret_hash: 'g' }).execute())).toBe(
      true,
    );
    expect(
      await bumps(() => db.updateTable('resource_servers').set({ last_used_at: 6, name: 'x' }).execute()),
    ).toBe(true);
    expect(await bumps(() => sql`UPDATE resource_servers SET last_used_at = 7`.execute(db))).toBe(true);
    // Another connection's touch counts: what it changed is not known here.
    const other = new SQLite(file);
    expect(await bumps(async () => other.prepare('UPDATE resource_servers SET last_used_at = 8').run())).toBe(
      true,
    );
    other.close();
    // A second cached reader of the table that does not declare the column makes it count again,
    // and so does one that names no tables at all.
    cache.reads(['resource_servers']);
    expect(await bumps(() => touch().execute())).toBe(true);
    const { cache: unnamed, db: unnamedDb, bumps: unnamedBumps } = await watchedDatabase('untracked-any.db');
    unnamed.reads(['resource_servers'], ['resource_servers.last_used_at']);
    unnamed.reads(undefined);
    expect(
      await unnamedBumps(() => unnamedDb.updateTable('resource_servers').set({ last_used_at: 5 }).execute()),
    ).toBe(true);
    unnamed.close();
    await unnamedDb.destroy();
    cache.close();
    await db.destroy();
  });

  it('does not cache missing rows, and reads without `cached` always go to the database', async () => {
    const store = openStore(`sqlite:${join(dir, 'plain.db')}`);
    await store.migrate();
    expect(await store.hotQuery('read_setting', READ, ['absent'], { cached: true })).toBeUndefined();
    await store.db.insertInto('settings').values({ key: 'absent', value: 'now here' }).execute();
    expect(await store.hotQuery('read_setting', READ, ['absent'], { cached: true })).toEqual({
      value: 'now here',
    });
    expect(await store.hotQuery('read_setting', READ, ['absent'])).toEqual({ value: 'now here' });
    await store.close();
  });
});
