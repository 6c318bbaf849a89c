/**
 * `npm run bench`: requests/second and latency of token verification (`GET /token`) and
 * introspection (`POST /introspect`) against a bare node:http baseline, from one run on this machine.
 * Targets (DESIGN): ≥ 60 % of the baseline's requests/second, p99 under 10 ms at 64 connections.
 * Then a second table from bench/signin.ts: sign-in discovery latency with slow remote pages, and a
 * third from bench/signin-load.ts: verification with 20 sign-ins in flight against a 50 MB site (R4),
 * and a fourth from bench/providers.ts: chooser → GitHub redirect, and five Mastodon probes → chooser.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { reexecTrustingTestCa } from './trust-test-ca.js';

// The fourth table's Mastodon stand-in speaks https with the test CA's certificate, and Node reads
// NODE_EXTRA_CA_CERTS only at process start: unless this process was started with a bundle holding
// the test CA, this runs the same script again with it set and exits with that run's code
// (bench/trust-test-ca.ts). Done first, so nothing below runs twice.
await reexecTrustingTestCa();

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 10_000);

interface Target {
  info: { url: string; tokens?: string[]; secret?: string };
  child: ChildProcess;
}

async function start(mode: string): Promise<Target> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/target.ts', mode, String(TOKENS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${mode} exited with ${code}`)));
  });
  return { info: JSON.parse(first), child };
}

interface Measured {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function measure(name: string, options: autocannon.Options): Promise<Measured> {
  // A short warm-up lets the JIT and the SQLite page cache settle before the measured run.
  await autocannon({ ...options, duration: 2 });
  const result = await autocannon({ ...options, duration: DURATION });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

const baseline = await start('baseline');
const base = await measure('baseline node:http (fixed JSON)', {
  url: baseline.info.url,
  connections: CONNECTIONS,
});
baseline.child.kill();

const latchkey = await start('latchkey');
const { url, tokens = [], secret = '' } = latchkey.info;
const verify = await measure('GET /token (verification)', {
  url,
  connections: CONNECTIONS,
  requests: tokens.map((t) => ({ method: 'GET', path: '/token', headers: { authorization: `Bearer ${t}` } })),
});
const introspect = await measure('POST /introspect', {
  url,
  connections: CONNECTIONS,
  requests: tokens.map((t) => ({
    method: 'POST',
    path: '/introspect',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${encodeURIComponent(t)}`,
  })),
});
latchkey.child.kill();

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`\nLatchkey token benchmark — ${cpus().length} × ${cpu}, Node ${process.version}`);
console.log(`${CONNECTIONS} connections, ${DURATION} s per run, SQLite store seeded with ${TOKENS} tokens\n`);
const rows = [base, verify, introspect];
console.log('| endpoint | req/s | p50 ms | p99 ms | errors | ratio to baseline |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const ratio = r === base ? '1.00' : (r.rps / base.rps).toFixed(2);
  console.log(`| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${ratio} |`);
}
const worst = Math.min(verify.rps, introspect.rps) / base.rps;
console.log(
  `\ntarget ≥ 0.60 of baseline: ${worst >= 0.6 ? 'met' : 'NOT met'} (worst ratio ${worst.toFixed(2)})`,
);

// Second table: sign-in discovery latency (bench/signin.ts), Latchkey in this process. Loaded only
// now, so the load generator above runs exactly as before.
const { benchSignIn } = await import('./signin.js');
const signIn = await benchSignIn();
console.log(`\n${signIn.table}`);

// Third table: verification under sign-in load against a 50 MB site (SECURITY R4, bench/signin-load.ts).
const { benchSignInLoad } = await import('./signin-load.js');
console.log(`\n${(await benchSignInLoad()).table}`);

// Fourth table: provider sign-in (bench/providers.ts), Latchkey in this process again.
const { benchProviders } = await import('./providers.js');
console.log(`\n${(await benchProviders()).table}`);
process.exit(0);
