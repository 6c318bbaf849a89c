/**
 * SECURITY R4 in numbers: token verification (`GET /token` with a bearer, autocannon) alone, then
 * while 20 sign-ins are kept in flight against a person's site that is slow and huge, or dense.
 * Target: verification keeps ≥ 0.8× its throughput alone (one run of this bench: the median of the
 * rounds).
 *
 * Three loads:
 * - every sign-in from a fresh address, against a site serving 50 MB slowly: only the body cap
 *   works for us (each fetch stops at 1 MiB);
 * - all 20 from one address: the per-address in-flight limit also holds them to 4; the others are
 *   answered 429 and, like a browser told to wait, try again a second later; once the address has
 *   used its 60 sign-in starts per 10 minutes, R5's rate limit refuses it too;
 * - every sign-in from a fresh address, against a page of markup just under the cap, read whole and
 *   parsed: hundreds of milliseconds each, which the parse worker (src/net/html-parse.ts) keeps off
 *   the event loop.
 *
 * Latchkey is the shipped build in its own process (bench/built.ts), with connect-to rules pointing
 * the made-up hosts at the fixture sites; those and the sign-ins run in a third process
 * (bench/hostile-site.ts), so autocannon's event loop does nothing but measure.
 * `tsx bench/signin-load.ts` runs this case alone (building dist/ first).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { type Built, build, freshDatabase, LOAD, median, seed, startBuilt } from './built.js';
import type { Command, LoadStats, Site } from './hostile-site.js';

const { connections: CONNECTIONS, seconds: DURATION, rounds: ROUNDS, tokens: TOKENS } = LOAD;
const TARGET_RATIO = 0.8;

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
  /** The fixture sites and the sign-ins (bench/hostile-site.ts). */
  personCpu: number;
}

async function verificationRps(
  url: string,
  tokens: string[],
  [pid, personPid]: [number | undefined, number | undefined],
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
  const person = cpuSeconds(personPid);
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
    personCpu: (cpuSeconds(personPid) - person) / seconds,
  };
}

/** The person's side (bench/hostile-site.ts) in its own process, driven over its stdin. */
async function startPersonSide() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'hostile-site.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const answer = async <T>(command?: Command): Promise<T> => {
    if (command) child.stdin?.write(`${JSON.stringify(command)}\n`);
    const next = await lines.next();
    if (next.done) throw new Error('bench/hostile-site.ts exited');
    return JSON.parse(next.value) as T;
  };
  const site = await answer<{ port: number; siteBytes: number; mbPerSecond: number }>();
  return {
    ...site,
    pid: child.pid,
    start: (base: string, site: Site, from: 'own' | 'one', round: number) =>
      answer({ start: { base, site, from, round } }),
    stop: () => answer<{ stats: LoadStats; bytes: number }>({ stop: true }),
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin?.end();
      }),
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
  const person = await startPersonSide();
  const rules = ['app.test', 'big.test', 'dense.test']
    .map((host) => `${host}=127.0.0.1:${person.port}`)
    .join(',');
  const latchkey = await startLatchkey(rules);
  const rounds: Row[][] = [];
  const pid = latchkey.server.child.pid;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const rows: Row[] = [
        {
          name: 'GET /token alone',
          run: await verificationRps(latchkey.url, latchkey.tokens, [pid, person.pid]),
        },
      ];
      const loads: Array<[string, Site, 'own' | 'one']> = [
        ['with 20 sign-ins in flight, each from its own address (body cap)', 'big', 'own'],
        ['with 20 sign-ins in flight from one address (cap + in-flight limit)', 'big', 'one'],
        [
          'with 20 sign-ins of a 1 MiB page of markup, each from its own address (parsed off the event loop)',
          'dense',
          'own',
        ],
      ];
      for (const [name, site, from] of loads) {
        const { bytes: before } = await person.stop();
        await person.start(latchkey.url, site, from, round);
        // Let the sign-ins reach the big site before measuring.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const run = await verificationRps(latchkey.url, latchkey.tokens, [pid, person.pid]);
        const { stats, bytes } = await person.stop();
        rows.push({ name, run, stats, mb: (bytes - before) / 1e6 });
      }
      rounds.push(rows);
    }
  } finally {
    await latchkey.server.stop();
    await person.close();
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
    `${CONNECTIONS} connections verifying, ${DURATION} s per run, ${ROUNDS} rounds of the three runs back to back; the shipped build; the site serves ${person.siteBytes / 1024 / 1024} MB at ~${person.mbPerSecond} MB/s per connection, from a process of its own. Each figure is the median of the rounds; a ratio is the median of the rounds' ratios`,
    '',
    '| run | verification req/s | ratio to alone | sign-ins answered | 429 in flight (R4) | 429 rate limit (R5) | MB the site sent | Latchkey CPU | load generator CPU | site and sign-ins CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...names.map((name, i) => {
      const cpu = `${percent(across(i, (r) => r.run.serverCpu))} | ${percent(across(i, (r) => r.run.loadCpu))} | ${percent(across(i, (r) => r.run.personCpu))}`;
      const rps = Math.round(across(i, (r) => r.run.rps));
      if (i === 0) return `| ${name} | ${rps} | 1.00 | - | - | - | - | ${cpu} |`;
      const stat = (figure: (s: LoadStats) => number) =>
        across(i, (r) => (r.stats ? figure(r.stats) : Number.NaN));
      return `| ${name} | ${rps} | ${(ratios[i - 1] as number).toFixed(2)} | ${stat((s) => s.finished)} | ${stat((s) => s.busy)} | ${stat((s) => s.rateLimited)} | ${across(i, (r) => r.mb ?? Number.NaN).toFixed(1)} | ${cpu} |`;
    }),
    '',
    `Each round, verification req/s alone and the ratios: ${rounds
      .map((rows) =>
        [
          Math.round((rows[0] as Row).run.rps),
          ...rows.slice(1).map((_, i) => ratioIn(rows, i + 1).toFixed(2)),
        ].join(', '),
      )
      .join('; ')}.`,
    'CPU is the share of one core used during the measured run: Latchkey, this process (autocannon), and the process serving the site and driving the sign-ins (bench/hostile-site.ts).',
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
