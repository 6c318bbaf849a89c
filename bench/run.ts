/**
 * `npm run bench`: every target of DESIGN "Performance targets", from one run on this machine, with
 * its figure and ratio, then the detailed tables.
 *
 * 1. Token verification (`GET /token`) and introspection (`POST /introspect`) on the shipped build
 *    (`bin/latchkey serve`, SQLite seeded with 10 000 tokens) against a bare node:http server
 *    answering a fixed JSON body, and introspection against node-oidc-provider's (its default
 *    in-memory adapter, a client_credentials token); autocannon, 64 connections; five rounds of
 *    the servers back to back, so each ratio compares servers measured at the same moment. A floor
 *    server (bench/target.ts floor: node:http with a hash, a Map lookup and JSON, nothing else)
 *    answers the same two requests, and the bare server is sent them too (it does not read them), to
 *    show how much of the distance to bare is node:http's and the requests' own.
 * 2. Cold start of the shipped build to a healthy `/health` (median of 5, each on a new database),
 *    and its memory: idle, and the peak while loaded by (1).
 * 3. Sign-in discovery (bench/signin.ts), verification under sign-in load against a 50 MB site
 *    (bench/signin-load.ts, SECURITY R4) and provider sign-in (bench/providers.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { build, coldStart, freshDatabase, LOAD, median, NODE_FLAGS, seed, startBuilt } from './built.js';
import { reexecTrustingTestCa } from './trust-test-ca.js';

// The provider table's Mastodon stand-in speaks https with the test CA's certificate, and Node reads
// NODE_EXTRA_CA_CERTS only at process start: unless this process was started with a bundle holding
// the test CA, this runs the same script again with it set and exits with that run's code
// (bench/trust-test-ca.ts). Done first, so nothing below runs twice.
await reexecTrustingTestCa();

const { connections: CONNECTIONS, seconds: DURATION, rounds: ROUNDS, tokens: TOKENS } = LOAD;

interface Target {
  info: { url: string; tokens?: string[]; basic?: string; path?: string };
  child: ChildProcess;
}

/**
 * A reference process (bench/target.ts, bench/oidc-target.ts) printing one JSON line; with
 * Latchkey's node flags, so only the code differs.
 */
async function startTarget(script: string, args: string[] = []): Promise<Target> {
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  // node-oidc-provider prints its notices on stdout; the target's JSON line is the one starting "{".
  const first = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('{')) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
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

const introspectRequests = (tokens: string[], authorization: string, path: string) =>
  tokens.map((t) => ({
    method: 'POST' as const,
    path,
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: `token=${encodeURIComponent(t)}`,
  }));

console.error('building dist/ (npm run build)…');
build();

// Cold start and idle memory first, on fresh databases, with nothing else running.
const cold = await coldStart(5);

// The token runs. The machines are shared and noisy: one server measured alone at one moment can be
// a quarter faster or slower than at the next. So all four servers stay up (idle ones cost
// nothing), and each round measures them back to back; ratios are taken within a round, and each
// figure is the median of the rounds.
const bare = await startTarget('bench/target.ts', ['baseline']);
const oidc = await startTarget('bench/oidc-target.ts');
const file = freshDatabase();
const { tokens, secret } = await seed(file, TOKENS);
const credentials = join(dirname(file), 'floor.json');
writeFileSync(credentials, JSON.stringify({ tokens, secret }));
const floor = await startTarget('bench/target.ts', ['floor', credentials]);
const latchkey = await startBuilt(file);
// A running server has rendered pages; measure it in that state (scripts/synchronous-jsx.mjs).
if ((await fetch(`${latchkey.url}/`)).status !== 200) throw new Error('the home page did not render');
const verifications = tokens.map((t) => ({
  method: 'GET' as const,
  path: '/token',
  headers: { authorization: `Bearer ${t}` },
}));
const introspections = introspectRequests(tokens, `Bearer ${secret}`, '/introspect');
const runs: Array<{ name: string; options: autocannon.Options }> = [
  { name: 'bare node:http (fixed JSON)', options: { url: bare.info.url } },
  {
    name: 'node-oidc-provider introspection',
    options: {
      url: oidc.info.url,
      requests: introspectRequests(oidc.info.tokens ?? [], oidc.info.basic ?? '', oidc.info.path ?? ''),
    },
  },
  { name: 'Latchkey GET /token (verification)', options: { url: latchkey.url, requests: verifications } },
  { name: 'Latchkey POST /introspect', options: { url: latchkey.url, requests: introspections } },
  {
    name: 'floor: node:http GET /token (hash, Map, JSON)',
    options: { url: floor.info.url, requests: verifications },
  },
  {
    name: 'floor: node:http POST /introspect (hash, Map, JSON)',
    options: { url: floor.info.url, requests: introspections },
  },
  // The bare server again, sent Latchkey's two requests: what the requests themselves cost node:http
  // (more headers, a body parsed and thrown away) before any code reads them.
  {
    name: 'bare node:http sent the GET /token requests',
    options: { url: bare.info.url, requests: verifications },
  },
  {
    name: 'bare node:http sent the POST /introspect requests',
    options: { url: bare.info.url, requests: introspections },
  },
];
const rounds: Measured[][] = [];
for (let round = 0; round < ROUNDS; round++) {
  const measured: Measured[] = [];
  for (const run of runs)
    measured.push(await measure(run.name, { ...run.options, connections: CONNECTIONS }));
  rounds.push(measured);
}
const loadedRss = latchkey.peakRss();
await latchkey.stop();
bare.child.kill();
oidc.child.kill();
floor.child.kill();

