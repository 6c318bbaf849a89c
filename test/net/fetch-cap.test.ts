/**
 * SECURITY R4 (with G5): a person's site serving 50 MB costs us the cap, not 50 MB. The fixture
 * counts the bytes it managed to write before the fetcher closed the socket; the fetcher must stop
 * reading at the cap (on the bytes read from the socket, compressed or not) and drop the connection.
 *
 * The fixture streams slowly (64 KiB, then a pause), as a slow site does, so what it "wrote" is what
 * the fetcher read plus at most the kernel's socket buffers; nothing here compares times.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetcher } from '../../src/net/fetch.js';
import { FetchError, LIMITS } from '../../src/net/types.js';
import { type Fixture, startFixture } from '../helpers/fixture-server.js';

const FIFTY_MB = 50 * 1024 * 1024;
const MiB = 1024 * 1024;

interface Served {
  written: number;
  closed: Promise<void>;
}

let site: Fixture;
const served = new Map<string, Served>();

/** Streams `chunk` until FIFTY_MB are out or the client is gone, pausing between chunks. */
function slowFiftyMegabytes(res: ServerResponse, chunk: Buffer, record: Served): void {
  const pump = () => {
    if (res.destroyed || record.written >= FIFTY_MB) {
      if (!res.destroyed) res.end();
      return;
    }
    record.written += chunk.length;
    const next = () => setTimeout(pump, 10);
    if (res.write(chunk)) next();
    else res.once('drain', next);
  };
  pump();
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/';
  let markClosed!: () => void;
  const record: Served = { written: 0, closed: new Promise((resolve) => (markClosed = resolve)) };
  served.set(path, record);
  res.once('close', () => markClosed());
  // Incompressible data, gzip-framed without compression: on the wire it is as big as it says.
  const incompressible = gzipSync(randomBytes(64 * 1024), { level: 0 });
  if (path === '/plain') {
    res.writeHead(200, { 'content-type': 'text/html' });
    slowFiftyMegabytes(res, Buffer.alloc(64 * 1024, 0x61), record);
  } else if (path === '/gzip-stream') {
    res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
    slowFiftyMegabytes(res, incompressible, record);
  } else if (path === '/gzip-declared') {
    res.writeHead(200, {
      'content-type': 'text/html',
      'content-encoding': 'gzip',
      'content-length': String(FIFTY_MB),
    });
    slowFiftyMegabytes(res, incompressible, record);
  } else {
    res.writeHead(404).end();
  }
}

beforeAll(async () => {
  site = await startFixture(route);
});
afterAll(async () => {
  await site.close();
});

async function fetchBig(path: string): Promise<{ error: FetchError; served: Served }> {
  const fetcher = createFetcher({
    connectTo: [{ host: 'big.example', address: '127.0.0.1', port: site.port }],
    allowPrivateNetwork: [],
    userAgent: 'Latchkey/test (+https://login.test/)',
    connectTimeoutMs: 10_000,
    headersTimeoutMs: 10_000,
    totalTimeoutMs: 60_000,
  });
  try {
    const error = await fetcher(`http://big.example${path}`, {
      accept: 'text/html',
      maxBytes: LIMITS.page,
    }).then(
      () => {
        throw new Error('expected the fetch to be refused');
      },
      (e: unknown) => e as FetchError,
    );
    const record = served.get(path);
    if (!record) throw new Error(`the fixture never saw ${path}`);
    // The fetcher dropped the connection itself: the pool is still open here.
    await record.closed;
    return { error, served: record };
  } finally {
    await fetcher.close();
  }
}

describe('the body cap on a 50 MB site (SECURITY R4, G5)', () => {
  it('R4: a plain 50 MB stream is cut at the 1 MiB cap; the site wrote only a few MiB before the socket closed', async () => {
    const { error, served } = await fetchBig('/plain');
    expect(error).toBeInstanceOf(FetchError);
    expect(error.code).toBe('too_large');
    expect(served.written).toBeGreaterThan(LIMITS.page);
    expect(served.written).toBeLessThan(4 * MiB);
  }, 60_000);

  it('R4: a gzip stream is cut on the compressed bytes read from the socket, not only after inflating', async () => {
    const { error, served } = await fetchBig('/gzip-stream');
    expect(error.code).toBe('too_large');
    expect(served.written).toBeLessThan(4 * MiB);
  }, 60_000);

  it('R4: a Content-Length above the cap is refused before any of the body is read, compressed or not', async () => {
    const { error, served } = await fetchBig('/gzip-declared');
    expect(error.code).toBe('too_large');
    // The site is cut off after its first chunks: far less than the cap was ever sent.
    expect(served.written).toBeLessThan(LIMITS.page);
  }, 60_000);
});
