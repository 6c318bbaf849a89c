/**
 * The node:http fast path must answer exactly what the Hono routes answer: same status, body and
 * headers, for successes and for every error, on both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
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
