import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { reusingStatements } from './db.js';

/** A connection that counts how often SQLite was asked to prepare each text. */
function counted() {
  const raw = new SQLite(':memory:');
  const prepared = new Map<string, number>();
  const prepare = raw.prepare.bind(raw);
  raw.prepare = ((text: string) => {
    prepared.set(text, (prepared.get(text) ?? 0) + 1);
    return prepare(text);
  }) as typeof raw.prepare;
  return { raw, prepared };
}

describe('reused prepared statements (Kysely on SQLite)', () => {
  it('prepares each text once, binds values per run, and keeps only the most recently used', async () => {
    const { raw, prepared } = counted();
    const db = new Kysely<{ t: { k: string; v: number } }>({
      dialect: new SqliteDialect({ database: reusingStatements(raw, 2) }),
    });
    await sql`CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)`.execute(db);
    for (let i = 0; i < 5; i++)
      await db
        .insertInto('t')
        .values({ k: `k${i}`, v: i })
        .execute();
    const read = (k: string) => db.selectFrom('t').select('v').where('k', '=', k).executeTakeFirst();
    expect(await read('k3')).toEqual({ v: 3 });
    expect(await read('k4')).toEqual({ v: 4 });
    const insert = 'insert into "t" ("k", "v") values (?, ?)';
    const select = 'select "v" from "t" where "k" = ?';
    expect(prepared.get(insert)).toBe(1);
    expect(prepared.get(select)).toBe(1);
    // Two kept: a third text pushes out the least recently used (the insert), not the select.
    await read('k1');
    await db.deleteFrom('t').where('k', '=', 'k0').execute();
    await read('k2');
    await db.insertInto('t').values({ k: 'k9', v: 9 }).execute();
    expect(prepared.get(select)).toBe(1);
    expect(prepared.get(insert)).toBe(2);
    await db.destroy();
  });

  it('prepares a fresh statement while a kept one is still being iterated, and follows schema changes', async () => {
    const { raw, prepared } = counted();
    const database = reusingStatements(raw);
    database.prepare('CREATE TABLE t (v INTEGER)').run([]);
    database.prepare('INSERT INTO t VALUES (1), (2)').run([]);
    const select = 'SELECT * FROM t';
    const rows = database.prepare(select).iterate([]);
    expect(rows.next().value).toEqual({ v: 1 });
    expect(database.prepare(select).all([])).toEqual([{ v: 1 }, { v: 2 }]);
    expect(rows.next().value).toEqual({ v: 2 });
    expect(rows.next().done).toBe(true);
    expect(prepared.get(select)).toBe(2);
    // The kept statement is not busy any more, and sees a column added since it was prepared.
    database.prepare('ALTER TABLE t ADD COLUMN w TEXT').run([]);
    expect(database.prepare(select).all([])).toEqual([
      { v: 1, w: null },
      { v: 2, w: null },
    ]);
    expect(prepared.get(select)).toBe(2);
    database.close();
  });
});
