/**
 * SECURITY R9: bad configuration stops the process before it listens, with one line naming the
 * variable, what is wrong and a good value; the CLI exits with code 2.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli.js';
import { ConfigError, loadConfig, testConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { createServices } from '../src/services.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The ConfigError `fn` throws (fails the test when it throws something else or nothing). */
async function configError(fn: () => unknown): Promise<ConfigError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

async function cli(args: string[], env: Record<string, string>) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    env: { LOG_LEVEL: 'silent', ...env },
    stdout: (c) => {
      stdout += c;
    },
    stderr: (c) => {
      stderr += c;
    },
  });
  return { code, stdout, stderr };
}

/** [variable, bad value, words the message must contain]. */
const BAD: Array<[string, string, string]> = [
  ['LATCHKEY_URL', 'ftp://x', 'must be an http:// or https:// URL'],
  ['LATCHKEY_URL', 'login.example', 'must be an http:// or https:// URL'],
  ['LATCHKEY_URL', 'https://login.example/?a=1', 'query'],
  ['LATCHKEY_URL', 'https://login.example/#top', 'fragment'],
  ['LATCHKEY_URL', 'https://me:pw@login.example/', 'user name or password'],
  ['HOST', '999.1.1.1', 'not a valid IPv4 address'],
  ['HOST', 'not a host', 'not an IP address or host name'],
  ['PORT', 'abc', 'port number from 0 to 65535'],
  ['PORT', '70000', 'port number from 0 to 65535'],
  ['DATABASE_URL', 'sqlite:', 'no file path'],
  ['DATABASE_URL', 'sqlite://data.db', 'without //'],
  ['DATABASE_URL', 'mysql://db/latchkey', 'must start with sqlite: or postgres://'],
  ['DATABASE_URL', './data/latchkey.db', 'must start with sqlite: or postgres://'],
  ['SMTP_URL', 'nonsense', 'smtp:// or smtps:// URL'],
  ['SMTP_URL', 'http://mail.example/', 'smtp:// or smtps:// URL'],
  ['MAIL_FROM', 'latchkey', 'not an email address'],
  ['MAIL_FROM', 'Latchkey <nobody>', 'not an email address'],
  ['LOG_LEVEL', 'loud', 'not a log level'],
  ['REFRESH_TOKENS', 'maybe', 'true or false'],
  ['REFRESH_TOKENS', 'yes', 'true or false'],
  ['ALLOW_NO_PKCE', 'on', 'true or false'],
  ['CODE_TTL', 'soon', 'not a duration'],
  ['TOKEN_TTL', '0', 'longer than 0'],
  ['REFRESH_TOKEN_TTL', '30 days', 'not a duration'],
  ['FETCH_CONNECT_TIMEOUT', '3x', 'not a duration'],
  ['FETCH_HEADERS_TIMEOUT', '-5s', 'not a duration'],
  ['FETCH_TOTAL_TIMEOUT', '30d', 'too long'],
  ['LATCHKEY_CONNECT_TO', 'alice.example', 'not host=address[:port]'],
  ['LATCHKEY_CONNECT_TO', 'alice.example=127.0.0.1:99999', 'port from 1 to 65535'],
  ['LATCHKEY_CONNECT_TO', 'a.example=127.0.0.1,b.example', 'has "b.example", which is not'],
  ['LATCHKEY_ALLOW_PRIVATE_NETWORK', '10.0.0.0/33', 'not a CIDR range'],
  ['LATCHKEY_TRUST_PROXY', '10.0.0.0/99', 'not a CIDR range'],
];

