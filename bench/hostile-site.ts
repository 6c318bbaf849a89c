/**
 * The person's side of bench/signin-load.ts (SECURITY R4), in a process of its own: the fixture
 * sites (a client document for any app.test path; big.test, a 50 MB site served slowly; dense.test,
 * a page of markup just under the 1 MiB cap, served at once, which takes the parser longest) and
 * the 20 sign-ins kept in flight against Latchkey. Apart from autocannon, so the process that
 * measures verification never also pumps the site or drives the sign-ins on its event loop.
 *
 * Prints `{"port", "siteBytes", "mbPerSecond"}` once the sites listen, then answers one JSON line per command on stdin:
 * - `{"start": {"base": URL, "from": "own" | "one", "round": N}}`: starts the sign-ins, each from an
 *   address of its own or all from one address, distinct per round; answers `{"started": true}`;
 * - `{"stop": true}`: stops them; answers `{"stats": LoadStats, "bytes": served so far}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { authorizeQuery } from './authorize-query.js';

const SIGNINS = 20;
/** The person's site: 50 MB, 64 KiB every 50 ms (~1.3 MB/s per connection). */
const SITE_BYTES = 50 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const PAUSE_MS = 50;

/** Just under the 1 MiB page cap (PROTOCOL §5), so the whole page is read and parsed. */
const DENSE_PAGE = (() => {
  const unit = '<p class="note">A note with <a href="/notes" rel="tag">a link</a> and some words.</p>\n';
  const head = '<!doctype html><html><body><a rel="me" href="https://elsewhere.test/">elsewhere</a>\n';
  return `${head}${unit.repeat(Math.floor((1024 * 1024 - 4096 - head.length) / unit.length))}</body></html>`;
})();

export type Site = 'big' | 'dense';

export interface Command {
  start?: { base: string; from: 'own' | 'one'; round: number; site: Site };
  stop?: true;
}

/** One loopback server for app.test, big.test and dense.test. */
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
    if (host === 'dense.test') {
      bytesServed += DENSE_PAGE.length;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(DENSE_PAGE);
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

export interface LoadStats {
  finished: number;
  /** 429 from the in-flight limit (R4). */
  busy: number;
  /** 429 from the sign-in start rate limit (R5: 60 per address per 10 minutes). */
  rateLimited: number;
}

/** Keeps SIGNINS sign-ins in flight until stopped; `address(n)` is the X-Forwarded-For of the n-th. */
function signInLoad(base: string, site: Site, address: (n: number) => string) {
  let running = true;
  let sequence = 0;
  const stats: LoadStats = { finished: 0, busy: 0, rateLimited: 0 };
  const worker = async () => {
    while (running) {
      const n = sequence++;
      const clientId = `http://app.test/c${n}/`;
      const query = authorizeQuery(clientId, `load-${n}`, `http://${site}.test/`);
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

/** X-Forwarded-For of the n-th sign-in: a fresh address each, or one for all (R5 counts per round). */
function addressing(from: 'own' | 'one', round: number): (n: number) => string {
  return from === 'own'
    ? (n) => `198.18.${round * 4 + ((n >> 8) & 3)}.${n & 255}`
    : () => `198.19.0.${round + 1}`;
}

const sites = await startSites();
console.log(
  JSON.stringify({
    port: sites.port,
    siteBytes: SITE_BYTES,
    mbPerSecond: Math.round((((CHUNK.length / PAUSE_MS) * 1000) / 1e6) * 10) / 10,
  }),
);
let load: ReturnType<typeof signInLoad> | undefined;
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as Command;
  if (command.start) {
    const { base, from, round, site } = command.start;
    load = signInLoad(base, site, addressing(from, round));
    console.log(JSON.stringify({ started: true }));
  } else if (command.stop) {
    await load?.stop();
    console.log(JSON.stringify({ stats: load?.stats, bytes: sites.bytesServed() }));
    load = undefined;
  }
}
await sites.close();
process.exit(0);
