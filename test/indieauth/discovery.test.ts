/**
 * Discovering a person's site (PROTOCOL §5, SECURITY F3/G7) over an in-memory Fetcher that follows
 * redirects and records hops the way the real one does, plus the `latchkey doctor` report.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DiscoveryError,
  discoverAuthorizationEndpoint,
  discoverSite,
} from '../../src/indieauth/discovery.js';
import { formatDiscovery } from '../../src/indieauth/doctor.js';
import { INLINE_MAX_CHARS } from '../../src/net/html-parse.js';
import {
  FetchError,
  type Fetcher,
  type FetchOptions,
  LIMITS,
  type RedirectHop,
} from '../../src/net/types.js';

interface FakeResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** For 3xx: the Location header, resolved against the request URL. */
  location?: string;
}

/** A map of URL → response; redirects are followed by hand and recorded hop by hop, as PROTOCOL §4. */
function memoryFetcher(site: Record<string, FakeResponse>) {
  const calls: Array<{ url: string; options: FetchOptions }> = [];
  const fetcher: Fetcher = async (url, options) => {
    calls.push({ url, options });
    const redirects: RedirectHop[] = [];
    let current = url;
    for (;;) {
      const page = site[current];
      if (!page) throw new FetchError('network', `Could not connect to ${new URL(current).host}.`, current);
      const status = page.status ?? 200;
      if (status >= 300 && status < 400 && page.location !== undefined) {
        if (redirects.length >= (options.maxRedirects ?? 10)) {
          throw new FetchError('too_many_redirects', 'Too many redirects.', current);
        }
        const to = new URL(page.location, current).href;
        redirects.push({ from: current, to, status });
        current = to;
        continue;
      }
      const body = page.body ?? '';
      if (Buffer.byteLength(body) > options.maxBytes) {
        throw new FetchError('too_large', 'The response is too large.', current);
      }
      return { url: current, status, headers: new Headers(page.headers ?? {}), body, redirects };
    }
  };
  return { fetcher, calls };
}

function html(body: string, headers: Record<string, string> = {}): FakeResponse {
  return { headers: { 'content-type': 'text/html; charset=utf-8', ...headers }, body };
}

function json(value: unknown, status = 200): FakeResponse {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

const METADATA = {
  issuer: 'https://login.example/',
  authorization_endpoint: 'https://login.example/authorize',
  token_endpoint: 'https://login.example/token',
  code_challenge_methods_supported: ['S256'],
  authorization_response_iss_parameter_supported: true,
};

async function refusal(promise: Promise<unknown>): Promise<DiscoveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DiscoveryError);
  return error as DiscoveryError;
}

describe('F3: temporary redirects do not change the identity; permanent ones do', () => {
  it('301 then 302: the identity follows the 301 and stops at the 302; the last page is the base', async () => {
    const { fetcher } = memoryFetcher({
      'http://alice.example/': { status: 301, location: 'https://alice.example/' },
      'https://alice.example/': { status: 302, location: '/home/' },
      'https://alice.example/home/': html('<link rel="authorization_endpoint" href="auth">'),
    });
    const d = await discoverSite('http://alice.example/', fetcher);
    expect(d.requested).toBe('http://alice.example/');
    expect(d.me).toBe('https://alice.example/');
    expect(d.finalUrl).toBe('https://alice.example/home/');
    expect(d.authorizationEndpoint).toBe('https://alice.example/home/auth');
    expect(d.redirects).toEqual([
      {
        from: 'http://alice.example/',
        to: 'https://alice.example/',
        status: 301,
        permanent: true,
        movedIdentity: true,
      },
      {
        from: 'https://alice.example/',
        to: 'https://alice.example/home/',
        status: 302,
        permanent: false,
        movedIdentity: false,
      },
    ]);
    expect(d.notes.join('\n')).toMatch(/temporary redirects do not change the identity/);
  });

  it('308 is permanent', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': { status: 308, location: 'https://www.alice.example/' },
      'https://www.alice.example/': html('<p>hi</p>'),
    });
    expect((await discoverSite('https://alice.example/', fetcher)).me).toBe('https://www.alice.example/');
  });

  it.each([302, 303, 307])('%i is temporary, and a permanent hop after it does not count', async (status) => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': { status, location: 'https://alice.example/a' },
      'https://alice.example/a': { status: 301, location: 'https://elsewhere.example/' },
      'https://elsewhere.example/': html('<p>hi</p>'),
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.me).toBe('https://alice.example/');
    expect(d.finalUrl).toBe('https://elsewhere.example/');
    expect(d.redirects.map((hop) => hop.movedIdentity)).toEqual([false, false]);
  });

  it('two permanent hops move the identity twice', async () => {
    const { fetcher } = memoryFetcher({
      'http://alice.example/': { status: 301, location: 'https://alice.example/' },
      'https://alice.example/': { status: 308, location: 'https://alice.example/me' },
      'https://alice.example/me': html('<p>hi</p>'),
    });
    expect((await discoverSite('http://alice.example/', fetcher)).me).toBe('https://alice.example/me');
  });

  it('a permanent redirect to an invalid profile URL keeps the requested identity and says why', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': { status: 301, location: 'https://alice.example:8443/' },
      'https://alice.example:8443/': html('<p>hi</p>'),
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.me).toBe('https://alice.example/');
    expect(d.notes.join('\n')).toMatch(/not a valid profile URL \(it contains a port/);
  });
});

