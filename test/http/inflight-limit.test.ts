/**
 * SECURITY R4: sign-in work per client address is bounded. Requests are held in flight on purpose
 * (a handler or fetcher that waits for a promise), so the counts are exact and nothing is timed.
 */
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { DEFAULT_EXCHANGE_INFLIGHT, inflightLimit } from '../../src/http/inflight-limit.js';
import { silentLogger } from '../../src/log.js';
import { FetchError, type Fetcher } from '../../src/net/types.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { addTrustedEndpoint } from '../../src/store/trusted-endpoints.js';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

describe('in-flight limit (SECURITY R4)', () => {
  it('R4: the 5th concurrent request from one address is a 429 page; another address and later requests pass', async () => {
    const release = gate();
    let entered = 0;
    const limit = inflightLimit({ max: 4, clientIp: (c) => c.req.header('x-test-ip') ?? 'none' });
    const app = new Hono();
    app.use('/work', limit.middleware);
    app.get('/work', async (c) => {
      entered++;
      await release.opened;
      return c.text('done');
    });
    const from = (ip: string) => app.request('/work', { headers: { 'x-test-ip': ip, accept: 'text/html' } });

    const first = Array.from({ length: 4 }, () => from('203.0.113.1'));
    await expect.poll(() => entered).toBe(4);
    expect(limit.inFlight('203.0.113.1')).toBe(4);

    const fifth = await from('203.0.113.1');
    expect(fifth.status).toBe(429);
    expect(await fifth.text()).toContain(
      'Too many sign-ins at once from your address; wait for the others to finish.',
    );
    expect(entered).toBe(4);

    const other = from('203.0.113.2');
    await expect.poll(() => entered).toBe(5);

    release.open();
    expect((await Promise.all([...first, other])).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(limit.inFlight('203.0.113.1')).toBe(0);
    expect((await from('203.0.113.1')).status).toBe(200);
  });

  it('R4: a failing handler still frees its slot', async () => {
    const limit = inflightLimit({ max: 1, clientIp: () => 'same' });
    const app = new Hono();
    app.use('/boom', limit.middleware);
    app.get('/boom', () => {
      throw new Error('boom');
    });
    app.onError((_error, c) => c.text('failed', 500));
    expect((await app.request('/boom')).status).toBe(500);
    expect((await app.request('/boom')).status).toBe(500);
    expect(limit.inFlight('same')).toBe(0);
  });

  describe('wired on the sign-in routes of a started server', () => {
    let server: RunningServer | undefined;
    afterEach(async () => {
      await server?.close();
    });

    it('R4: GET /authorize — four sign-ins fetching at once from one address, the fifth refused, another address served (X-Forwarded-For from a trusted proxy)', async () => {
      const release = gate();
      let fetches = 0;
      const fetcher: Fetcher = async (url) => {
        fetches++;
        await release.opened;
        throw new FetchError('network', 'the connection was refused', url);
      };
      server = await startServer(testConfig({ host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.1'] }), {
        logger: silentLogger(),
        fetcher,
      });
      const base = server.url;
      /** A sign-in start with its own client_id, so the client document fetches are not coalesced. */
      const start = (n: number, ip: string) => {
        const clientId = `https://app.example/${n}/`;
        const query = new URLSearchParams({
          response_type: 'code',
          client_id: clientId,
          redirect_uri: `${clientId}callback`,
          state: `s${n}`,
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        });
        return fetch(`${base}authorize?${query}`, {
          redirect: 'manual',
          headers: { accept: 'text/html', 'x-forwarded-for': ip },
        });
      };

      const first = [1, 2, 3, 4].map((n) => start(n, '198.51.100.7'));
      await expect.poll(() => fetches, { timeout: 30_000 }).toBe(4);
      const fifth = await start(5, '198.51.100.7');
      expect(fifth.status).toBe(429);
      expect(await fifth.text()).toContain('Too many sign-ins at once from your address');
      const other = start(6, '198.51.100.8');
      await expect.poll(() => fetches, { timeout: 30_000 }).toBe(5);

      release.open();
      const statuses = (await Promise.all([...first, other])).map((r) => r.status);
      expect(statuses.filter((status) => status === 429)).toEqual([]);
    }, 60_000);

    /** A Mintoken-mode exchange of a code this server never issued, for the site `me`. */
    const exchange = (base: string, me: string, ip: string) =>
      fetch(`${base}token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: 'someone-elses-code',
          client_id: 'https://app.example/',
          redirect_uri: 'https://app.example/callback',
          me,
        }),
      });

    it(`R4: POST /token — ${DEFAULT_EXCHANGE_INFLIGHT} Mintoken exchanges discovering at once from one address, the next refused (429 JSON), another address served`, async () => {
      const release = gate();
      const fetched: string[] = [];
      const fetcher: Fetcher = async (url) => {
        fetched.push(String(url));
        await release.opened;
        throw new FetchError('network', 'the connection was refused', url);
      };
      server = await startServer(testConfig({ host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.1'] }), {
        logger: silentLogger(),
        fetcher,
      });
      await addTrustedEndpoint(server.services.store.db, 'https://selfauth.example/auth');
      const base = server.url;
      const site = (n: number) => `https://site${n}.example/`;

      const first = Array.from({ length: DEFAULT_EXCHANGE_INFLIGHT }, (_, n) =>
        exchange(base, site(n), '198.51.100.7'),
      );
      await expect.poll(() => fetched.length, { timeout: 30_000 }).toBe(DEFAULT_EXCHANGE_INFLIGHT);
      const refused = await exchange(base, site(100), '198.51.100.7');
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toEqual({
        error: 'temporarily_unavailable',
        error_description:
          'Too many code exchanges at once from your address; wait for the others to finish, then try again.',
      });
      expect(fetched).not.toContain(site(100));
      const other = exchange(base, site(200), '198.51.100.8');
      await expect.poll(() => fetched.length, { timeout: 30_000 }).toBe(DEFAULT_EXCHANGE_INFLIGHT + 1);

      release.open();
      const statuses = (await Promise.all([...first, other])).map((r) => r.status);
      expect(statuses).toEqual(Array(DEFAULT_EXCHANGE_INFLIGHT + 1).fill(400));
      // The places are given back: the address may exchange again.
      expect((await exchange(base, site(300), '198.51.100.7')).status).toBe(400);
      expect(fetched).toContain(site(300));
    }, 60_000);

    it('R4: POST /token — with no authorization endpoint trusted, an outside code is refused before anything is fetched', async () => {
      const fetched: string[] = [];
      const fetcher: Fetcher = async (url) => {
        fetched.push(String(url));
        throw new FetchError('network', 'the connection was refused', url);
      };
      server = await startServer(testConfig({ host: '127.0.0.1', port: 0 }), {
        logger: silentLogger(),
        fetcher,
      });
      const res = await exchange(server.url, 'https://slow-and-huge.example/', '198.51.100.9');
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; error_description: string };
      expect(body.error).toBe('invalid_grant');
      expect(body.error_description).toContain('accepts no codes from other authorization endpoints');
      expect(fetched).toEqual([]);
    });
  });
});
