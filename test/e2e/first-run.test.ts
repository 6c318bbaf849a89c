/**
 * First run, as a newcomer tries it: the README checks the server at http://127.0.0.1:3000/ while
 * the issuer is http://localhost:3000/. Pages opened on the other name move to the issuer's host
 * first, so the demo works from either address; OAuth endpoints and JSON answers are never moved.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.js';
import { axeContext, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, launchBrowser, screenshotPath } from '../helpers/browser.js';
import { freePort, startTestServer } from '../helpers/server.js';

let server: RunningServer;
let port: number;

beforeAll(async () => {
  port = await freePort();
  server = await startTestServer({ port, publicUrl: `http://localhost:${port}/` });
});
afterAll(async () => {
  await server?.close();
});

const at = (path: string) => `http://127.0.0.1:${port}${path}`;

describe('first run: pages reached on another host name', () => {
  it('first run: GET pages redirect to the issuer host, keeping path and query', async () => {
    for (const path of [
      '/',
      '/docs',
      '/setup?x=1',
      '/faq',
      '/privacy',
      '/demo/start?me=alice.example',
      '/account',
    ]) {
      const res = await fetch(at(path), { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(res.status, path).toBe(302);
      expect(res.headers.get('location')).toBe(`http://localhost:${port}${path}`);
    }
  });

  it('first run: OAuth endpoints, health, JSON answers and proxied requests are never moved', async () => {
    const health = await fetch(at('/health'), { redirect: 'manual' });
    expect(health.status).toBe(200);
    const authorize = await fetch(at('/authorize?client_id=x'), {
      redirect: 'manual',
      headers: { accept: 'text/html' },
    });
    expect(authorize.status).toBe(400);
    const metadata = await fetch(at('/.well-known/oauth-authorization-server'), { redirect: 'manual' });
    expect(metadata.status).toBe(200);
    const clientDocument = await fetch(at('/'), {
      redirect: 'manual',
      headers: { accept: 'application/json' },
    });
    expect(clientDocument.status).toBe(200);
    // A proxy that rewrote Host without X-Forwarded-Host: the public host is unknown, so no loop.
    const proxied = await fetch(at('/docs'), {
      redirect: 'manual',
      headers: { 'x-forwarded-for': '198.51.100.1' },
    });
    expect(proxied.status).toBe(200);
    const named = await fetch(at('/docs'), {
      redirect: 'manual',
      headers: { 'x-forwarded-host': `localhost:${port}`, 'x-forwarded-for': '198.51.100.1' },
    });
    expect(named.status).toBe(200);
    const post = await fetch(at('/signout'), { method: 'POST', redirect: 'manual' });
    expect(post.status).not.toBe(302);
  });

  describe.skipIf(!browserAvailable)('in Chromium', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('first run: the demo button works when the home page is opened at 127.0.0.1', async () => {
      const context = await axeContext(browser, { javaScriptEnabled: false });
      const page = await context.newPage();
      await page.goto(at('/'));
      expect(new URL(page.url()).host).toBe(`localhost:${port}`);
      await page.getByLabel('Your web address').fill('alice.example');
      await Promise.all([
        page.waitForURL(/\/authorize\?/),
        page.getByRole('button', { name: 'Sign in to the demo' }).click(),
      ]);
      const url = new URL(page.url());
      expect(url.host).toBe(`localhost:${port}`);
      expect(url.searchParams.get('client_id')).toBe(`http://localhost:${port}/`);
      await page.screenshot({ path: screenshotPath('first-run-demo-from-127'), fullPage: true });
      await expectNoAxeViolations(page, 'demo sign-in form (unreachable alice.example)');
      await context.close();
    }, 60_000);
  });
});