describe('endpoints', () => {
  it('metadata wins over the legacy rels, and is fetched as capped JSON', async () => {
    const { fetcher, calls } = memoryFetcher({
      'https://alice.example/': html(
        '<link rel="indieauth-metadata" href="https://login.example/.well-known/oauth-authorization-server">' +
          '<link rel="authorization_endpoint" href="https://old.example/auth">' +
          '<link rel="token_endpoint" href="https://old.example/token">',
      ),
      'https://login.example/.well-known/oauth-authorization-server': json(METADATA),
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.authorizationEndpoint).toBe('https://login.example/authorize');
    expect(d.tokenEndpoint).toBe('https://login.example/token');
    expect(d.endpointSources).toEqual({ authorizationEndpoint: 'metadata', tokenEndpoint: 'metadata' });
    expect(d.issuer).toBe('https://login.example/');
    expect(d.metadata?.code_challenge_methods_supported).toEqual(['S256']);
    expect(calls[0]?.options).toMatchObject({ maxBytes: LIMITS.page });
    expect(calls[0]?.options.accept).toMatch(/^text\/html/);
    expect(calls[1]?.options).toMatchObject({ accept: 'application/json', maxBytes: LIMITS.json });
  });

  it('metadata without a token endpoint falls back to rel="token_endpoint" for that one', async () => {
    const { token_endpoint: _, ...withoutToken } = METADATA;
    const { fetcher } = memoryFetcher({
      'https://alice.example/': html(
        '<link rel="indieauth-metadata" href="https://login.example/meta"><link rel="token_endpoint" href="/token">',
      ),
      'https://login.example/meta': json(withoutToken),
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.authorizationEndpoint).toBe('https://login.example/authorize');
    expect(d.tokenEndpoint).toBe('https://alice.example/token');
    expect(d.endpointSources).toEqual({ authorizationEndpoint: 'metadata', tokenEndpoint: 'html' });
  });

  it.each([
    [
      'an issuer that is not a prefix of the metadata URL',
      json({ ...METADATA, issuer: 'https://other.example/' }),
      /not a prefix/,
    ],
    [
      'a look-alike issuer origin (string prefix of another host)',
      json({ ...METADATA, issuer: 'https://login.example' }),
      /not a prefix/,
      'https://login.example.evil.example/meta',
    ],
    ['an issuer with a query', json({ ...METADATA, issuer: 'https://login.example/?x=1' }), /query/],
    [
      'an issuer that is not a URL',
      json({ ...METADATA, issuer: 'login.example' }),
      /"issuer" is not an http/,
    ],
    ['no authorization_endpoint', json({ issuer: 'https://login.example/' }), /no "authorization_endpoint"/],
    [
      'a javascript: endpoint',
      json({ ...METADATA, authorization_endpoint: 'javascript:alert(1)' }),
      /not an http/,
    ],
    ['a 404', json({ error: 'nope' }, 404), /HTTP 404/],
    ['HTML instead of JSON', html('<p>metadata</p>'), /not JSON/],
    ['an array', json([METADATA]), /not a JSON object/],
    ['a wrongly typed field', json({ ...METADATA, token_endpoint: 42 }), /"token_endpoint" is invalid/],
    ['an unreachable server', undefined, /could not be fetched/],
  ])(
    'metadata with %s is refused and discovery falls back to the legacy rels',
    async (_name, response, problem, at = 'https://login.example/meta') => {
      const site: Record<string, FakeResponse> = {
        'https://alice.example/': html(
          `<link rel="indieauth-metadata" href="${at}"><link rel="authorization_endpoint" href="/auth">`,
        ),
      };
      if (response) site[at] = response;
      const d = await discoverSite('https://alice.example/', memoryFetcher(site).fetcher);
      expect(d.metadata).toBeUndefined();
      expect(d.metadataUrl).toBe(at);
      expect(d.metadataProblem).toMatch(problem);
      expect(d.authorizationEndpoint).toBe('https://alice.example/auth');
      expect(d.endpointSources.authorizationEndpoint).toBe('html');
      expect(d.notes.join('\n')).toMatch(/falling back to the rel="authorization_endpoint"/);
    },
  );

  it('the issuer may be a path prefix on the same origin', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': html(
        '<link rel="indieauth-metadata" href="https://alice.example/indieauth/meta">',
      ),
      'https://alice.example/indieauth/meta': json({
        issuer: 'https://alice.example/indieauth/',
        authorization_endpoint: 'https://alice.example/indieauth/auth',
      }),
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.issuer).toBe('https://alice.example/indieauth/');
    expect(d.tokenEndpoint).toBeUndefined();
  });

  it('a Link header wins over the HTML for legacy rels', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': html(
        '<link rel="authorization_endpoint" href="/html-auth"><link rel="token_endpoint" href="/html-token">',
        { link: '<https://auth.example/auth>; rel="authorization_endpoint"' },
      ),
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.authorizationEndpoint).toBe('https://auth.example/auth');
    expect(d.endpointSources).toEqual({ authorizationEndpoint: 'header', tokenEndpoint: 'html' });
    expect(d.tokenEndpoint).toBe('https://alice.example/html-token');
    expect(d.notes.join('\n')).toMatch(/HTTP Link headers win over the HTML/);
  });

  it('a metadata link in a Link header is used too', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': html('', { link: '<https://login.example/meta>; rel="indieauth-metadata"' }),
      'https://login.example/meta': json(METADATA),
    });
    expect((await discoverSite('https://alice.example/', fetcher)).authorizationEndpoint).toBe(
      'https://login.example/authorize',
    );
  });

  it('missing endpoints: none reported, rel links still collected, and the notes say what sign-in will use', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': html(
        '<a rel="me" href="https://github.com/alice">GitHub</a><a rel="me authn" href="mailto:alice@alice.example">mail</a>' +
          '<link rel="pgpkey" href="/key.asc"><link rel="ssh-key" href="/id.pub">',
      ),
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.authorizationEndpoint).toBeUndefined();
    expect(d.tokenEndpoint).toBeUndefined();
    expect(d.relMe.map((l) => l.url)).toEqual(['https://github.com/alice', 'mailto:alice@alice.example']);
    expect(d.relMe[0]?.text).toBe('GitHub');
    expect(d.authn.map((l) => l.url)).toEqual(['mailto:alice@alice.example']);
    expect(d.pgpkey.map((l) => l.url)).toEqual(['https://alice.example/key.asc']);
    expect(d.sshKey.map((l) => l.url)).toEqual(['https://alice.example/id.pub']);
    const notes = d.notes.join('\n');
    expect(notes).toMatch(/No authorization endpoint/);
    expect(notes).toMatch(/only those are offered/);
    const refused = await refusal(discoverAuthorizationEndpoint('https://alice.example/', fetcher));
    expect(refused.code).toBe('no_authorization_endpoint');
    expect(refused.message).toMatch(/names no authorization endpoint/);
  });

  it('a non-http(s) endpoint link is ignored', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': html(
        '<link rel="authorization_endpoint" href="javascript:alert(1)"><link rel="authorization_endpoint" href="/auth">',
      ),
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.authorizationEndpoint).toBe('https://alice.example/auth');
    expect(d.notes.join('\n')).toMatch(/not an http\(s\) URL and was ignored/);
  });

  it('G7: a non-HTML page is read for Link headers only', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': {
        headers: { 'content-type': 'text/plain', link: '</token>; rel="token_endpoint"' },
        body: '<link rel="authorization_endpoint" href="https://evil.example/auth"><a rel="me" href="https://evil.example/">x</a>',
      },
    });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.authorizationEndpoint).toBeUndefined();
    expect(d.relMe).toEqual([]);
    expect(d.tokenEndpoint).toBe('https://alice.example/token');
    expect(d.notes.join('\n')).toMatch(/"text\/plain", not HTML/);
  });

  it('discoverAuthorizationEndpoint returns the endpoint and the canonical me', async () => {
    const { fetcher } = memoryFetcher({
      'http://alice.example/': { status: 301, location: 'https://alice.example/' },
      'https://alice.example/': html(
        '<link rel="authorization_endpoint" href="/auth"><link rel="token_endpoint" href="/token">',
      ),
    });
    expect(await discoverAuthorizationEndpoint('http://alice.example/', fetcher)).toEqual({
      me: 'https://alice.example/',
      authorizationEndpoint: 'https://alice.example/auth',
      tokenEndpoint: 'https://alice.example/token',
    });
  });
});