describe('R9 configuration errors', () => {
  it.each(BAD)(
    'R9 %s=%s is refused in one line naming the variable and an example',
    async (name, value, words) => {
      const error = await configError(() => loadConfig({ [name]: value }));
      expect(error.variable).toBe(name);
      expect(error.message).toContain(words);
      expect(error.message.startsWith(`${name}: `)).toBe(true);
      expect(error.message).toMatch(new RegExp(`, e\\.g\\. ${name}=\\S`));
      expect(error.message).not.toContain('\n');
    },
  );

  it('R9 the message reads as documented', () => {
    expect(() => loadConfig({ LATCHKEY_URL: 'ftp://x' })).toThrow(
      'LATCHKEY_URL: "ftp://x" must be an http:// or https:// URL, e.g. LATCHKEY_URL=https://login.example/',
    );
  });

  it('R9 a password in a bad URL is not echoed', async () => {
    const error = await configError(() => loadConfig({ SMTP_URL: 'http://user:hunter2@mail.example/' }));
    expect(error.message).not.toContain('hunter2');
  });

  it('R9 good values are accepted and normalised', () => {
    const config = loadConfig({
      LATCHKEY_URL: 'https://login.example/auth',
      HOST: '::',
      PORT: '0',
      DATABASE_URL: 'postgresql://u:p@db.example/latchkey',
      SMTP_URL: 'smtps://u:p@mail.example:465',
      MAIL_FROM: 'Latchkey <login@example.com>',
      LOG_LEVEL: 'DEBUG',
      REFRESH_TOKENS: 'FALSE',
      ALLOW_NO_PKCE: '1',
      CODE_TTL: '2m',
      LATCHKEY_CONNECT_TO: 'alice.example=127.0.0.1:8080,bob.example=[::1]',
      LATCHKEY_ALLOW_PRIVATE_NETWORK: '10.0.0.0/8,*.intranet.example',
    });
    expect(config.publicUrl).toBe('https://login.example/auth/');
    expect(config.port).toBe(0);
    expect(config.logLevel).toBe('debug');
    expect(config.refreshTokens).toBe(false);
    expect(config.allowNoPkce).toBe(true);
    expect(config.codeTtl).toBe(120);
    expect(config.connectTo).toEqual([
      { host: 'alice.example', address: '127.0.0.1', port: 8080 },
      { host: 'bob.example', address: '::1', port: undefined },
    ]);
    expect(loadConfig({ HOST: 'localhost', DATABASE_URL: 'sqlite::memory:' }).databaseUrl).toBe(
      'sqlite::memory:',
    );
    // Blank is unset: the default applies.
    expect(loadConfig({ PORT: '', REFRESH_TOKENS: '' })).toMatchObject({ port: 3000, refreshTokens: true });
  });

  it('R9 the CLI exits 2 with one line on stderr for a bad variable, for every command', async () => {
    for (const args of [['trust', 'list'], ['status'], ['migrate'], ['serve']]) {
      const out = await cli(args, { LATCHKEY_URL: 'ftp://x', DATABASE_URL: 'sqlite::memory:' });
      expect(out.code).toBe(2);
      expect(out.stdout).toBe('');
      expect(out.stderr).toBe(
        'LATCHKEY_URL: "ftp://x" must be an http:// or https:// URL, e.g. LATCHKEY_URL=https://login.example/\n',
      );
    }
    const host = await cli(['serve'], { HOST: '999.1.1.1', DATABASE_URL: 'sqlite::memory:' });
    expect(host.code).toBe(2);
    expect(host.stderr).toMatch(/^HOST: "999\.1\.1\.1" is not a valid IPv4 address, e\.g\. HOST=\S+\n$/);
  });

  it('R9 unreachable PostgreSQL is named as the database, without its password', async () => {
    const url = 'postgres://user:secret@127.0.0.1:1/x';
    const error = await configError(() =>
      createServices(testConfig({ databaseUrl: url }), { logger: silentLogger() }),
    );
    expect(error.variable).toBe('DATABASE_URL');
    expect(error.message).toMatch(
      /^DATABASE_URL: PostgreSQL at postgres:\/\/user:\*\*\*@127\.0\.0\.1:1\/x is unreachable/,
    );
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).not.toContain('secret');

    const out = await cli(['status'], { DATABASE_URL: url });
    expect(out.code).toBe(2);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toContain('unreachable');
    expect(out.stderr).not.toContain('secret');
  });

  it('R9 a SQLite path that cannot be created names DATABASE_URL and the path', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const path = join(file, 'sub', 'db.sqlite');
    const error = await configError(() =>
      createServices(testConfig({ databaseUrl: `sqlite:${path}` }), { logger: silentLogger() }),
    );
    expect(error.variable).toBe('DATABASE_URL');
    expect(error.message).toContain(path);
    expect(error.message).toContain('not a directory');

    const out = await cli(['migrate'], { DATABASE_URL: `sqlite:${path}` });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/^DATABASE_URL: cannot open the SQLite database .*db\.sqlite: .*\n$/);
  });

  it('R9 a file that is not an SQLite database is named as such', async () => {
    const path = join(dir, 'garbage.db');
    writeFileSync(path, 'x'.repeat(4096));
    const error = await configError(() =>
      createServices(testConfig({ databaseUrl: `sqlite:${path}` }), { logger: silentLogger() }),
    );
    expect(error.message).toBe(
      `DATABASE_URL: cannot open the SQLite database ${path}: the file is not an SQLite database, e.g. DATABASE_URL=sqlite:/var/lib/latchkey/latchkey.db`,
    );
  });
});
