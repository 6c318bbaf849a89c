/**
 * The node:http fast path must answer exactly what the Hono routes answer: same status, body and
 * headers, for successes and for every error, on both stores.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { createFastPath } from '../../src/http/fast-path.js';
import { silentLogger } from '../../src/log.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { storeTargets } from '../helpers/stores.js';

/** Headers that legitimately differ between two transports. */
const TRANSPORT = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function comparable(res: Response, body: string) {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (!TRANSPORT.has(name)) headers[name] = value;
  });
  return { status: res.status, headers, body };
}

describe.each(storeTargets)('fast path on $name', (target) => {
  let server: RunningServer;
  let dispose: () => Promise<void>;
  let token: string;
  let revoked: string;
  let secret: string;

  beforeAll(async () => {
    const created = await target.create();
    dispose = created.dispose;
    server = await startServer(testConfig({ databaseUrl: created.url, port: 0 }), { logger: silentLogger() });
    const { services } = server;
    const grant = {
      me: 'https://alice.example/',
      clientId: 'https://app.example/',
      scope: 'create',
      source: 'code' as const,
      authorizationEndpoint: null,
    };
    token = (await services.store.write((tx) => services.tokens.issueForNewGrant(tx, grant))).accessToken;
    revoked = (await services.store.write((tx) => services.tokens.issueForNewGrant(tx, grant))).accessToken;
    await services.tokens.revoke(revoked);
    secret = (await services.resourceServers.create('fast-path')).secret;
  });
  afterAll(async () => {
    await server.close();
    await dispose();
  });

  const form = 'application/x-www-form-urlencoded';
  const cases: Array<[string, () => RequestInit & { path: string }]> = [
    ['valid token', () => ({ path: '/token', headers: { authorization: `Bearer ${token}` } })],
    ['revoked token', () => ({ path: '/token', headers: { authorization: `Bearer ${revoked}` } })],
    ['garbage token', () => ({ path: '/token', headers: { authorization: 'Bearer !!' } })],
    ['no token', () => ({ path: '/token' })],
    ['basic auth', () => ({ path: '/token', headers: { authorization: 'Basic eDp5' } })],
    [
      'introspect active',
      () => ({
        path: '/introspect',
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': form },
        body: `token=${token}`,
      }),
    ],
    [
      'introspect revoked',
      () => ({
        path: '/introspect',
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': form },
        body: `token=${revoked}`,
      }),
    ],
    [
      'introspect no credential',
      () => ({
        path: '/introspect',
        method: 'POST',
        headers: { 'content-type': form },
        body: `token=${token}`,
      }),
    ],
    [
      'introspect no token',
      () => ({
        path: '/introspect',
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': form },
        body: '',
      }),
    ],
    [
      'introspect repeated token',
      () => ({
        path: '/introspect',
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': form },
        body: `token=${token}&token=x`,
      }),
    ],
    [
      'introspect control characters',
      () => ({
        path: '/introspect',
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': form },
        body: 'token=a%0d%0ab',
      }),
    ],
    [
      'introspect JSON body (left to Hono)',
      () => ({
        path: '/introspect',
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      }),
    ],
    [
      'form-encoded answer (left to Hono)',
      () => ({ path: '/token', headers: { authorization: `Bearer ${token}`, accept: form } }),
    ],
  ];

  it.each(cases)('%s: the fast path and the Hono route answer the same', async (_name, make) => {
    const { path, ...init } = make();
    const overSocket = await fetch(new URL(path, server.url), init);
    const fast = comparable(overSocket, await overSocket.text());
    const app = buildApp(server.services);
    const inProcess = await app.request(path, init);
    const hono = comparable(inProcess, await inProcess.text());
    expect(fast).toEqual(hono);
  });

  /** The last answer on a raw connection, its JSON body parsed. */
  const answerOf = async (client: RawClient, n: number) => {
    const answer = await client.response(n);
    client.socket.destroy();
    return { status: answer?.status, body: JSON.parse(answer?.body ?? 'null') };
  };

  it('introspect whose body comes after the headers, in two pieces: the same answer as in one', async () => {
    const body = `token=${token}`;
    const whole = await fetch(new URL('/introspect', server.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': form },
      body,
    });
    const client = await RawClient.open(server.port);
    client.write(
      `POST /introspect HTTP/1.1\r\nHost: latchkey.test\r\nAuthorization: Bearer ${secret}\r\n` +
        `Content-Type: ${form}\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    // `100 Continue` proves the handler has run without the body: it must wait for both pieces.
    expect((await client.response(0))?.status).toBe(100);
    client.write(body.slice(0, 10));
    client.write(body.slice(10));
    expect(await answerOf(client, 1)).toEqual({ status: 200, body: await whole.json() });
  });

  it('introspect whose body comes with its headers is answered in that turn (SQLite), and the request still ends', async () => {
    // The fast path on its own node:http server, its tracking recorded: `answered` means no promise,
    // listener or in-flight entry was needed. node runs microtasks between the parser's body and
    // message-complete callbacks, so a check for `req.complete` there would never see one.
    const seen: string[] = [];
    const ended: IncomingMessage[] = [];
    const fastPath = createFastPath(server.services, {
      answered: (req) => {
        seen.push('answered');
        req.once('end', () => ended.push(req));
      },
      pending: () => seen.push('pending'),
    });
    const own = createServer((req, res) => {
      if (!fastPath(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
    try {
      const client = await RawClient.open((own.address() as AddressInfo).port);
      const body = `token=${token}`;
      const request = (extra = '') =>
        `POST /introspect HTTP/1.1\r\nHost: latchkey.test\r\nAuthorization: Bearer ${secret}\r\n` +
        `Content-Type: ${form}\r\nContent-Length: ${body.length}\r\n${extra}\r\n`;
      client.write(`${request()}${body}`);
      expect((await client.response(0))?.status).toBe(200);
      // The same connection takes the next request: the first one was read to its end.
      client.write(`${request('Expect: 100-continue\r\n')}`);
      expect((await client.response(1))?.status).toBe(100);
      client.write(body);
      const answer = await client.response(2);
      client.socket.destroy();
      expect(answer?.status).toBe(200);
      expect(JSON.parse(answer?.body ?? '{}')).toMatchObject({ active: true, me: 'https://alice.example/' });
      // On PostgreSQL every answer waits for the database; on SQLite the cached rows answer at once.
      const first = server.services.store.dialect === 'sqlite' ? 'answered' : 'pending';
      expect(seen).toEqual([first, 'pending']);
      if (first === 'answered') expect(ended).toHaveLength(1);
    } finally {
      own.closeAllConnections();
      await new Promise((resolve) => own.close(resolve));
    }
  });

  it('two Authorization headers are no bearer token, as on the Hono route', async () => {
    const client = await RawClient.open(server.port);
    client.write(
      `GET /token HTTP/1.1\r\nHost: latchkey.test\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    const hono = await buildApp(server.services).request('/token', {
      headers: { authorization: `Bearer ${token}, Bearer ${token}` },
    });
    expect(await answerOf(client, 0)).toEqual({ status: hono.status, body: await hono.json() });
    expect(hono.status).toBe(401);
  });
});
