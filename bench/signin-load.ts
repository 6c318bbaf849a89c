/**
 * SECURITY R4 in numbers: token verification (`GET /token` with a bearer, autocannon) alone, then
 * while 20 sign-ins are kept in flight against a person's site that serves 50 MB slowly. Target:
 * verification keeps ≥ 0.8× its throughput alone (one run of this bench: the median of the rounds).
 *
 * Two loads: every sign-in from a fresh address (only the body cap works for us: each fetch stops at
 * 1 MiB), and all 20 from one address (the per-address in-flight limit also holds them to 4; the
 * others are answered 429 and, like a browser told to wait, try again a second later; once the
 * address has used its 60 sign-in starts per 10 minutes, R5's rate limit refuses it too).
 *
 * Latchkey is the shipped build in its own process (bench/built.ts), with connect-to rules pointing
 * the made-up hosts at a fixture server in this process. `tsx bench/signin-load.ts` runs this case
 * alone (building dist/ first).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { type Built, build, freshDatabase, LOAD, median, seed, startBuilt } from './built.js';

const { connections: CONNECTIONS, seconds: DURATION, rounds: ROUNDS, tokens: TOKENS } = LOAD;
const SIGNINS = 20;
const TARGET_RATIO = 0.8;
/** The person's site: 50 MB, 64 KiB every 50 ms (~1.3 MB/s per connection). */
const SITE_BYTES = 50 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const PAUSE_MS = 50;

/** One loopback server: a small client document for any app.test path, and the 50 MB big.test site. */
async function startSites() {
  let bytesServed = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (host === 'app.test') {
      const url = `http://app.test${req.url ?? '/'}`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><div class="h-app"><a class="u-url p-name" href="${url}">Load App</a></div>`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    let sent = 0;
    const pump = () => {
      if (res.destroyed) return;
      if (sent >= SITE_BYTES) return void res.end();
      sent += CHUNK.length;
      bytesServed += CHUNK.length;
      const next = () => setTimeout(pump, PAUSE_MS);
      if (res.write(CHUNK)) next();
      else res.once('drain', next);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    bytesServed: () => bytesServed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The shipped build (bench/built.ts) on a seeded database, with connect-to rules pointing the
 * made-up hosts at the fixture server and X-Forwarded-For trusted from loopback, so the load
 * generator can speak for many addresses.
 */
async function startLatchkey(connectTo: string): Promise<{ url: string; tokens: string[]; server: Built }> {
  const file = freshDatabase();
  const { tokens } = await seed(file, TOKENS);
  const server = await startBuilt(file, {
    LATCHKEY_CONNECT_TO: connectTo,
    LATCHKEY_TRUST_PROXY: '127.0.0.1',
  });
  return { url: server.url, tokens, server };
}

/** CPU seconds a process has used so far (utime + stime), from /proc; NaN where there is none. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface Verification {
  rps: number;
  /** Share of one core each side used during the measured run: who was the bottleneck. */
  serverCpu: number;
  loadCpu: number;
}

async function verificationRps(
  url: string,
  tokens: string[],
  pid: number | undefined,
): Promise<Verification> {
  const options: autocannon.Options = {
    url,
    connections: CONNECTIONS,
    requests: tokens.map((t) => ({
      method: 'GET',
      path: '/token',
      headers: { authorization: `Bearer ${t}` },
    })),
  };
  await autocannon({ ...options, duration: 2 });
  const server = cpuSeconds(pid);
  const load = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({ ...options, duration: DURATION });
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(load);
  if (result.errors + result.non2xx + result.timeouts > 0) {
    throw new Error(
      `verification had ${result.errors} errors, ${result.non2xx} non-2xx, ${result.timeouts} timeouts`,
    );
  }
  return {
    rps: result.requests.average,
    serverCpu: (cpuSeconds(pid) - server) / seconds,
    loadCpu: (used.user + used.system) / 1e6 / seconds,
  };
}

interface LoadStats {
  finished: number;
  /** 429 from the in-flight limit (R4). */
  busy: number;
  /** 429 from the sign-in start rate limit (R5: 60 per address per 10 minutes). */
  rateLimited: number;
}

/** Keeps SIGNINS sign-ins in flight until stopped; `address(n)` is the X-Forwarded-For of the n-th. */
function signInLoad(base: string, address: (n: number) => string) {
  let running = true;
  let sequence = 0;
  const stats: LoadStats = { finished: 0, busy: 0, rateLimited: 0 };
  const worker = async () => {
    while (running) {
      const n = sequence++;
      const clientId = `http://app.test/c${n}/`;
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: `${clientId}callback`,
        state: `load-${n}`,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        me: 'http://big.test/',
      });
      try {
        const res = await fetch(`${base}/authorize?${query}`, {
          redirect: 'manual',
          headers: { accept: 'text/html', 'x-forwarded-for': address(n) },
        });
        const body = await res.text();
        if (res.status === 429) {
          if (body.includes('Too many sign-ins at once')) stats.busy++;
          else stats.rateLimited++;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        } else stats.finished++;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  };
  const workers = Array.from({ length: SIGNINS }, worker);
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(workers);
    },
  };
}

