/**
 * Provider sign-in latency (DESIGN "Performance targets"), every remote answer after 100 ms:
 *
 * 1. "chooser → provider redirect (public back-link check included)": a site with rel=me links to a
 *    GitHub profile and to a mailto address (so the chooser appears). Each run opens the chooser
 *    with `GET /authorize` (not measured), then measures `POST /signin/choose` (session cookie, the
 *    chooser's step token, Origin = the issuer's origin, the GitHub option) until the redirect to
 *    http://github.test/login/oauth/authorize (Latchkey answers the form POST with 303). In between,
 *    Latchkey reads the public profile (`GET /users/<login>`, whose `blog` is the site) and
 *    `GET /users/<login>/social_accounts` from the GitHub stand-in at http://api.github.test.
 *    Target: ≤ 1.3× one fetch.
 * 2. "five Mastodon hosts → chooser": a site whose rel=me links name five Mastodon hosts. Measured
 *    from `GET /authorize?…&me=<site>` until the 200 chooser listing the five Mastodon options: the
 *    site is read (the client document at the same time), then every host is probed with
 *    `GET https://<host>/api/v1/instance`, all at once. Target: ≤ 1.3× two fetches.
 *
 * Latchkey runs in this process (startServer, SQLite file store, real fetcher); connect-to rules send
 * the made-up hosts to two loopback servers: the slow http web of bench/signin.ts (sites, client
 * documents, the GitHub API) and a slow https server with the test certificate
 * (test/fixtures/tls/server.pem). That certificate names social.test, toot.test, fedi.test, gts.test,
 * akkoma.test, quiet.test, broken.test and `*.mastodon.test` — not m1.test…m5.test — so the hosts
 * are `m<run>-<k>.mastodon.test`.
 *
 * Caches: the Mastodon probe remembers each host in memory for 10 minutes (mastodon/index.ts
 * `PROBE_TTL`, no way to clear it from outside src/), so every run links to five host names never
 * seen before and the bench checks each was probed exactly once in that run — the probes are real,
 * TLS handshakes included. Every run also uses a fresh client_id (the client document cache is keyed
 * by it), a fresh browser session and its own `X-Forwarded-For` (the per-IP sign-in start limit is
 * never in play); the site and the GitHub API are never cached. Runs are sequential.
 *
 * Trust in the test CA comes from NODE_EXTRA_CA_CERTS, set before Node starts: bench/run.ts (and
 * `tsx bench/providers.ts`, which runs this table alone) re-executes itself once with it
 * (bench/trust-test-ca.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { type ConnectToRule, testConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { authorizeQuery } from './authorize-query.js';
import { clientApp, DELAY_MS, freePort, homepage, median, percentile, startSlowWeb } from './signin.js';

const TARGET_RATIO = 1.3;
const WARM_UP = 3;
const MASTODON_HOSTS_PER_RUN = 5;
const TLS_DIR = new URL('../test/fixtures/tls/', import.meta.url);
const GITHUB = { url: 'http://github.test', apiUrl: 'http://api.github.test' };
const LOGIN = 'dana';
const GITHUB_SITE = 'http://dana.test/';
const MASTODON_SITE = 'http://erin.test/';
const HTTP_HOSTS = ['dana.test', 'erin.test', 'app.test', 'github.test', 'api.github.test'];

const mastodonHost = (run: number, k: number) => `m${run}-${k}.mastodon.test`;

/** GitHub's public user object ("Get a user"), with the fields a real answer carries. */
function githubUser(login: string, blog: string): string {
  const id = 583231;
  return JSON.stringify({
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url: `https://api.github.com/users/${login}`,
    html_url: `https://github.com/${login}`,
    type: 'User',
    site_admin: false,
    name: 'Dana',
    company: null,
    blog,
    location: null,
    email: null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 3,
    public_gists: 0,
    followers: 1,
    following: 0,
    created_at: '2015-03-04T05:06:07Z',
    updated_at: '2025-01-02T03:04:05Z',
  });
}

