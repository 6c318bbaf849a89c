/**
 * SECURITY R2 (drain on close) and R8 (a client that hangs up is not an error), over raw sockets
 * against a started server. A raw socket is the client that never hangs up by itself: it keeps
 * writing requests, so only the server can end the connection. Nothing here measures time; the
 * drain deadline is short only so the deadline test does not wait long.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { FetchError, type Fetcher } from '../../src/net/types.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { RawClient } from '../helpers/raw-client.js';

/** Every log line as parsed JSON, so tests can look at levels and events. */
function capturingLogger() {
  const lines: Array<{ level: number; event?: string; [key: string]: unknown }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** A fetcher that holds every fetch until released: keeps a sign-in request in flight on demand. */
function holdingFetcher() {
  let entered!: () => void;
  let release!: () => void;
  const state = {
    entered: new Promise<void>((resolve) => {
      entered = resolve;
    }),
    released: new Promise<void>((resolve) => {
      release = resolve;
    }),
    release: () => release(),
  };
  const fetcher: Fetcher = async (url) => {
    entered();
    await state.released;
    throw new FetchError('network', 'the connection was refused', url);
  };
  return { fetcher, ...state };
}

/** An authorization request whose client document must be fetched: a request that stays in flight. */
const HELD = `/authorize?${new URLSearchParams({
  response_type: 'code',
  client_id: 'https://app.example/',
  redirect_uri: 'https://app.example/callback',
  state: 'r2',
  code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  code_challenge_method: 'S256',
})}`;

const servers: RunningServer[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: { drainTimeoutMs: number; fetcher?: Fetcher }) {
  const { logger, lines } = capturingLogger();
  const server = await startServer(testConfig({ host: '127.0.0.1', port: 0 }), { logger, ...options });
  servers.push(server);
  return { server, lines };
}

async function open(port: number): Promise<RawClient> {
  const client = await RawClient.open(port);
  clients.push(client);
  return client;
}

describe('draining on close (SECURITY R2)', () => {
  it('R2: a keep-alive client that keeps sending while close() runs gets Connection: close on every later answer (Hono and fast path), is disconnected by the server, and close() resolves', async () => {
    const hold = holdingFetcher();
    const { server, lines } = await start({ drainTimeoutMs: 60_000, fetcher: hold.fetcher });

    // Connection A: a keep-alive conversation, then a sign-in request that stays in flight.
    const a = await open(server.port);
    for (let i = 0; i < 3; i++) {
      a.get('/health');
      expect((await a.response(i))?.headers.connection).toBe('keep-alive');
    }
    // Connections B and C have begun a request (headers not finished) when the drain starts;
    // B's goes to Hono, C's to the token fast path.
    const b = await open(server.port);
    const c = await open(server.port);
    b.write('GET /health HTTP/1.1\r\nHost: latchkey.test\r\n');
    c.write('GET /token HTTP/1.1\r\nHost: latchkey.test\r\nAuthorization: Bearer not-a-token\r\n');
    a.get(HELD);
    await hold.entered;

    const closing = server.close();
    let closed = false;
    void closing.then(() => {
      closed = true;
    });

    // The client goes on as if nothing happened: finishes its requests and sends more.
    b.write('\r\n');
    c.write('\r\n');
    hold.release();
    const held = await a.response(3);
    for (let i = 0; i < 5; i++) a.get('/health');

    expect(held?.headers.connection).toBe('close');
    const later = [await b.response(0), await c.response(0)];
    expect(later.map((r) => r?.status)).toEqual([200, 401]);
    expect(later.map((r) => r?.headers.connection)).toEqual(['close', 'close']);

    await Promise.all([a.closed, b.closed, c.closed]);
    // A answered nothing after its `Connection: close` answer: the server ended the connection.
    expect(a.responses).toHaveLength(4);
    expect([a, b, c].every((client) => client.closedByServer)).toBe(true);
    await closing;
    expect(closed).toBe(true);
    const stopped = lines.find((line) => line.event === 'server.stopped');
    expect(stopped?.cutAtDeadline).toBe(false);
  }, 60_000);

  it('R2: an introspection whose body is still coming when close() starts is answered with Connection: close', async () => {
    const { server } = await start({ drainTimeoutMs: 60_000 });
    const { secret } = await server.services.resourceServers.create('r2');
    const a = await open(server.port);
    const body = 'token=not-a-token';
    a.write(
      `POST /introspect HTTP/1.1\r\nHost: latchkey.test\r\nAuthorization: Bearer ${secret}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n` +
        'Expect: 100-continue\r\n\r\n',
    );
    // `100 Continue`: the fast path has taken the request and waits for its body.
    expect((await a.response(0))?.status).toBe(100);
    const closing = server.close();
    a.write(body);
    const answer = await a.response(1);
    expect(answer?.status).toBe(200);
    expect(answer?.headers.connection).toBe('close');
    await a.closed;
    expect(a.closedByServer).toBe(true);
    await closing;
  }, 60_000);

  it('R2: idle keep-alive connections are closed at once by close()', async () => {
    const { server } = await start({ drainTimeoutMs: 60_000 });
    const a = await open(server.port);
    a.get('/health');
    expect((await a.response(0))?.headers.connection).toBe('keep-alive');
    await server.close();
    await a.closed;
    expect(a.closedByServer).toBe(true);
  }, 60_000);

  it('R2: a request still running at the drain deadline is cut, and close() still resolves', async () => {
    const hold = holdingFetcher();
    const { server, lines } = await start({ drainTimeoutMs: 200, fetcher: hold.fetcher });
    const a = await open(server.port);
    a.get(HELD);
    await hold.entered;
    await server.close();
    await a.closed;
    expect(a.closedByServer).toBe(true);
    expect(a.responses).toHaveLength(0);
    expect(lines.find((line) => line.event === 'server.stopped')?.cutAtDeadline).toBe(true);
    hold.release();
  }, 60_000);
});

describe('clients that hang up (SECURITY R8)', () => {
  it('R8: 20 clients sending half a body then vanishing produce no error-level line and no 500; the server still answers', async () => {
    const { server, lines } = await start({ drainTimeoutMs: 5_000 });
    const { secret } = await server.services.resourceServers.create('r8');
    const paths = ['/token', '/signin/site', '/revoke', '/introspect'];
    const vanishing = Array.from({ length: 20 }, async (_, i) => {
      const client = await open(server.port);
      const path = paths[i % paths.length] as string;
      client.write(
        `POST ${path} HTTP/1.1\r\nHost: latchkey.test\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
          `Authorization: Bearer ${secret}\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n`,
      );
      // `100 Continue` proves the server has the headers and is waiting for the body (no sleeping).
      expect((await client.response(0))?.status).toBe(100);
      client.write('0123456789');
      client.socket.destroy();
      return client;
    });
    const gone = await Promise.all(vanishing);
    // Each of the 20 handlers notices its client left, at debug level.
    await expect
      .poll(() => lines.filter((line) => line.event === 'http.client_gone').length, { timeout: 30_000 })
      .toBe(20);

    const after = await open(server.port);
    after.get('/health');
    expect((await after.response(0))?.status).toBe(200);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(gone.flatMap((client) => client.responses).filter((r) => r.status >= 500)).toEqual([]);
  }, 60_000);
});
