/**
 * `latchkey backup PATH` (PROTOCOL §14) as an operator uses it, in-process through `runCli`: an
 * online copy of a SQLite database a running server is writing to, restored by starting a server
 * on the copy; refusal to overwrite; and, for PostgreSQL, the printed `pg_dump` command, which is
 * then run exactly as printed when pg_dump is installed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { testConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { openStore } from '../../src/store/db.js';
import { freePort } from '../helpers/server.js';
import { storeTargets } from '../helpers/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-backup-'));
const dbFile = join(dir, 'live.db');

async function latchkey(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env: { DATABASE_URL: `sqlite:${dbFile}`, LOG_LEVEL: 'silent', ...env },
    stdout: (chunk) => {
      stdout += chunk;
    },
    stderr: (chunk) => {
      stderr += chunk;
    },
  });
  return { stdout, stderr, code };
}

async function serverOn(file: string): Promise<RunningServer> {
  const port = await freePort();
  return startServer(
    testConfig({
      host: '127.0.0.1',
      port,
      publicUrl: `http://127.0.0.1:${port}/`,
      databaseUrl: `sqlite:${file}`,
    }),
    { logger: silentLogger() },
  );
}

const GRANT = {
  me: 'https://alice.example/',
  clientId: 'https://app.example/',
  scope: 'create',
  source: 'code' as const,
  authorizationEndpoint: null,
};

let live: RunningServer | undefined;
afterAll(async () => {
  await live?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('latchkey backup (SQLite)', () => {
  let token: string;

  beforeAll(async () => {
    // A running server that has just written rows: they sit in its WAL, not yet checkpointed.
    live = await serverOn(dbFile);
    const s = live.services;
    token = (await s.store.write((tx) => s.tokens.issueForNewGrant(tx, GRANT))).accessToken;
    expect((await latchkey(['trust', 'add', 'https://example.com/auth/'])).code).toBe(0);
    expect(existsSync(`${dbFile}-wal`)).toBe(true);
  });

  it('a backup of a missing database creates nothing and says where it looked', async () => {
    const missing = join(dir, 'nowhere', 'latchkey.db');
    const out = await latchkey(['backup', join(dir, 'never.db')], { DATABASE_URL: `sqlite:${missing}` });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`No database at ${missing}`);
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
  });

  it('copies the live database while the server runs, and prints the path and size', async () => {
    const target = join(dir, 'copy.db');
    const out = await latchkey(['backup', target]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const bytes = statSync(target).size;
    expect(out.stdout).toMatch(new RegExp(`^Database: ${dbFile}\n`));
    expect(out.stdout).toContain(`Backed up to ${target} (${bytes} bytes, `);
    expect(out.stdout).toMatch(/ \d+ migrations, latest \S+\)\.\n$/);
    // One self-contained file, readable only by its owner (it holds the generated secret).
    expect(existsSync(`${target}-wal`)).toBe(false);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readFileSync(target).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    // The server went on answering throughout.
    const health = await fetch(new URL('/health', live?.services.config.publicUrl));
    expect(health.status).toBe(200);
  });

  it('restores: a server started on the copy has the rows and accepts the token issued before', async () => {
    const target = join(dir, 'copy.db');
    const store = openStore(`sqlite:${target}`);
    try {
      expect(await store.migrate()).toEqual([]); // already up to date: nothing to apply
      const endpoints = await store.db.selectFrom('trusted_endpoints').select('url').execute();
      expect(endpoints.map((row) => row.url)).toEqual(['https://example.com/auth/']);
    } finally {
      await store.close();
    }
    const restored = await serverOn(target);
    try {
      const answer = await fetch(new URL('/token', restored.services.config.publicUrl), {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ me: GRANT.me, client_id: GRANT.clientId, scope: 'create' });
    } finally {
      await restored.close();
    }
  });

  it('refuses to overwrite an existing file unless --force', async () => {
    const target = join(dir, 'taken.db');
    writeFileSync(target, 'keep me');
    const refused = await latchkey(['backup', target]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `latchkey: ${target} already exists. Choose a new file, or add --force to replace it.\n`,
    );
    expect(readFileSync(target, 'utf8')).toBe('keep me');

    const forced = await latchkey(['backup', '--force', target]);
    expect(forced.code).toBe(0);
    expect(readFileSync(target).subarray(0, 15).toString('latin1')).toBe('SQLite format 3');
    // No temporary file is left beside it.
    expect(readdirSync(dir).filter((name) => name.includes('.partial-'))).toEqual([]);
  });

  it('refuses a missing target directory and the database itself', async () => {
    const noDir = await latchkey(['backup', join(dir, 'no-such-dir', 'x.db')]);
    expect(noDir.code).toBe(1);
    expect(noDir.stderr).toContain(`The directory ${join(dir, 'no-such-dir')} does not exist.`);
    const itself = await latchkey(['backup', '--force', dbFile]);
    expect(itself.code).toBe(1);
    expect(itself.stderr).toContain('must not be the database itself');
  });

  it('refuses a file that is not a Latchkey database, leaving no backup behind', async () => {
    const other = join(dir, 'other.db');
    const store = openStore(`sqlite:${other}`);
    await store.close(); // an empty SQLite file: no migrations table
    const target = join(dir, 'other-copy.db');
    const out = await latchkey(['backup', target], { DATABASE_URL: `sqlite:${other}` });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('no migrations table');
    expect(existsSync(target)).toBe(false);
  });
});

const postgres = storeTargets.find((target) => target.name === 'postgres');

describe.skipIf(!postgres)('latchkey backup (PostgreSQL)', () => {
  it('prints the pg_dump command without the password and runs nothing', async () => {
    const target = join(dir, 'pg.dump');
    const out = await latchkey(['backup', target], {
      DATABASE_URL: 'postgres://latchkey:s3cr%27et@db.example:5433/latchkey?sslmode=require',
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).not.toContain('s3cr');
    expect(out.stdout).toContain('Database: PostgreSQL db.example:5433/latchkey (user latchkey)\n');
    expect(out.stdout).toContain(
      `  pg_dump --format=custom --no-owner --no-privileges --file=${target} 'postgres://latchkey@db.example:5433/latchkey?sslmode=require'\n`,
    );
    expect(out.stdout).toContain('set PGPASSWORD to the one in DATABASE_URL');
    expect(out.stdout).toContain(
      `pg_restore --clean --if-exists --no-owner --no-privileges '--dbname=postgres://latchkey@db.example:5433/latchkey?sslmode=require' ${target}`,
    );
    expect(existsSync(target)).toBe(false);
  });

  it('the printed command, run as printed, dumps the database', async () => {
    const created = await (postgres as NonNullable<typeof postgres>).create();
    try {
      const target = join(dir, 'real.dump');
      const out = await latchkey(['backup', target], { DATABASE_URL: created.url });
      expect(out.code).toBe(0);
      const command = /^ {2}(pg_dump .*)$/m.exec(out.stdout)?.[1];
      expect(command).toBeDefined();
      const pgDump = await promisify(execFile)('sh', ['-c', 'command -v pg_dump'], {}).catch(() => undefined);
      if (!pgDump) {
        expect(process.env.CI, 'pg_dump must be installed in CI').not.toBe('true');
        return;
      }
      const password = decodeURIComponent(new URL(created.url).password);
      await promisify(execFile)('sh', ['-c', command as string], {
        env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
      });
      // Custom-format dumps start with the magic "PGDMP".
      expect(readFileSync(target).subarray(0, 5).toString('latin1')).toBe('PGDMP');
    } finally {
      await created.dispose();
    }
  });
});