const percent = (share: number) => (Number.isFinite(share) ? `${Math.round(share * 100)} %` : '-');

export interface SignInLoadResult {
  table: string;
  worstRatio: number;
}

interface Row {
  name: string;
  run: Verification;
  stats?: LoadStats;
  mb?: number;
}

/**
 * The three runs, ROUNDS times back to back: a ratio compares runs a minute apart at most, on a
 * machine whose speed drifts more than that from one minute to the next. Each round's sign-ins
 * come from addresses of their own, so one round's rate limits (R5) do not carry into the next.
 */
export async function benchSignInLoad(): Promise<SignInLoadResult> {
  const sites = await startSites();
  const rules = ['app.test', 'big.test'].map((host) => `${host}=127.0.0.1:${sites.port}`).join(',');
  const latchkey = await startLatchkey(rules);
  const rounds: Row[][] = [];
  const pid = latchkey.server.child.pid;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const rows: Row[] = [
        { name: 'GET /token alone', run: await verificationRps(latchkey.url, latchkey.tokens, pid) },
      ];
      const loads: Array<[string, (n: number) => string]> = [
        [
          'with 20 sign-ins in flight, each from its own address (body cap)',
          (n) => `198.18.${round * 4 + ((n >> 8) & 3)}.${n & 255}`,
        ],
        [
          'with 20 sign-ins in flight from one address (cap + in-flight limit)',
          () => `198.19.0.${round + 1}`,
        ],
      ];
      for (const [name, address] of loads) {
        const before = sites.bytesServed();
        const load = signInLoad(latchkey.url, address);
        // Let the sign-ins reach the big site before measuring.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const run = await verificationRps(latchkey.url, latchkey.tokens, pid);
        await load.stop();
        rows.push({ name, run, stats: load.stats, mb: (sites.bytesServed() - before) / 1e6 });
      }
      rounds.push(rows);
    }
  } finally {
    await latchkey.server.stop();
    await sites.close();
  }
  /** The median over the rounds of a figure of run `index`. */
  const across = (index: number, figure: (row: Row) => number) =>
    median(rounds.map((rows) => figure(rows[index] as Row)));
  const ratioIn = (rows: Row[], index: number) => (rows[index] as Row).run.rps / (rows[0] as Row).run.rps;
  const names = (rounds[0] ?? []).map((row) => row.name);
  const ratios = names.slice(1).map((_, i) => median(rounds.map((rows) => ratioIn(rows, i + 1))));
  const worstRatio = Math.min(...ratios);
  const lines = [
    `Latchkey under sign-in load (SECURITY R4) — ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the end, Node ${process.version}`,
    `${CONNECTIONS} connections verifying, ${DURATION} s per run, ${ROUNDS} rounds of the three runs back to back; the shipped build; the site serves ${SITE_BYTES / 1024 / 1024} MB at ~${Math.round((((CHUNK.length / PAUSE_MS) * 1000) / 1e6) * 10) / 10} MB/s per connection. Each figure is the median of the rounds; a ratio is the median of the rounds' ratios`,
    '',
    '| run | verification req/s | ratio to alone | sign-ins answered | 429 in flight (R4) | 429 rate limit (R5) | MB the site sent | Latchkey CPU | load generator CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...names.map((name, i) => {
      const cpu = `${percent(across(i, (r) => r.run.serverCpu))} | ${percent(across(i, (r) => r.run.loadCpu))}`;
      const rps = Math.round(across(i, (r) => r.run.rps));
      if (i === 0) return `| ${name} | ${rps} | 1.00 | - | - | - | - | ${cpu} |`;
      const stat = (figure: (s: LoadStats) => number) =>
        across(i, (r) => (r.stats ? figure(r.stats) : Number.NaN));
      return `| ${name} | ${rps} | ${(ratios[i - 1] as number).toFixed(2)} | ${stat((s) => s.finished)} | ${stat((s) => s.busy)} | ${stat((s) => s.rateLimited)} | ${across(i, (r) => r.mb ?? Number.NaN).toFixed(1)} | ${cpu} |`;
    }),
    '',
    `Each round, verification req/s alone and the two ratios: ${rounds
      .map(
        (rows) =>
          `${Math.round((rows[0] as Row).run.rps)}, ${ratioIn(rows, 1).toFixed(2)}, ${ratioIn(rows, 2).toFixed(2)}`,
      )
      .join('; ')}.`,
    'CPU is the share of one core used during the measured run: Latchkey, and this process (autocannon, the site and the sign-ins).',
    '',
    `target ≥ ${TARGET_RATIO.toFixed(2)}× alone: ${worstRatio >= TARGET_RATIO ? 'met' : 'NOT met'} (worst ratio ${worstRatio.toFixed(2)})`,
  ];
  return { table: lines.join('\n'), worstRatio };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  build();
  const { table } = await benchSignInLoad();
  console.log(`\n${table}`);
  process.exit(0);
}
