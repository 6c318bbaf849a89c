/**
 * The server process: listening, health, and a clean stop on SIGTERM (SECURITY R2).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer } from '../../src/server.js';
import { createServices } from '../../src/services.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('server', () => {
  it('creates and migrates its SQLite file, and /health answers over a real socket', async () => {
    const config = testConfig({ databaseUrl: `sqlite:${join(dir, 'nested', 'a.db')}`, port: 0 });
    const server = await startServer(config, { logger: silentLogger() });
    try {
      const res = await fetch(new URL('health', server.url));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    } finally {
      await server.close();
    }
  });

  it('/health is 503 when the store does not answer', async () => {
    const services = await createServices(testConfig(), { logger: silentLogger() });
    const app = buildApp(services);
    await services.store.close();
    const res = await app.request('/health');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { status: string }).status).toBe('unavailable');
  });

  it('unknown paths are a JSON 404 and oversized bodies a 413, never a 500', async () => {
    const services = await createServices(testConfig(), { logger: silentLogger() });
    const app = buildApp(services);
    try {
      expect((await app.request('/nope')).status).toBe(404);
      const big = await app.request('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `code=${'a'.repeat(100_000)}`,
      });
      expect(big.status).toBe(413);
    } finally {
      await services.close();
    }
  });

  it('R2: SIGTERM stops the server cleanly', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
      env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'r2.db')}`, PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    const listen = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /"listen":"([^"]+)"/.exec(output);
        if (match?.[1]) {
          clearInterval(timer);
          resolve(match[1]);
        }
      }, 50);
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${output}`)));
    });
    const res = await fetch(`http://${listen}/health`);
    expect(res.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('"event":"server.stopping"');
  });
});
