/**
 * The outbound fetcher end to end (PROTOCOL §4, SECURITY G1–G6) against `node:http` fixtures on
 * 127.0.0.1. Fixture sites are reached either under made-up names through connect-to rules (which
 * allow them although they are on loopback) or directly, to prove that loopback is refused.
 * Deadlines are short so a regression fails fast instead of hanging.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ClosableFetcher, createFetcher, type FetcherOptions } from '../../src/net/fetch.js';
import { FetchError, type FetchOptions } from '../../src/net/types.js';
import { type Fixture, startFixture } from '../helpers/fixture-server.js';

interface Seen {
  host: string | undefined;
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

const CAP = 64 * 1024;
const OPTIONS: FetchOptions = { accept: 'text/html', maxBytes: CAP };

let site: Fixture;
let seen: Seen[] = [];
const fetchers: ClosableFetcher[] = [];

/** Streams `a`s until the client goes away: an endless body (SECURITY G5). */
function endless(res: ServerResponse): void {
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  res.writeHead(200, { 'content-type': 'text/plain' });
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {
      // keep writing until the socket pushes back
    }
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

/** One fixture site serving every scenario; routes are `host + path`. */
async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  seen.push({ host: req.headers.host, method: req.method, url: req.url, headers: req.headers, body });
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const hop = /^\/hop\/(\d+)$/.exec(path);
  const loop = /^\/loop\/(\d+)$/.exec(path);
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<p>hello</p>');
  } else if (hop) {
    const statuses = [301, 302, 303, 307, 308];
    const n = Number(hop[1]);
    const status = statuses[n];
    if (status === undefined) res.writeHead(200, { 'content-type': 'text/plain' }).end(`final ${req.method}`);
    else res.writeHead(status, { location: `/hop/${n + 1}` }).end('moving');
  } else if (loop) {
    res.writeHead(302, { location: `/loop/${Number(loop[1]) + 1}` }).end();
  } else if (path === '/to-loopback') {
    res.writeHead(302, { location: `http://127.0.0.1:${site.port}/secret` }).end();
  } else if (path === '/to-mapped-loopback') {
    res.writeHead(301, { location: `http://[::ffff:127.0.0.1]:${site.port}/secret` }).end();
  } else if (path === '/to-rebind') {
    res.writeHead(307, { location: `http://rebind.example:${site.port}/secret` }).end();
  } else if (path === '/to-scheme') {
    res.writeHead(302, { location: new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '' }).end();
  } else if (path === '/to-other-site') {
    res.writeHead(302, { location: `http://other.example:${site.port}/` }).end();
  } else if (path === '/exact') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(CAP));
  } else if (path === '/one-over') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(CAP + 1));
  } else if (path === '/endless') {
    endless(res);
  } else if (path === '/chunked-over') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('x'.repeat(CAP));
    res.end('y');
  } else if (path === '/gzip-bomb') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
    res.end(gzipSync(Buffer.alloc(20 * 1024 * 1024)));
  } else if (path === '/gzip') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-encoding': 'gzip' });
    res.end(gzipSync(Buffer.from('compressed ünïcode')));
  } else if (path === '/silent') {
    // Never answers: the headers deadline must fire (SECURITY G6).
  } else if (path === '/stall') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first bytes, then nothing');
  } else if (path === '/latin1') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=ISO-8859-1' });
    res.end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  } else if (path === '/links') {
    res.setHeader('link', [
      '<https://a.example/auth>; rel="authorization_endpoint"',
      '<https://a.example/token>; rel="token_endpoint"',
    ]);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('links');
  } else {
    res.writeHead(404).end('not found');
  }
}

const to = (host: string) => ({ host, address: '127.0.0.1', port: site.port });

function makeFetcher(overrides: Partial<FetcherOptions> = {}): ClosableFetcher {
  const fetcher = createFetcher({
    connectTo: [to('site.example'), to('other.example')],
    allowPrivateNetwork: [],
    userAgent: 'Latchkey/test (+https://login.test/)',
    connectTimeoutMs: 300,
    headersTimeoutMs: 300,
    totalTimeoutMs: 600,
    ...overrides,
  });
  fetchers.push(fetcher);
  return fetcher;
}

async function refusal(promise: Promise<unknown>): Promise<FetchError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FetchError);
    return error as FetchError;
  }
  throw new Error('expected the fetch to be refused');
}

/** A resolver that answers every name with loopback: a public-looking name rebinding to 127.0.0.1. */
function rebindingLookup(calls: string[]): LookupFunction {
  return (hostname, options, callback) => {
    calls.push(hostname);
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };
}

beforeAll(async () => {
  site = await startFixture(route);
});
afterEach(async () => {
  await Promise.all(fetchers.splice(0).map((fetcher) => fetcher.close()));
  seen = [];
});
afterAll(async () => {
  await site.close();
});