/** The median over the rounds of one figure of run `index`. */
const across = (index: number, figure: (m: Measured) => number) =>
  median(rounds.map((measured) => figure(measured[index] as Measured)));
/** The median over the rounds of run `a`'s req/s divided by run `b`'s in the same round. */
const ratioOf = (a: number, b: number) =>
  median(rounds.map((measured) => (measured[a] as Measured).rps / (measured[b] as Measured).rps));
const [BARE, OIDC, VERIFY, INTROSPECT, FLOOR_VERIFY, FLOOR_INTROSPECT, BARE_VERIFY, BARE_INTROSPECT] = [
  0, 1, 2, 3, 4, 5, 6, 7,
];
const summary = (index: number): Measured => ({
  name: (runs[index] as { name: string }).name,
  rps: across(index, (m) => m.rps),
  p50: across(index, (m) => m.p50),
  p99: across(index, (m) => m.p99),
  errors: rounds.reduce((sum, measured) => sum + (measured[index] as Measured).errors, 0),
});
const [base, oidcIntrospect, verify, introspect] = [BARE, OIDC, VERIFY, INTROSPECT].map(summary) as [
  Measured,
  Measured,
  Measured,
  Measured,
];
const references = [FLOOR_VERIFY, FLOOR_INTROSPECT, BARE_VERIFY, BARE_INTROSPECT].map(summary);

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(
  `\nLatchkey benchmark — ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average at the end of the token runs ${load}`,
);
console.log(
  `${CONNECTIONS} connections, ${DURATION} s per run after a 2 s warm-up, ${ROUNDS} rounds of the servers back to back; Latchkey is the shipped build (bin/latchkey serve) on SQLite seeded with ${TOKENS} tokens. Each figure is the median of the rounds; a ratio is the median of the rounds' ratios (errors: the sum). The floor rows are node:http doing only a hash, a Map lookup and JSON (bench/target.ts); Latchkey's share of the floor is its req/s over the floor's for the same request. The last two rows are the bare server sent Latchkey's requests, which it does not read; Latchkey's share of them is the last column\n`,
);
console.log(
  '| endpoint | req/s | p50 ms | p99 ms | errors | ratio to bare node:http | share of the floor | share of bare sent the same requests |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
const floorOf: Record<number, number> = { [VERIFY]: FLOOR_VERIFY, [INTROSPECT]: FLOOR_INTROSPECT };
const sameRequestsOf: Record<number, number> = { [VERIFY]: BARE_VERIFY, [INTROSPECT]: BARE_INTROSPECT };
const shareOf = (index: number, of: Record<number, number>) =>
  of[index] === undefined ? '' : ratioOf(index, of[index]).toFixed(2);
for (const [index, r] of [base, oidcIntrospect, verify, introspect, ...references].entries()) {
  console.log(
    `| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${ratioOf(index, BARE).toFixed(2)} | ${shareOf(index, floorOf)} | ${shareOf(index, sameRequestsOf)} |`,
  );
}
console.log('\nEach round (req/s, p99 ms):\n');
console.log(`| round | ${runs.map((r) => r.name).join(' | ')} |`);
console.log(`|---|${runs.map(() => '---:').join('|')}|`);
for (const [round, measured] of rounds.entries())
  console.log(`| ${round + 1} | ${measured.map((m) => `${Math.round(m.rps)}, ${m.p99}`).join(' | ')} |`);

// Later tables load only now, so the load generator above ran exactly as before.
const { benchSignIn } = await import('./signin.js');
const signIn = await benchSignIn();
const { benchSignInLoad } = await import('./signin-load.js');
const signInLoad = await benchSignInLoad();
const { benchProviders } = await import('./providers.js');
const providers = await benchProviders();

interface Goal {
  target: string;
  figure: string;
  goal: string;
  ratio: string;
  met: boolean;
}
const verifyRatio = ratioOf(VERIFY, BARE);
const introspectRatio = ratioOf(INTROSPECT, BARE);
const vsOidc = ratioOf(INTROSPECT, OIDC);
const worstSignIn = Math.max(...signIn.rows.map((r) => r.ratio));
const worstProvider = Math.max(...providers.rows.map((r) => r.ratio));
const goals: Goal[] = [
  {
    target: 'verification req/s vs bare node:http',
    figure: `${Math.round(verify.rps)} vs ${Math.round(base.rps)}`,
    goal: '≥ 0.60×',
    ratio: `${verifyRatio.toFixed(2)}×`,
    met: verifyRatio >= 0.6,
  },
  {
    target: 'introspection req/s vs bare node:http',
    figure: `${Math.round(introspect.rps)} vs ${Math.round(base.rps)}`,
    goal: '≥ 0.60×',
    ratio: `${introspectRatio.toFixed(2)}×`,
    met: introspectRatio >= 0.6,
  },
  {
    target: 'verification p99 at 64 connections',
    figure: `${verify.p99} ms`,
    goal: '< 10 ms',
    ratio: `${(verify.p99 / 10).toFixed(2)}× of the limit`,
    met: verify.p99 < 10,
  },
  {
    target: 'introspection p99 at 64 connections',
    figure: `${introspect.p99} ms`,
    goal: '< 10 ms',
    ratio: `${(introspect.p99 / 10).toFixed(2)}× of the limit`,
    met: introspect.p99 < 10,
  },
  {
    target: 'introspection vs node-oidc-provider',
    figure: `${Math.round(introspect.rps)} vs ${Math.round(oidcIntrospect.rps)} req/s`,
    goal: '≥ 3×',
    ratio: `${vsOidc.toFixed(2)}×`,
    met: vsOidc >= 3,
  },
  {
    target: 'sign-in discovery, slowest case vs one 100 ms fetch',
    figure: `median ratio ${worstSignIn.toFixed(2)}`,
    goal: '≤ 1.3×',
    ratio: `${worstSignIn.toFixed(2)}×`,
    met: worstSignIn <= 1.3,
  },
  {
    target: 'chooser → provider redirect (back-link check included), slowest case',
    figure: `median ratio ${worstProvider.toFixed(2)}`,
    goal: '≤ 1.3×',
    ratio: `${worstProvider.toFixed(2)}×`,
    met: worstProvider <= 1.3,
  },
  {
    target: 'cold start to healthy /health (median of 5, new database)',
    figure: `${Math.round(cold.median)} ms (runs ${cold.all.map((ms) => Math.round(ms)).join(', ')})`,
    goal: '< 500 ms',
    ratio: `${(cold.median / 500).toFixed(2)}× of the limit`,
    met: cold.median < 500,
  },
  {
    target: 'RSS idle (largest of the 5 starts, 1 s after start)',
    figure: `${cold.idleRss.toFixed(1)} MB`,
    goal: '< 80 MB',
    ratio: `${(cold.idleRss / 80).toFixed(2)}× of the limit`,
    met: cold.idleRss < 80,
  },
  {
    target: 'RSS under load (peak, VmHWM, during the token runs)',
    figure: `${loadedRss.toFixed(1)} MB`,
    goal: '< 150 MB',
    ratio: `${(loadedRss / 150).toFixed(2)}× of the limit`,
    met: loadedRss < 150,
  },
];
console.log('\n## DESIGN "Performance targets", from this run\n');
console.log('| target | figure | goal | ratio | met |');
console.log('|---|---|---|---:|---|');
for (const g of goals)
  console.log(`| ${g.target} | ${g.figure} | ${g.goal} | ${g.ratio} | ${g.met ? 'yes' : 'NO'} |`);
console.log(`\n${signIn.table}`);
console.log(`\n${signInLoad.table}`);
console.log(`\n${providers.table}`);
process.exit(0);
