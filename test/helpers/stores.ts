/**
 * The databases every store-backed suite runs against. SQLite always; PostgreSQL when
 * DATABASE_URL_PG points at a server (CI starts a throwaway cluster). Under CI=true a missing
 * PostgreSQL is a failure, not a skip.
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/db.js';

export interface StoreTarget {
  name: 'sqlite' | 'postgres';
  /** A fresh, migrated, empty store plus a function that disposes of it. */
  create(): Promise<{ store: Store; url: string; dispose(): Promise<void> }>;
}

const pgUrl = process.env.DATABASE_URL_PG;

if (!pgUrl && process.env.CI === 'true') {
  throw new Error('CI=true but DATABASE_URL_PG is not set: the PostgreSQL suites must run in CI.');
}

const sqlite: StoreTarget = {
  name: 'sqlite',
  async create() {
    const url = 'sqlite::memory:';
    const store = openStore(url);
    await store.migrate();
    return { store, url, dispose: () => store.close() };
  },
};

/** Each PostgreSQL store is its own throwaway database, so suites can run in parallel. */
const postgres: StoreTarget = {
  name: 'postgres',
  async create() {
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(pgUrl as string);
    url.pathname = `/${name}`;
    const store = openStore(url.href);
    await store.migrate();
    markPostgresRan();
    return {
      store,
      url: url.href,
      async dispose() {
        await store.close();
        const cleanup = new pg.Client({ connectionString: pgUrl });
        await cleanup.connect();
        // Closed pool connections may take a moment to leave; FORCE would kill them mid-close.
        for (let attempt = 0; ; attempt++) {
          try {
            await cleanup.query(`DROP DATABASE IF EXISTS ${name}`);
            break;
          } catch (error) {
            if (attempt >= 50) throw error;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        await cleanup.end();
      },
    };
  },
};

/** CI checks this marker to prove the PostgreSQL suite really executed. */
function markPostgresRan(): void {
  mkdirSync('test/artifacts', { recursive: true });
  writeFileSync('test/artifacts/postgres-suite-ran', new Date().toISOString());
}

export const storeTargets: StoreTarget[] = pgUrl ? [sqlite, postgres] : [sqlite];
