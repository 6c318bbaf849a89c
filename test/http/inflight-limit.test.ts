/**
 * SECURITY R4: sign-in work per client address is bounded. Requests are held in flight on purpose
 * (a handler or fetcher that waits for a promise), so the counts are exact and nothing is timed.
 */
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { inflightLimit } from '../../src/http/inflight-limit.js';
import { silentLogger } from '../../src/log.js';
import { FetchError, type Fetcher } from '../../src/net/types.js';
import { type RunningServer, startServer } from '../../src/server.js';

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
  });
});
