/**
 * Sign-in discovery latency (DESIGN "Performance targets"): with every remote page answering after
 * 100 ms, the time from sending `GET /authorize?…&me=…` to receiving the provider chooser (200) or
 * the redirect to the person's own IndieAuth server (302) should be at most 1.3× one fetch, because
 * the person's site and the client_id document are fetched at the same time.
 *
 * Latchkey runs in this process (real server on a loopback port, SQLite file store, real fetcher);
 * made-up hosts reach one slow fixture server through connect-to rules. Every run uses a fresh
 * client_id (its own path, with a same-origin redirect_uri under it) and a fresh browser session, so
 * no cache helps: the client document cache is keyed by client_id, and the site is never cached.
 * Runs are sequential. Each run also sends its own `X-Forwarded-For` (the loopback proxy is trusted
 * in this config) so the per-IP sign-in start limit (60 per 10 minutes) is never in play.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { testConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { authorizeQuery } from './authorize-query.js';

export const DELAY_MS = 100;
const TARGET_RATIO = 1.3;
const HOSTS = ['alice.test', 'carol.test', 'app.test', 'idp.test'];

interface SlowPage {
  type: string;
  body: string;
}

/** One loopback server answering for made-up hosts, every page after DELAY_MS; counts requests. */
export async function startSlowWeb() {
  const pages = new Map<string, SlowPage>();
  const hits = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const key = `http://${host}${new URL(req.url ?? '/', 'http://x').pathname}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    const page = pages.get(key);
    setTimeout(() => {
      if (!page) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': page.type });
      res.end(page.body);
    }, DELAY_MS);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    hits,
    page(url: string, body: string, type = 'text/html; charset=utf-8') {
      pages.set(url, { type, body });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function homepage(name: string, links: string): string {
  return `<!doctype html><html><head><title>${name}</title>${links}</head>
<body><div class="h-card"><a class="u-url p-name" href="/">${name}</a></div></body></html>`;
}

export function clientApp(name: string, url: string): string {
  return `<!doctype html><html><head></head>
<body><div class="h-app"><a class="u-url p-name" href="${url}">${name}</a></div></body></html>`;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export function percentile(sorted: number[], p: number): number {
  // Nearest-rank percentile.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

export function median(sorted: number[]): number {
  const mid = sorted.length / 2;
  return Number.isInteger(mid)
    ? ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
    : (sorted[Math.floor(mid)] ?? 0);
}

interface Case {
  name: string;
  me: string;
  status: number;
  /** Checks the answer really is the chooser / the redirect, not an error page. */
  check(response: Response, body: string): string | undefined;
}

export interface SignInBenchRow {
  name: string;
  runs: number;
  median: number;
  p90: number;
  ratio: number;
}

export interface SignInBenchResult {
  rows: SignInBenchRow[];
  /** The markdown table and the target line, ready to print. */
  table: string;
}

/** Runs both cases `runs` times each (sequentially) and returns the rows and a printable table. */
export async function benchSignIn(
  runs = Number(process.env.BENCH_SIGNIN_RUNS ?? 30),
): Promise<SignInBenchResult> {
  const web = await startSlowWeb();
  web.page(
    'http://alice.test/',
    homepage('Alice', '<link rel="me" href="mailto:alice@alice.test"><link rel="pgpkey" href="/key.asc">'),
  );
  web.page(
    'http://alice.test/key.asc',
    '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n',
    'text/plain',
  );
  web.page(
    'http://carol.test/',
    homepage('Carol', '<link rel="authorization_endpoint" href="http://idp.test/auth">'),
  );

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-signin-'));
  const port = await freePort();
  const server = await startServer(
    testConfig({
      host: '127.0.0.1',
      port,
      publicUrl: `http://127.0.0.1:${port}/`,
      databaseUrl: `sqlite:${join(dir, 'signin.db')}`,
      connectTo: HOSTS.map((host) => ({ host, address: '127.0.0.1', port: web.port })),
      trustProxy: ['127.0.0.1'],
    }),
    // Email is offered only when mail can be sent; nothing is sent before the person chooses it.
    { logger: silentLogger(), mailer: { enabled: true, async send() {}, close() {} } },
  );

  const cases: Case[] = [
    {
      name: 'site with rel=me mailto + pgpkey → chooser (200)',
      me: 'http://alice.test/',
      status: 200,
      check: (_response, body) =>
        body.includes('action="/signin/choose"') ? undefined : 'the page is not the chooser',
    },
    {
      name: 'site with authorization_endpoint → redirect (302)',
      me: 'http://carol.test/',
      status: 302,
      check: (response) =>
        (response.headers.get('location') ?? '').startsWith('http://idp.test/auth?')
          ? undefined
          : `redirected to ${response.headers.get('location')}`,
    },
  ];

  let sequence = 0;
  /** One sign-in start with a client_id never seen before; returns milliseconds. */
  const once = async (c: Case): Promise<number> => {
    const n = sequence++;
    const clientId = `http://app.test/c${n}/`;
    web.page(clientId, clientApp(`Bench App ${n}`, clientId));
    const query = authorizeQuery(clientId, `bench-${n}`, c.me);
    const forwardedFor = `198.18.${(n >> 8) & 255}.${n & 255}`;
    const started = performance.now();
    const response = await fetch(`${server.url}authorize?${query}`, {
      redirect: 'manual',
      headers: { accept: 'text/html', 'x-forwarded-for': forwardedFor },
    });
    const body = await response.text();
    const elapsed = performance.now() - started;
    const problem =
      response.status !== c.status
        ? `status ${response.status}, expected ${c.status}: ${body.slice(0, 300)}`
        : c.check(response, body);
    if (problem) throw new Error(`sign-in bench, ${c.name}: ${problem}`);
    if (web.hits.get(clientId) !== 1) throw new Error(`client document ${clientId} was not fetched once`);
    return elapsed;
  };

  const rows: SignInBenchRow[] = [];
  try {
    for (const c of cases) {
      // Warm-up (JIT, SQLite pages, the fetcher's connection pool); not measured.
      for (let i = 0; i < 3; i++) await once(c);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await once(c));
      times.sort((a, b) => a - b);
      const med = median(times);
      rows.push({ name: c.name, runs, median: med, p90: percentile(times, 90), ratio: med / DELAY_MS });
    }
  } finally {
    await server.close();
    await web.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const lines = [
    `Latchkey sign-in discovery — every remote page answers after ${DELAY_MS} ms; ${runs} sequential runs per case, fresh client_id and session each run`,
    '',
    `| case | median ms | p90 ms | ratio to one ${DELAY_MS} ms fetch |`,
    '|---|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.name} | ${r.median.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.ratio.toFixed(2)} |`,
    ),
  ];
  const worst = Math.max(...rows.map((r) => r.ratio));
  lines.push(
    '',
    `target ≤ ${TARGET_RATIO.toFixed(2)}× one fetch: ${worst <= TARGET_RATIO ? 'met' : 'NOT met'} (worst median ratio ${worst.toFixed(2)})`,
  );
  return { rows, table: lines.join('\n') };
}
