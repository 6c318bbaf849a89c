/**
 * The CLI as an operator uses it: a real process, a real SQLite file, real output.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../helpers/fixture-server.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
let site: Fixture;

async function latchkey(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: {
        ...process.env,
        DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`,
        LATCHKEY_CONNECT_TO: `alice.example=127.0.0.1:${site.port}`,
        LOG_LEVEL: 'silent',
      },
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
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
  it('migrate creates the database', async () => {
    const out = await latchkey('migrate');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('up to date (sqlite)');
  });

  it('trust add | list | remove manages trusted authorization endpoints', async () => {
    expect((await latchkey('trust', 'list')).stdout).toContain('No trusted authorization endpoints');
    expect((await latchkey('trust', 'add', 'https://Example.com/auth/')).stdout).toContain(
      'Trusted https://example.com/auth/',
    );
    expect((await latchkey('trust', 'add', 'https://example.com/auth/')).stdout).toContain('already trusted');
    expect((await latchkey('trust', 'list')).stdout.trim()).toBe('https://example.com/auth/');
    expect((await latchkey('trust', 'remove', 'https://example.com/auth/')).code).toBe(0);
    const again = await latchkey('trust', 'remove', 'https://example.com/auth/');
    expect(again.code).toBe(1);
    const bad = await latchkey('trust', 'add', 'example.com/auth');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('is not a URL');
  });

  it('resource-server add prints the secret once; list never shows it', async () => {
    const added = await latchkey('resource-server', 'add', 'micropub');
    const secret = added.stdout.split('\n').find((line) => /^[\w-]+\.[\w-]{43}$/.test(line));
    expect(secret).toBeDefined();
    const listed = await latchkey('resource-server', 'list');
    expect(listed.stdout).toContain('micropub');
    expect(listed.stdout).not.toContain(secret as string);
    expect((await latchkey('resource-server', 'add', 'micropub')).stderr).toContain('exists already');
    expect((await latchkey('resource-server', 'remove', 'micropub')).code).toBe(0);
  });

  it('tokens list and revoke', async () => {
    expect((await latchkey('tokens', 'list')).stdout).toContain('No tokens.');
    const revoke = await latchkey('tokens', 'revoke', 'nope');
    expect(revoke.code).toBe(1);
    expect(revoke.stdout).toContain('No active token');
    expect((await latchkey('tokens', 'list', '--me', 'https://127.0.0.1/')).code).toBe(1);
  });

  it('doctor URL explains what discovery found', async () => {
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
});
