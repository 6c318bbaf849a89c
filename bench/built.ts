/**
 * The shipped server as an operator runs it: `node bin/latchkey serve` from the esbuild bundle
 * (`npm run build`), on a SQLite file. Used by bench/run.ts for the token tables, cold start and
 * memory, so those figures are the production artifact's, not a dev loader's.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { testConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { createServices } from '../src/services.js';
import { issueTokens } from './seed.js';
import { freePort } from './signin.js';

const ROOT = join(import.meta.dirname, '..');

/**
 * How the token runs load a server (bench/run.ts, bench/signin-load.ts). The machine is shared:
 * one server measured at one moment can be a third faster or slower than at the next, so runs are
 * short and repeated in rounds of all the servers back to back, and every figure is a median over
 * the rounds; five rounds give a median that one odd round cannot move.
 */
export const LOAD = {
  connections: Number(process.env.BENCH_CONNECTIONS ?? 64),
  seconds: Number(process.env.BENCH_SECONDS ?? 6),
  rounds: Number(process.env.BENCH_ROUNDS ?? 5),
  tokens: Number(process.env.BENCH_TOKENS ?? 10_000),
};

/** The median of the finite values (NaN when there are none). */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((x, y) => x - y);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Builds dist/ once, so the figures are never those of a stale bundle. */
export function build(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs')], { cwd: ROOT, stdio: 'inherit' });
}

export function freshDatabase(): string {
  return join(mkdtempSync(join(tmpdir(), 'latchkey-bench-')), 'latchkey.db');
}

/** Seeds `count` tokens (one grant each) and a resource server; returns 256 tokens and its secret. */
export async function seed(file: string, count: number): Promise<{ tokens: string[]; secret: string }> {
  const services = await createServices(testConfig({ databaseUrl: `sqlite:${file}` }), {
    logger: silentLogger(),
  });
  const tokens = await issueTokens(services, count);
  const { secret } = await services.resourceServers.create('bench');
  await services.close();
  return { tokens, secret };
}

export interface Built {
  url: string;
  child: ChildProcess;
  /** From spawn to the first `/health` that answers 200. */
  startMs: number;
  /** Resident memory now, MB (VmRSS). */
  rss(): number;
  /** The most resident memory so far, MB (VmHWM). */
  peakRss(): number;
  stop(): Promise<void>;
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/**
 * The node flags bin/latchkey starts node with (its `#!/usr/bin/env -S node …` line). The reference
 * servers get them too, so every process in a comparison runs with the same V8 settings.
 */
export const NODE_FLAGS: readonly string[] =
  /^#!\/usr\/bin\/env -S node (.+)$/m
    .exec(readFileSync(join(ROOT, 'bin', 'latchkey'), 'utf8'))?.[1]
    ?.split(' ') ?? [];

/**
 * Starts the built server on `file`, as a program the way `npm start` runs it (so with
 * NODE_FLAGS), and waits for a healthy `/health`; `env` adds configuration.
 */
export async function startBuilt(file: string, env: Record<string, string> = {}): Promise<Built> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(join(ROOT, 'bin', 'latchkey'), ['serve'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      // `env` in the first line finds node on PATH: this node, the one measuring.
      PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
      NODE_ENV: 'production',
      DATABASE_URL: `sqlite:${file}`,
      LATCHKEY_URL: `${url}/`,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`bin/latchkey serve exited with ${code}`))),
  );
  const healthy = (async () => {
    for (;;) {
      try {
        const response = await fetch(`${url}/health`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  await Promise.race([healthy, exited]);
  const startMs = performance.now() - started;
  const pid = child.pid ?? 0;
  return {
    url,
    child,
    startMs,
    rss: () => status(pid, 'VmRSS'),
    peakRss: () => status(pid, 'VmHWM'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Cold start: spawn to healthy `/health`, each on a new database (created and migrated), median of `runs`. */
export async function coldStart(runs = 5): Promise<{ median: number; all: number[]; idleRss: number }> {
  const all: number[] = [];
  let idleRss = 0;
  for (let i = 0; i < runs; i++) {
    const server = await startBuilt(freshDatabase());
    all.push(server.startMs);
    // Idle: a second after start, when the first purge and start-up garbage have settled.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    idleRss = Math.max(idleRss, server.rss());
    await server.stop();
  }
  const sorted = [...all].sort((a, b) => a - b);
  return { median: sorted[Math.floor(runs / 2)] ?? Number.NaN, all, idleRss };
}