describe('R4: large pages', () => {
  it('R4: a page far above the inline parse limit is read in the parse worker, its last links included', async () => {
    const filler =
      '<p class="post">A long archive entry, with <a href="/tag/x" rel="tag">a tag</a>.</p>\n'.repeat(3000);
    const body = `<link rel="authorization_endpoint" href="/auth">${filler}<a rel="me" href="mailto:alice@alice.example">mail</a>`;
    expect(body.length).toBeGreaterThan(INLINE_MAX_CHARS * 4);
    const { fetcher } = memoryFetcher({ 'https://alice.example/': html(body) });
    const d = await discoverSite('https://alice.example/', fetcher);
    expect(d.authorizationEndpoint).toBe('https://alice.example/auth');
    expect(d.relMe.map((l) => l.url)).toEqual(['mailto:alice@alice.example']);
    expect(d.notes.join('\n')).not.toMatch(/could not be read/);
  });
});

describe('failures', () => {
  it.each([404, 410, 500, 503])('HTTP %i is a DiscoveryError', async (status) => {
    const { fetcher } = memoryFetcher({ 'https://alice.example/': { ...html('<p>gone</p>'), status } });
    const error = await refusal(discoverSite('https://alice.example/', fetcher));
    expect(error.code).toBe('http_status');
    expect(error.message).toContain(`HTTP ${status}`);
  });

  it('non-2xx after a redirect names the page that answered', async () => {
    const { fetcher } = memoryFetcher({
      'https://alice.example/': { status: 301, location: '/moved' },
      'https://alice.example/moved': { status: 404 },
    });
    const error = await refusal(discoverSite('https://alice.example/', fetcher));
    expect(error.message).toContain('https://alice.example/moved answered HTTP 404');
  });

  it('a fetch failure is a DiscoveryError carrying the fetcher message', async () => {
    const { fetcher } = memoryFetcher({});
    const error = await refusal(discoverSite('https://down.example/', fetcher));
    expect(error.code).toBe('fetch_failed');
    expect(error.message).toContain('Could not connect to down.example');
    expect(error.cause).toBeInstanceOf(FetchError);
  });

  it.each(['https://127.0.0.1/', 'mailto:alice@example.com', 'https://alice.example/#me', 'alice.example'])(
    'an invalid profile URL is refused before anything is fetched: %s',
    async (me) => {
      const { fetcher, calls } = memoryFetcher({});
      const error = await refusal(discoverSite(me, fetcher));
      expect(error.code).toBe('invalid_url');
      expect(calls).toEqual([]);
    },
  );
});