/** Mastodon's v1 Instance entity (docs.joinmastodon.org/entities/V1_Instance). */
function mastodonInstance(host: string): string {
  return JSON.stringify({
    uri: host,
    title: host,
    short_description: 'A slow stand-in Mastodon server for Latchkey’s bench.',
    description: '',
    email: `admin@${host}`,
    version: '4.3.2',
    urls: { streaming_api: `wss://${host}` },
    stats: { user_count: 1, status_count: 42, domain_count: 7 },
    thumbnail: null,
    languages: ['en'],
    registrations: false,
    approval_required: false,
    invites_enabled: false,
    configuration: { accounts: { max_featured_tags: 10 } },
    contact_account: null,
    rules: [],
  });
}

/** One https server for every `*.mastodon.test` host: `/api/v1/instance` after DELAY_MS, else 404. */
async function startSlowMastodon() {
  const probes = new Map<string, number>();
  const server = createHttpsServer(
    {
      cert: readFileSync(new URL('server.pem', TLS_DIR)),
      key: readFileSync(new URL('server-key.pem', TLS_DIR)),
    },
    (req: IncomingMessage, res: ServerResponse) => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      if (path === '/api/v1/instance') probes.set(host, (probes.get(host) ?? 0) + 1);
      setTimeout(() => {
        if (path !== '/api/v1/instance' || !host.endsWith('.mastodon.test')) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"error":"Record not found"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(mastodonInstance(host));
      }, DELAY_MS);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    probes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Fails early, in words, when this process does not trust the test CA (see bench/trust-test-ca.ts). */
async function checkTrust(port: number): Promise<void> {
  const servername = 'trust-check.mastodon.test';
  const authorized = await new Promise<string | undefined>((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername }, () => {
      resolve(socket.authorized ? undefined : String(socket.authorizationError));
      socket.destroy();
    });
    socket.once('error', (error) => resolve(error.message));
  });
  if (authorized !== undefined) {
    throw new Error(
      `providers bench: the test CA is not trusted (${authorized}); NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS ?? ''}. Run it through \`npm run bench\` or \`tsx bench/providers.ts\`, which set it.`,
    );
  }
}

interface ChooserOption {
  index: string;
  label: string;
}

/** The chooser form's step token and options (src/views/pages/signin.tsx ChooserPage). */
function readChooser(html: string): { step: string; options: ChooserOption[] } | undefined {
  const form = html.indexOf('action="/signin/choose"');
  if (form < 0) return undefined;
  const rest = html.slice(form);
  const step = /name="step" value="([^"]+)"/.exec(rest)?.[1];
  if (!step) return undefined;
  const options = [
    ...rest.matchAll(
      /<button[^>]*name="candidate"[^>]*value="(\d+)"[\s\S]*?<span class="choice-label">([^<]*)<\/span>/g,
    ),
  ].map((match) => ({ index: match[1] ?? '', label: match[2] ?? '' }));
  return { step, options };
}

export interface ProvidersBenchRow {
  name: string;
  runs: number;
  median: number;
  p90: number;
  /** Fetches of DELAY_MS the case must wait for, one after the other. */
  fetches: number;
  ratio: number;
}

export interface ProvidersBenchResult {
  rows: ProvidersBenchRow[];
  /** The markdown table and the target line, ready to print. */
  table: string;
}

