/**
 * Opens the store named by DATABASE_URL: `sqlite:PATH` (default, embedded) or `postgres://…`.
 * Both are first-class: one Kysely schema, one set of migrations, one store test suite.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /**
   * Runs `fn` in a write transaction. On SQLite this is `BEGIN IMMEDIATE`, so a read-then-write
   * never fails half-way with SQLITE_BUSY on lock upgrade (SECURITY R3); on PostgreSQL a normal
   * transaction (exactly-once writes use conditional UPDATEs, not isolation levels).
   */
  write<T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * Runs one hot, fixed read as a cached prepared statement, skipping the query builder: token
   * verification and introspection run on every resource-server request (DESIGN "Fast where it
   * matters"). Prepared once per `name`; `text` uses `?` placeholders, renumbered for PostgreSQL.
   */
  hotQuery<Row>(name: string, text: string, params: readonly unknown[]): Promise<Row | undefined>;
  /** Resolves when the store answers a trivial query (used by `/health`). */
  ping(): Promise<void>;
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

/** Epoch seconds: the only time format in the store. */
export const now = (): number => Math.floor(Date.now() / 1000);

export function openStore(databaseUrl: string): Store {
  if (databaseUrl.startsWith('postgres://') || databaseUrl.startsWith('postgresql://')) {
    return openPostgres(databaseUrl);
  }
  if (databaseUrl.startsWith('sqlite:')) return openSqlite(databaseUrl.slice('sqlite:'.length));
  throw new Error(`DATABASE_URL must start with sqlite: or postgres:// (got ${databaseUrl.split(':')[0]}:…)`);
}

function openSqlite(path: string): Store {
  const memory = path === ':memory:' || path === '';
  if (!memory) mkdirSync(dirname(path), { recursive: true });
  const raw = new SQLite(memory ? ':memory:' : path);
  raw.pragma('journal_mode = WAL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  const prepare: Prepare = (_name, text) => {
    const statement = raw.prepare(text);
    return async (params) => statement.get(...params);
  };
  return finish(db, 'sqlite', prepare, async (fn) =>
    // The SQLite driver hands out its single connection exclusively, so BEGIN/COMMIT bracket `fn`.
    db.connection().execute(async (conn) => {
      await sql`BEGIN IMMEDIATE`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`COMMIT`.execute(conn);
        return result;
      } catch (error) {
        await sql`ROLLBACK`.execute(conn);
        throw error;
      }
    }),
  );
}

function openPostgres(url: string): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    // int8 (epoch seconds) as JS numbers; they stay far below 2^53.
    types: {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
    },
  });
  // An idle connection the server drops (restart, failover) must not crash the process: the pool
  // discards it and the next query opens a new one; /health reports if the server stays away.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const prepare: Prepare = (name, text) => {
    let n = 0;
    const numbered = text.replace(/\?/g, () => `$${++n}`);
    return async (values) => (await pool.query({ name, text: numbered, values: [...values] })).rows[0];
  };
  return finish(db, 'postgres', prepare, (fn) => db.transaction().execute(fn));
}

/** Turns a named query into a runner; each dialect prepares its own way. */
type Prepare = (name: string, text: string) => (params: readonly unknown[]) => Promise<unknown>;

function finish(db: Kysely<Database>, dialect: Dialect, prepare: Prepare, write: Store['write']): Store {
  const prepared = new Map<string, ReturnType<Prepare>>();
  return {
    db,
    dialect,
    write,
    async hotQuery<Row>(name: string, text: string, params: readonly unknown[]) {
      let run = prepared.get(name);
      if (!run) {
        run = prepare(name, text);
        prepared.set(name, run);
      }
      return (await run(params)) as Row | undefined;
    },
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    async migrate() {
      const migrator = new Migrator({ db, provider: migrationProvider });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error instanceof Error ? error : new Error(String(error));
      return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    },
    close: () => db.destroy(),
  };
}