describe('latchkey doctor report', () => {
  it('explains identity, endpoints and their sources, links and notes', async () => {
    const { fetcher } = memoryFetcher({
      'http://alice.example/': { status: 301, location: 'https://alice.example/' },
      'https://alice.example/': { status: 302, location: '/home' },
      'https://alice.example/home': html(
        '<link rel="authorization_endpoint" href="/auth"><a rel="me" href="https://github.com/alice">Git\u001b[31mHub</a>',
        { link: '<https://tokens.example/token>; rel="token_endpoint"' },
      ),
    });
    const report = formatDiscovery(await discoverSite('http://alice.example/', fetcher));
    expect(report).toContain('Identity (me)           https://alice.example/');
    expect(report).toContain(
      '301 permanent: http://alice.example/ -> https://alice.example/  (identity follows)',
    );
    expect(report).toContain(
      '302 temporary: https://alice.example/ -> https://alice.example/home  (identity stays)',
    );
    expect(report).toMatch(/authorization endpoint\s+https:\/\/alice\.example\/auth {2}\(from the HTML\)/);
    expect(report).toMatch(
      /token endpoint\s+https:\/\/tokens\.example\/token {2}\(from an HTTP Link header\)/,
    );
    expect(report).toContain('https://github.com/alice  "Git?[31mHub"  [HTML]');
    expect(report).toContain('rel="authn": none');
    expect(report).not.toContain('\u001b');
    expect(report).toMatch(/Notes\n {2}- /);
  });

  it('shows metadata, a metadata problem, and IDN hosts in Unicode', async () => {
    const { fetcher } = memoryFetcher({
      'https://xn--bcher-kva.example/': html(
        '<link rel="indieauth-metadata" href="/meta"><link rel="authorization_endpoint" href="/auth">',
      ),
      'https://xn--bcher-kva.example/meta': json({ ...METADATA }),
    });
    const report = formatDiscovery(await discoverSite('https://bücher.example/', fetcher));
    expect(report).toContain('https://xn--bcher-kva.example/ (https://bücher.example/)');
    expect(report).toMatch(/metadata\s+https:\/\/xn--bcher-kva\.example\/meta .*not used: its issuer/);
  });
});