/** Runs both cases `runs` times each (sequentially, after a warm-up) and returns a printable table. */
export async function benchProviders(
  runs = Number(process.env.BENCH_PROVIDERS_RUNS ?? process.env.BENCH_SIGNIN_RUNS ?? 30),
): Promise<ProvidersBenchResult> {
  const loadBefore = loadavg();
  const web = await startSlowWeb();
  const mastodon = await startSlowMastodon();
  await checkTrust(mastodon.port);

  web.page(
    GITHUB_SITE,
    homepage(
      'Dana',
      `<link rel="me" href="${GITHUB.url}/${LOGIN}"><link rel="me" href="mailto:${LOGIN}@dana.test">`,
    ),
  );
  // GitHub's `blog` field as people fill it in: no trailing slash, https (back-links ignore both).
  web.page(`${GITHUB.apiUrl}/users/${LOGIN}`, githubUser(LOGIN, 'https://dana.test'), 'application/json');
  web.page(`${GITHUB.apiUrl}/users/${LOGIN}/social_accounts`, '[]', 'application/json');

  const mastodonRuns = WARM_UP + runs;
  const mastodonRules: ConnectToRule[] = [];
  for (let run = 0; run < mastodonRuns; run++) {
    for (let k = 1; k <= MASTODON_HOSTS_PER_RUN; k++)
      mastodonRules.push({ host: mastodonHost(run, k), address: '127.0.0.1', port: mastodon.port });
  }

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-providers-'));
  const port = await freePort();
  const server = await startServer(
    testConfig({
      host: '127.0.0.1',
      port,
      publicUrl: `http://127.0.0.1:${port}/`,
      databaseUrl: `sqlite:${join(dir, 'providers.db')}`,
      connectTo: [
        ...HTTP_HOSTS.map((host) => ({ host, address: '127.0.0.1', port: web.port })),
        ...mastodonRules,
      ],
      trustProxy: ['127.0.0.1'],
      providers: {
        github: { clientId: 'Iv1.bench0client0id', clientSecret: 'bench-client-secret', ...GITHUB },
      },
    }),
    // Email is offered only when mail can be sent; nothing is sent (the GitHub option is chosen).
    { logger: silentLogger(), mailer: { enabled: true, async send() {}, close() {} } },
  );
  const origin = new URL(server.url).origin;

  let sequence = 0;
  /** `GET /authorize` for `me` with a client_id never seen before, from a fresh session. */
  const authorize = async (me: string) => {
    const n = sequence++;
    const clientId = `http://app.test/p${n}/`;
    web.page(clientId, clientApp(`Bench App ${n}`, clientId));
    const query = authorizeQuery(clientId, `bench-${n}`, me);
    const forwardedFor = `198.19.${(n >> 8) & 255}.${n & 255}`;
    const started = performance.now();
    const response = await fetch(`${server.url}authorize?${query}`, {
      redirect: 'manual',
      headers: { accept: 'text/html', 'x-forwarded-for': forwardedFor },
    });
    const body = await response.text();
    const elapsed = performance.now() - started;
    if (web.hits.get(clientId) !== 1) throw new Error(`client document ${clientId} was not fetched once`);
    const chooser = response.status === 200 ? readChooser(body) : undefined;
    if (!chooser) throw new Error(`status ${response.status}, not the chooser: ${body.slice(0, 300)}`);
    const cookie = response.headers
      .getSetCookie()
      .map((header) => header.split(';')[0])
      .join('; ');
    return { elapsed, chooser, cookie, forwardedFor };
  };

  const githubCase = 'chooser → provider redirect (public back-link check included)';
  const profileUrls = [`${GITHUB.apiUrl}/users/${LOGIN}`, `${GITHUB.apiUrl}/users/${LOGIN}/social_accounts`];
  const chooseGitHub = async (): Promise<number> => {
    const { chooser, cookie, forwardedFor } = await authorize(GITHUB_SITE);
    const option = chooser.options.find((one) => one.label.startsWith('Sign in with GitHub'));
    if (!option || chooser.options.length !== 2)
      throw new Error(`${githubCase}: options ${JSON.stringify(chooser.options)}`);
    const before = profileUrls.map((url) => web.hits.get(url) ?? 0);
    const started = performance.now();
    const response = await fetch(`${server.url}signin/choose`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        cookie,
        origin,
        'content-type': 'application/x-www-form-urlencoded',
        'x-forwarded-for': forwardedFor,
      },
      body: new URLSearchParams({ step: chooser.step, candidate: option.index }).toString(),
    });
    const body = await response.text();
    const elapsed = performance.now() - started;
    const location = response.headers.get('location') ?? '';
    // A form POST is answered 303 See Other (a 302 would do as well).
    if (
      (response.status !== 303 && response.status !== 302) ||
      !location.startsWith(`${GITHUB.url}/login/oauth/authorize?`)
    )
      throw new Error(`${githubCase}: status ${response.status} to ${location}: ${body.slice(0, 300)}`);
    profileUrls.forEach((url, i) => {
      if ((web.hits.get(url) ?? 0) !== (before[i] ?? 0) + 1)
        throw new Error(`${githubCase}: ${url} not read once`);
    });
    return elapsed;
  };

  const mastodonCase = 'five Mastodon hosts → chooser';
  let mastodonRun = 0;
  const fiveMastodons = async (): Promise<number> => {
    const run = mastodonRun++;
    const hosts = Array.from({ length: MASTODON_HOSTS_PER_RUN }, (_, k) => mastodonHost(run, k + 1));
    // The site is rewritten each run: never cached, it now names five hosts no probe has seen.
    web.page(
      MASTODON_SITE,
      homepage('Erin', hosts.map((host) => `<link rel="me" href="https://${host}/@erin">`).join('')),
    );
    const { elapsed, chooser } = await authorize(MASTODON_SITE);
    const mastodons = chooser.options.filter((one) => one.label === 'Sign in with Mastodon as erin');
    if (mastodons.length !== MASTODON_HOSTS_PER_RUN || chooser.options.length !== MASTODON_HOSTS_PER_RUN)
      throw new Error(`${mastodonCase}: options ${JSON.stringify(chooser.options)}`);
    for (const host of hosts) {
      if (mastodon.probes.get(host) !== 1) throw new Error(`${mastodonCase}: ${host} was not probed once`);
    }
    return elapsed;
  };

  const cases: Array<{ name: string; fetches: number; once: () => Promise<number> }> = [
    { name: githubCase, fetches: 1, once: chooseGitHub },
    { name: mastodonCase, fetches: 2, once: fiveMastodons },
  ];
  const rows: ProvidersBenchRow[] = [];
  try {
    for (const c of cases) {
      // Warm-up (JIT, SQLite pages, the fetcher's connection pool to the http web); not measured.
      for (let i = 0; i < WARM_UP; i++) await c.once();
      const times: number[] = [];
      for (let i = 0; i < runs; i++) times.push(await c.once());
      times.sort((a, b) => a - b);
      const med = median(times);
      rows.push({
        name: c.name,
        runs,
        median: med,
        p90: percentile(times, 90),
        fetches: c.fetches,
        ratio: med / (c.fetches * DELAY_MS),
      });
    }
  } finally {
    await server.close();
    await mastodon.close();
    await web.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const load = (values: number[]) => values.map((value) => value.toFixed(2)).join(' ');
  const lines = [
    `Latchkey provider sign-in — nproc ${availableParallelism()}, load average ${load(loadBefore)} before / ${load(loadavg())} after, Node ${process.version}`,
    `every remote answer after ${DELAY_MS} ms; ${runs} sequential runs per case after ${WARM_UP} warm-ups; fresh client_id and session each run, five never-probed Mastodon hosts each run`,
    '',
    `| case | median ms | p90 ms | target | ratio to the target's fetches |`,
    '|---|---:|---:|---|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.median.toFixed(1)} | ${r.p90.toFixed(1)} | ≤ ${TARGET_RATIO.toFixed(2)}× ${r.fetches === 1 ? 'one fetch' : `${r.fetches} fetches`} (${r.fetches * DELAY_MS} ms) | ${r.ratio.toFixed(2)} |`,
    ),
  ];
  const worst = Math.max(...rows.map((r) => r.ratio));
  lines.push(
    '',
    `target ≤ ${TARGET_RATIO.toFixed(2)}× the fetches each case waits for: ${worst <= TARGET_RATIO ? 'met' : 'NOT met'} (${rows.map((r) => `${r.name.split(' (')[0]} ${r.ratio.toFixed(2)}`).join('; ')})`,
  );
  return { rows, table: lines.join('\n') };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { reexecTrustingTestCa } = await import('./trust-test-ca.js');
  await reexecTrustingTestCa();
  const { table } = await benchProviders();
  console.log(`\n${table}`);
  process.exit(0);
}