describe('createFetcher', () => {
  it('G1: refuses a real fetch of http://127.0.0.1:PORT/ and http://[::1]:PORT/ without sending a request', async () => {
    const fetcher = makeFetcher();
    const v4 = await refusal(fetcher(site.url, OPTIONS));
    expect(v4.code).toBe('blocked_address');
    expect(v4.message).toMatch(/private or reserved network address/);
    const v6 = await refusal(fetcher(`http://[::1]:${site.port}/`, OPTIONS));
    expect(v6.code).toBe('blocked_address');
    const named = await refusal(fetcher(`http://localhost:${site.port}/`, OPTIONS));
    expect(named.code).toBe('blocked_address');
    expect(seen).toEqual([]);
  });

  it('G2: catches odd IPv4 spellings and IPv4-mapped IPv6 that the URL parser canonicalises', async () => {
    const fetcher = makeFetcher();
    const urls = [
      `http://2130706433:${site.port}/`,
      `http://0x7f.1:${site.port}/`,
      `http://127.1:${site.port}/`,
      `http://0177.0.0.1:${site.port}/`,
      `http://[::ffff:127.0.0.1]:${site.port}/`,
      `http://[::ffff:7f00:1]:${site.port}/`,
      `http://[0:0:0:0:0:ffff:127.0.0.1]:${site.port}/`,
    ];
    for (const url of urls) {
      const error = await refusal(fetcher(url, OPTIONS));
      expect(error.code, url).toBe('blocked_address');
    }
    expect(seen).toEqual([]);
  });

  it('G3: a public-looking host name resolving to 127.0.0.1 is refused at connect time (DNS rebinding)', async () => {
    const calls: string[] = [];
    const fetcher = makeFetcher({ lookup: rebindingLookup(calls) });
    const error = await refusal(fetcher(`http://rebind.example:${site.port}/`, OPTIONS));
    expect(error.code).toBe('blocked_address');
    expect(error.message).toContain('rebind.example');
    expect(error.message).not.toContain('127.0.0.1');
    // Resolution happened while connecting, not in a separate validation step that could be raced.
    expect(calls).toContain('rebind.example');
    expect(seen).toEqual([]);
  });

  it('G3: the same host name is reachable once the operator allow-lists it by name', async () => {
    const fetcher = makeFetcher({ lookup: rebindingLookup([]), allowPrivateNetwork: ['rebind.example'] });
    const result = await fetcher(`http://rebind.example:${site.port}/`, OPTIONS);
    expect(result.status).toBe(200);
    expect(seen[0]?.host).toBe(`rebind.example:${site.port}`);
  });

  it('G4: an allowed site redirecting to loopback (literal, IPv4-mapped or by name) is refused at the hop', async () => {
    const fetcher = makeFetcher({ lookup: rebindingLookup([]) });
    for (const path of ['/to-loopback', '/to-mapped-loopback', '/to-rebind']) {
      const error = await refusal(fetcher(`http://site.example/${path.slice(1)}`, OPTIONS));
      expect(error.code, path).toBe('blocked_address');
    }
    expect(seen.map((s) => s.url)).toEqual(['/to-loopback', '/to-mapped-loopback', '/to-rebind']);
  });

  it('G4: a redirect to ftp:, file:, javascript: or data: is refused, and so is one with user info', async () => {
    const fetcher = makeFetcher();
    for (const target of [
      'ftp://site.example/x',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'data:text/html,hi',
    ]) {
      const url = `http://site.example/to-scheme?to=${encodeURIComponent(target)}`;
      const error = await refusal(fetcher(url, OPTIONS));
      expect(error.code, target).toBe('bad_scheme');
      expect(error.message).toMatch(/redirected to a \w+: URL; only http and https are fetched/);
    }
    const userinfo = `http://site.example/to-scheme?to=${encodeURIComponent('http://user:pw@site.example/')}`;
    expect((await refusal(fetcher(userinfo, OPTIONS))).code).toBe('bad_url');
    expect(seen.every((s) => s.url?.startsWith('/to-scheme'))).toBe(true);
  });

  it('G4: follows at most 10 redirects (more is too_many_redirects) and records each hop with its status', async () => {
    const fetcher = makeFetcher();
    const hops = await fetcher('http://site.example/hop/0', OPTIONS);
    expect(hops.status).toBe(200);
    expect(hops.url).toBe('http://site.example/hop/5');
    expect(hops.redirects).toEqual([
      { from: 'http://site.example/hop/0', to: 'http://site.example/hop/1', status: 301 },
      { from: 'http://site.example/hop/1', to: 'http://site.example/hop/2', status: 302 },
      { from: 'http://site.example/hop/2', to: 'http://site.example/hop/3', status: 303 },
      { from: 'http://site.example/hop/3', to: 'http://site.example/hop/4', status: 307 },
      { from: 'http://site.example/hop/4', to: 'http://site.example/hop/5', status: 308 },
    ]);

    seen = [];
    const error = await refusal(fetcher('http://site.example/loop/0', OPTIONS));
    expect(error.code).toBe('too_many_redirects');
    expect(seen).toHaveLength(11);

    const two = await refusal(fetcher('http://site.example/loop/0', { ...OPTIONS, maxRedirects: 2 }));
    expect(two.code).toBe('too_many_redirects');
  });

  it('G4: maxRedirects 0 returns the 3xx itself, unfollowed (client_id metadata)', async () => {
    const fetcher = makeFetcher();
    const result = await fetcher('http://site.example/to-loopback', { ...OPTIONS, maxRedirects: 0 });
    expect(result.status).toBe(302);
    expect(result.headers.get('location')).toBe(`http://127.0.0.1:${site.port}/secret`);
    expect(result.redirects).toEqual([]);
    expect(seen.map((s) => s.url)).toEqual(['/to-loopback']);
  });

  it('a POST continues as a GET without body after 301/302/303, and keeps method and body on 307/308', async () => {
    const fetcher = makeFetcher();
    const post = {
      ...OPTIONS,
      method: 'POST' as const,
      body: 'a=1',
      contentType: 'application/x-www-form-urlencoded',
    };
    const result = await fetcher('http://site.example/hop/0', post);
    expect(result.body).toBe('final GET');
    expect(seen.map((s) => [s.method, s.body, s.headers['content-type']])).toEqual([
      ['POST', 'a=1', 'application/x-www-form-urlencoded'],
      ['GET', '', undefined],
      ['GET', '', undefined],
      ['GET', '', undefined],
      ['GET', '', undefined],
      ['GET', '', undefined],
    ]);

    seen = [];
    const kept = await fetcher('http://site.example/hop/3', post);
    expect(kept.body).toBe('final POST');
    expect(seen.map((s) => [s.method, s.body])).toEqual([
      ['POST', 'a=1'],
      ['POST', 'a=1'],
      ['POST', 'a=1'],
    ]);
  });

  it('credentials passed in headers are not forwarded to another origin on redirect', async () => {
    const fetcher = makeFetcher();
    await fetcher('http://site.example/to-other-site', {
      ...OPTIONS,
      headers: { Authorization: 'Bearer secret', 'X-Trace': 'kept' },
    });
    expect(seen.map((s) => [s.host, s.headers.authorization, s.headers['x-trace']])).toEqual([
      ['site.example', 'Bearer secret', 'kept'],
      [`other.example:${site.port}`, undefined, 'kept'],
    ]);
  });

  it('G5: an endless body is cut at the cap with too_large, and the connection is dropped', async () => {
    const fetcher = makeFetcher({ totalTimeoutMs: 5_000 });
    const error = await refusal(fetcher('http://site.example/endless', OPTIONS));
    expect(error.code).toBe('too_large');
    expect(error.message).toBe('the response is larger than the 64 KiB allowed');
  });

  it('G5: a body of exactly the cap is read; one byte more is refused, with or without Content-Length', async () => {
    const fetcher = makeFetcher();
    const exact = await fetcher('http://site.example/exact', OPTIONS);
    expect(exact.body).toHaveLength(CAP);
    expect((await refusal(fetcher('http://site.example/one-over', OPTIONS))).code).toBe('too_large');
    expect((await refusal(fetcher('http://site.example/chunked-over', OPTIONS))).code).toBe('too_large');
  });

  it('G5: the cap applies after decompression, so a gzip bomb is cut too; ordinary gzip is decoded', async () => {
    const fetcher = makeFetcher();
    expect((await refusal(fetcher('http://site.example/gzip-bomb', OPTIONS))).code).toBe('too_large');
    const ok = await fetcher('http://site.example/gzip', OPTIONS);
    expect(ok.body).toBe('compressed ünïcode');
  });

  it('G6: a server that never answers hits the headers deadline', async () => {
    // undici checks the headers deadline on a coarse (~1 s) clock, hence the roomy total deadline.
    const fetcher = makeFetcher({ totalTimeoutMs: 5_000 });
    const error = await refusal(fetcher('http://site.example/silent', OPTIONS));
    expect(error.code).toBe('timeout');
    expect(error.message).toBe('it did not answer within 300 ms');
  });

  it('G6: a server that sends headers and then stalls hits the total deadline', async () => {
    const fetcher = makeFetcher({ headersTimeoutMs: 2_000, totalTimeoutMs: 400 });
    const error = await refusal(fetcher('http://site.example/stall', OPTIONS));
    expect(error.code).toBe('timeout');
    expect(error.message).toBe('it did not complete within 400 ms');
  });

  it('G6: a connection that cannot be set up hits the connect deadline', async () => {
    const stuck: LookupFunction = () => {
      // Never answers, like a resolver or SYN that gets no reply.
    };
    const fetcher = makeFetcher({ lookup: stuck, totalTimeoutMs: 2_000 });
    const error = await refusal(fetcher('http://slow.example/', OPTIONS));
    expect(error.code).toBe('timeout');
    expect(error.message).toBe('could not connect within 300 ms');
  });

  it("the caller's AbortSignal cancels the fetch", async () => {
    const fetcher = makeFetcher({ headersTimeoutMs: 2_000, totalTimeoutMs: 2_000 });
    const error = await refusal(
      fetcher('http://site.example/silent', { ...OPTIONS, signal: AbortSignal.timeout(50) }),
    );
    expect(error.code).toBe('network');
    expect(error.message).toBe('the fetch was cancelled');
  });

  it('connect-to maps site.example to the fixture and keeps the Host header', async () => {
    const fetcher = makeFetcher();
    const result = await fetcher('http://site.example/', OPTIONS);
    expect(result.status).toBe(200);
    expect(result.url).toBe('http://site.example/');
    expect(result.body).toBe('<p>hello</p>');
    expect(seen[0]?.host).toBe('site.example');
  });

  it('sends the User-Agent naming Latchkey and the Accept header the caller asked for', async () => {
    const fetcher = makeFetcher();
    await fetcher('http://site.example/', { ...OPTIONS, accept: 'application/json, text/html' });
    expect(seen[0]?.headers['user-agent']).toBe('Latchkey/test (+https://login.test/)');
    expect(seen[0]?.headers.accept).toBe('application/json, text/html');
  });

  it("allowPrivateNetwork '127.0.0.0/8' permits loopback", async () => {
    const fetcher = makeFetcher({ allowPrivateNetwork: ['127.0.0.0/8'] });
    const result = await fetcher(site.url, OPTIONS);
    expect(result.status).toBe(200);
    const error = await refusal(fetcher(`http://[::1]:${site.port}/`, OPTIONS));
    expect(error.code).toBe('blocked_address');
  });

  it('refuses other schemes and URLs with user info before connecting', async () => {
    const fetcher = makeFetcher();
    expect((await refusal(fetcher('ftp://site.example/', OPTIONS))).code).toBe('bad_scheme');
    expect((await refusal(fetcher('file:///etc/passwd', OPTIONS))).code).toBe('bad_scheme');
    expect((await refusal(fetcher('http://user:pw@site.example/', OPTIONS))).code).toBe('bad_url');
    expect((await refusal(fetcher('not a url', OPTIONS))).code).toBe('bad_url');
    expect(seen).toEqual([]);
  });

  it('network failures are FetchError network with a plain-words message', async () => {
    const closed = await startFixture(() => undefined);
    await closed.close();
    const fetcher = makeFetcher({ allowPrivateNetwork: ['127.0.0.1'] });
    const error = await refusal(fetcher(closed.url, OPTIONS));
    expect(error.code).toBe('network');
    expect(error.message).toBe('the connection was refused');

    const nowhere: LookupFunction = (hostname, _options, callback) => {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
    };
    const unresolved = await refusal(makeFetcher({ lookup: nowhere })('http://nowhere.example/', OPTIONS));
    expect(unresolved.code).toBe('network');
    expect(unresolved.message).toBe('the host name does not exist');
  });

  it('keeps every Link header line retrievable and honours an ISO-8859-1 charset', async () => {
    const fetcher = makeFetcher();
    const links = await fetcher('http://site.example/links', OPTIONS);
    expect(links.headers.get('link')).toBe(
      '<https://a.example/auth>; rel="authorization_endpoint", <https://a.example/token>; rel="token_endpoint"',
    );
    const latin1 = await fetcher('http://site.example/latin1', OPTIONS);
    expect(latin1.body).toBe('café');
  });

  it('logs one debug line per fetch with origin and path only, never the query string', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const fetcher = makeFetcher({ logger: pino({ level: 'debug' }, sink), connectTo: [to('site.example')] });
    await fetcher('http://site.example/?code=SECRET123&state=x', OPTIONS);
    await refusal(fetcher(`${site.url}?token=SECRET456`, OPTIONS));
    const debug = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.level === 20);
    expect(debug).toHaveLength(2);
    expect(debug[0]).toMatchObject({ url: 'http://site.example/', status: 200 });
    expect(debug[1]).toMatchObject({ url: site.url, error: 'blocked_address' });
    expect(lines.join('\n')).not.toMatch(/SECRET/);
  });
});