/**
 * The same discovery over the real fetcher (PROTOCOL §4) and a `node:http` fixture on 127.0.0.1,
 * reached through connect-to rules. `src/net/fetch.ts` is written in parallel; until it exports
 * `createFetcher`, this block is skipped (the import is dynamic so the file typechecks without it).
 */
type CreateFetcher = (options: {
  connectTo: Array<{ host: string; address: string; port: number }>;
  allowPrivateNetwork: string[];
  userAgent: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  totalTimeoutMs: number;
}) => Fetcher & { close?: () => Promise<void> };

const fetchModulePath = '../../src/net/fetch.js';
const realFetch = (await import(/* @vite-ignore */ fetchModulePath).catch(() => undefined)) as
  | { createFetcher?: CreateFetcher }
  | undefined;
const createFetcher = realFetch?.createFetcher;

describe.skipIf(!createFetcher)('discovery over the real fetcher and a loopback fixture site', () => {
  let server: Server;
  let fetcher: ReturnType<CreateFetcher>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const where = `${req.headers.host}${req.url}`;
      if (where === 'alice.example/') {
        res.writeHead(301, { location: 'http://www.alice.example/' }).end();
      } else if (where === 'www.alice.example/') {
        res.writeHead(302, { location: '/home' }).end();
      } else if (where === 'www.alice.example/home') {
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          link: '<http://login.example/meta>; rel="indieauth-metadata"',
        });
        res.end(
          '<link rel="authorization_endpoint" href="/auth"><a rel="me" href="https://github.com/alice">GitHub</a>',
        );
      } else if (where === 'login.example/meta') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            issuer: 'http://login.example/',
            authorization_endpoint: 'http://login.example/auth',
          }),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const to = (host: string) => ({ host, address: '127.0.0.1', port });
    fetcher = (createFetcher as CreateFetcher)({
      connectTo: [to('alice.example'), to('www.alice.example'), to('login.example')],
      allowPrivateNetwork: [],
      userAgent: 'Latchkey-test',
      connectTimeoutMs: 1000,
      headersTimeoutMs: 1000,
      totalTimeoutMs: 2000,
    });
  });
  afterAll(async () => {
    await fetcher?.close?.();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('F3 and metadata precedence hold end to end', async () => {
    const d = await discoverSite('http://alice.example/', fetcher);
    expect(d.me).toBe('http://www.alice.example/');
    expect(d.finalUrl).toBe('http://www.alice.example/home');
    expect(d.redirects.map((hop) => [hop.status, hop.movedIdentity])).toEqual([
      [301, true],
      [302, false],
    ]);
    expect(d.authorizationEndpoint).toBe('http://login.example/auth');
    expect(d.endpointSources.authorizationEndpoint).toBe('metadata');
    expect(d.relMe.map((l) => l.url)).toEqual(['https://github.com/alice']);
  });

  it('a 404 page is a DiscoveryError', async () => {
    const error = await refusal(discoverSite('http://login.example/nobody', fetcher));
    expect(error.code).toBe('http_status');
  });
});
