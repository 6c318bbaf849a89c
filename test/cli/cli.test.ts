/**
 * The CLI as an operator uses it, driven in-process through `runCli` (a real SQLite file, real
 * output and exit codes, no child process per command), plus one real process at the end.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { type Fixture, startFixture } from '../helpers/fixture-server.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
const dbFile = join(dir, 'cli.db');
let site: Fixture;

async function latchkey(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return run(args, {});
}

/** Runs one command line in-process against the test database, with `env` on top. */
async function run(args: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env: {
      DATABASE_URL: `sqlite:${dbFile}`,
      LATCHKEY_CONNECT_TO: `alice.example=127.0.0.1:${site.port}`,
      LOG_LEVEL: 'silent',
      ...env,
    },
    stdout: (chunk) => {
      stdout += chunk;
    },
    stderr: (chunk) => {
      stderr += chunk;
    },
  });
  return { stdout, stderr, code };
}

beforeAll(async () => {
  site = await startFixture((_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/html',
      link: '<https://tokens.example/token>; rel="token_endpoint"',
    });
    res.end(
      '<link rel="authorization_endpoint" href="/auth"><a rel="me" href="https://github.com/alice">GitHub</a>',
    );
  });
});
afterAll(async () => {
  await site.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('latchkey CLI', () => {
  it('first run: a read-only command on a missing SQLite file creates nothing and says what to do', async () => {
    for (const args of [['trust', 'list'], ['tokens', 'list'], ['status']]) {
      const out = await latchkey(...args);
      expect(out.code).toBe(1);
      expect(out.stderr).toBe(
        `latchkey: No database at ${dbFile} (DATABASE_URL=sqlite:${dbFile}). Run it from the directory where you run the server, set DATABASE_URL, or run latchkey migrate to create it.\n`,
      );
    }
    // A relative path is shown as the absolute file it means, and its directory is not created either.
    const relative = await run(['trust', 'list'], { DATABASE_URL: 'sqlite:./no-such-dir-xyz/latchkey.db' });
    expect(relative.stderr).toContain(`No database at ${resolve('no-such-dir-xyz/latchkey.db')} `);
    expect(existsSync('no-such-dir-xyz')).toBe(false);
    // A write command does not create it either.
    expect((await latchkey('trust', 'add', 'https://example.com/auth/')).code).toBe(1);
    expect(existsSync(dbFile)).toBe(false);
  });

  it('first run: migrate creates the database', async () => {
    const out = await latchkey('migrate');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('up to date (sqlite)');
    expect(out.stdout.split('\n')[0]).toBe(`Database: ${dbFile} (created now)`);
    expect(out.stdout).toMatch(/\d+ migrations, latest \d{3}_\w+\./);
    expect(existsSync(dbFile)).toBe(true);
    expect((await latchkey('migrate')).stdout.split('\n')[0]).toBe(`Database: ${dbFile}`);
  });

  it('first run: trust add | list | remove manages trusted authorization endpoints', async () => {
    expect((await latchkey('trust', 'list')).stdout).toContain('No trusted authorization endpoints');
    const added = await latchkey('trust', 'add', 'https://Example.com/auth/');
    expect(added.stdout).toContain('Trusted https://example.com/auth/');
    expect(added.stdout.split('\n')[0]).toBe(`Database: ${dbFile}`);
    expect((await latchkey('trust', 'add', 'https://example.com/auth/')).stdout).toContain('already trusted');
    expect((await latchkey('trust', 'list')).stdout.trim()).toBe('https://example.com/auth/');
    expect((await latchkey('trust', 'remove', 'https://example.com/auth/')).code).toBe(0);
    const again = await latchkey('trust', 'remove', 'https://example.com/auth/');
    expect(again.code).toBe(1);
    expect(again.stdout).toContain(`Database: ${dbFile}`);
    const bad = await latchkey('trust', 'add', 'example.com/auth');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not a URL');
  });

  it('first run: resource-server add prints the secret once; list never shows it', async () => {
    const added = await latchkey('resource-server', 'add', 'micropub');
    expect(added.stdout).toContain(`Database: ${dbFile}`);
    const secret = added.stdout.split('\n').find((line) => /^[\w-]+\.[\w-]{43}$/.test(line));
    expect(secret).toBeDefined();
    const listed = await latchkey('resource-server', 'list');
    expect(listed.stdout).toContain('micropub');
    expect(listed.stdout).not.toContain(secret as string);
    expect((await latchkey('resource-server', 'add', 'micropub')).stderr).toContain('exists already');
    expect((await latchkey('resource-server', 'remove', 'micropub')).code).toBe(0);
  });

  it('first run: tokens list and revoke', async () => {
    expect((await latchkey('tokens', 'list')).stdout).toContain('No tokens.');
    const revoke = await latchkey('tokens', 'revoke', 'nope');
    expect(revoke.code).toBe(1);
    expect(revoke.stdout).toContain('No active token');
    expect(revoke.stdout).toContain(`Database: ${dbFile}`);
    expect((await latchkey('tokens', 'list', '--me', 'https://127.0.0.1/')).code).toBe(1);
  });

  it('first run: clients allow | deny | remove name the database', async () => {
    const allowed = await latchkey('clients', 'allow', 'https://app.example/');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout.split('\n')[0]).toBe(`Database: ${dbFile}`);
    expect((await latchkey('clients', 'deny', 'https://bad.example/')).stdout).toContain(
      `Database: ${dbFile}`,
    );
    expect((await latchkey('clients', 'remove', 'https://bad.example/')).stdout).toContain(
      `Database: ${dbFile}`,
    );
  });

  it('first run: status shows issuer, database, migrations, secret, email, methods and counts', async () => {
    await latchkey('trust', 'add', 'https://example.com/auth/');
    const out = await latchkey('status');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^Issuer: +http:\/\/localhost:3000\/$/m);
    expect(out.stdout).toMatch(
      new RegExp(`^Database: +SQLite ${dbFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
    );
    expect(out.stdout).toMatch(/^Migrations: +(\d+) of \1 applied, latest \d{3}_\w+$/m);
    expect(out.stdout).toMatch(
      /^Secret: +generated and stored in the database \(settings table, key 'secret'\).*LATCHKEY_SECRET/m,
    );
    expect(out.stdout).toMatch(/^Email \(SMTP\): +not configured/m);
    expect(out.stdout).toMatch(/^Sign-in methods: +passkey, indieauth, pgp\b.*\(email needs SMTP_URL\)$/m);
    expect(out.stdout).toMatch(/^Access tokens: +0 active$/m);
    expect(out.stdout).toMatch(/^Grants: +0 active$/m);
    expect(out.stdout).toMatch(/^Trusted endpoints: +1$/m);
    expect(out.stdout).toMatch(/^Resource servers: +0$/m);
    expect(out.stdout).toMatch(/^Client policies: +1 allowed, 0 denied \(allow-list mode\)$/m);
    expect(out.stdout).not.toContain('Database: /'); // status is read-only: no "Database:" header line
  });

  it('providers add | list | remove: an added GitLab instance is listed and its secret is stored sealed (D7)', async () => {
    const add = await latchkey(
      'providers',
      'add',
      'gitlab',
      'https://gitlab.example/',
      '--client-id',
      'app-123',
      '--client-secret',
      'very-secret-value',
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('Added gitlab at https://gitlab.example');
    expect(add.stdout).toContain('http://localhost:3000/signin/gitlab/callback');
    const list = await latchkey('providers', 'list');
    expect(list.stdout).toContain('gitlab instance https://gitlab.example (client app-123)');
    expect(list.stdout).not.toContain('very-secret-value');
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(dbFile, { readonly: true });
    const stored = JSON.stringify(db.prepare('select * from provider_instances').all());
    db.close();
    expect(stored).toContain('app-123');
    expect(stored).not.toContain('very-secret-value');
    expect((await latchkey('providers', 'add', 'github', 'https://github.example')).code).toBe(1);
    expect((await latchkey('providers', 'remove', 'gitlab', 'https://gitlab.example')).stdout).toContain(
      'Removed',
    );
    expect((await latchkey('providers', 'remove', 'gitlab', 'https://gitlab.example')).code).toBe(1);
  });

  it('first run: status with SMTP and LATCHKEY_SECRET never prints the password or the keys', async () => {
    const out = await run(['status'], {
      SMTP_URL: 'smtp://mailuser:mailpass@mail.example:587',
      LATCHKEY_SECRET: 'first-key-aaaaaaaaaaaaaaaa,second-key-bbbbbbbbbbbbbbbb',
      LATCHKEY_URL: 'https://login.example/',
    });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^Issuer: +https:\/\/login\.example\/$/m);
    expect(out.stdout).toMatch(/^Email \(SMTP\): +configured, smtp:\/\/mail\.example:587$/m);
    expect(out.stdout).toMatch(/^Sign-in methods: +passkey, indieauth, email, pgp, mastodon, ssh$/m);
    expect(out.stdout).toMatch(/^Secret: +2 keys from LATCHKEY_SECRET/m);
    for (const hidden of ['mailpass', 'mailuser', 'first-key', 'second-key'])
      expect(out.stdout).not.toContain(hidden);
  });

  it('first run: doctor URL explains what discovery found', async () => {
    const out = await latchkey('doctor', 'http://alice.example/');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('http://alice.example/auth');
    expect(out.stdout).toContain('https://tokens.example/token');
    expect(out.stdout).toContain('https://github.com/alice');
    // The site names its own authorization endpoint: sign-in would delegate to it, and only to it.
    expect(out.stdout).toMatch(
      /Sign-in would offer\n {2}1\. Sign in with your IndieAuth server at alice\.example/,
    );
  });

  it('first run: usage errors, --help and --version have the right exit codes', async () => {
    const unknown = await latchkey('nonsense');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'nonsense'");
    const help = await latchkey('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('status');
    expect((await latchkey('--version')).code).toBe(0);
  });

  // One real process: the entry point runs when executed and exits 2 on bad configuration.
  // A process start takes seconds on a busy machine, hence the generous timeout (issue 13).
  it('first run: the real process exits 2 with one line for a bad variable', {
    timeout: 120_000,
  }, async () => {
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'status'], {
      env: { ...process.env, LATCHKEY_URL: 'ftp://x', DATABASE_URL: `sqlite:${dbFile}` },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'LATCHKEY_URL: "ftp://x" must be an http:// or https:// URL, e.g. LATCHKEY_URL=https://login.example/\n',
    );
  });
});
