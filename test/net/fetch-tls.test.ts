/**
 * How an https fetch that fails on TLS is classified (PROTOCOL §3, §4): "no TLS at all" (nothing on
 * the https port, a server answering in plain HTTP, a handshake refused for want of a certificate)
 * is `no_tls`, which lets the sign-in page offer plain http; a certificate problem is
 * `bad_certificate` with words saying which, which never does. Fixtures on loopback through
 * connect-to rules; the test CA is trusted (vitest.config.ts), so only the name is wrong here.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectToRule } from '../../src/config.js';
import { createFetcher } from '../../src/net/fetch.js';
import { FetchError } from '../../src/net/types.js';
import { type Fixture, startFixture } from '../helpers/fixture-server.js';

const TLS = new URL('../fixtures/tls/', import.meta.url);
const OPTIONS = { accept: 'text/html', maxBytes: 1024 };

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FetchError);
  return error as FetchError;
}

describe('https failures, classified', () => {
  let plain: Fixture;
  let closedPort: number;
  const servers: Server[] = [];
  const rules: ConnectToRule[] = [];

  beforeAll(async () => {
    plain = await startFixture((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>plain</p>');
    });
    const cert = readFileSync(new URL('server.pem', TLS));
    const key = readFileSync(new URL('server-key.pem', TLS));
    const https = createHttpsServer({ cert, key }, (_req, res) => res.end('<p>secure</p>'));
    // A TLS server with no certificate at all: it aborts every handshake.
    const certless = createTlsServer({});
    servers.push(https, certless);
    const httpsPort = await listen(https);
    const certlessPort = await listen(certless);
    const probe = await startFixture(() => undefined);
    closedPort = probe.port;
    await probe.close();
    rules.push(
      { host: 'plain.test', address: '127.0.0.1', port: plain.port },
      { host: 'social.test', address: '127.0.0.1', port: httpsPort },
      { host: 'wrongname.test', address: '127.0.0.1', port: httpsPort },
      { host: 'certless.test', address: '127.0.0.1', port: certlessPort },
      { host: 'down.test', address: '127.0.0.1', port: closedPort },
    );
  });
  afterAll(async () => {
    await plain?.close();
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const fetcher = () =>
    createFetcher({
      connectTo: rules,
      allowPrivateNetwork: [],
      userAgent: 'Latchkey/test',
      connectTimeoutMs: 2000,
      headersTimeoutMs: 2000,
      totalTimeoutMs: 4000,
    });

  it('a server speaking plain HTTP on the https address is no_tls, not "the TLS handshake failed"', async () => {
    const f = fetcher();
    const error = await failure(f('https://plain.test/', OPTIONS));
    expect(error.code).toBe('no_tls');
    expect(error.message).toBe('it does not speak https: the secure connection could not be set up');
    expect(error.url).toBe('https://plain.test/');
    // The same site over http answers.
    expect((await f('http://plain.test/', OPTIONS)).body).toBe('<p>plain</p>');
    await f.close();
  });

  it('nothing on the https port is no_tls; over http a refused connection stays a network error', async () => {
    const f = fetcher();
    const https = await failure(f('https://down.test/', OPTIONS));
    expect(https.code).toBe('no_tls');
    expect(https.message).toBe('nothing answers on its secure (https) port: the connection was refused');
    const http = await failure(f('http://down.test/', OPTIONS));
    expect(http.code).toBe('network');
    expect(http.message).toBe('the connection was refused');
    await f.close();
  });

  it('a TLS server without a certificate for the name is no_tls', async () => {
    const f = fetcher();
    expect((await failure(f('https://certless.test/', OPTIONS))).code).toBe('no_tls');
    await f.close();
  });

  it('a certificate for another name is bad_certificate, saying so', async () => {
    const f = fetcher();
    const error = await failure(f('https://wrongname.test/', OPTIONS));
    expect(error.code).toBe('bad_certificate');
    expect(error.message).toBe('its security certificate is for a different name');
    // The very same server, asked for a name its certificate has, answers.
    expect((await f('https://social.test/', OPTIONS)).body).toBe('<p>secure</p>');
    await f.close();
  });
});
