/**
 * The information pages in a real browser without JavaScript: each renders with one h1 and no
 * script, fits a 390 px phone screen, labels every input, and is keyboard-usable. Screenshots go to
 * test/artifacts/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.js';
import { axeContext, EVERY_LAYOUT, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, launchBrowser, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';

const PAGES = [
  { path: '/docs', name: 'docs', h1: 'Sign people in with Latchkey' },
  { path: '/setup', name: 'setup', h1: 'Set up your site' },
  { path: '/faq', name: 'faq', h1: 'Questions and answers' },
  { path: '/privacy', name: 'privacy', h1: 'Privacy' },
];

/** Visible inputs (and textareas, selects) that no <label> names. Browser-side code is a string. */
const UNLABELLED = `[...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.name || el.id)`;

/** Elements wider than the viewport, other than scrolling <pre> blocks and their contents. */
const OVERFLOWING = `[...document.querySelectorAll('body *')]
  .filter((el) => !el.closest('pre') && el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .map((el) => el.tagName + (el.id ? '#' + el.id : '') + ' ' + (el.textContent || '').slice(0, 40))`;

const FOCUSED = 'document.activeElement?.id || document.activeElement?.textContent?.trim()';

describe.skipIf(!browserAvailable)('information pages in Chromium', () => {
  let browser: Browser;
  let server: RunningServer;

  beforeAll(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const open = async (path: string, viewport = { width: 390, height: 844 }) => {
    const context = await axeContext(browser, { javaScriptEnabled: false, viewport });
    const page: Page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const response = await page.goto(new URL(path, server.url).href);
    return { page, response, context, requests };
  };

  it.each(PAGES)(
    '$path renders on a phone: one h1, no script, labelled inputs, no sideways overflow',
    async ({ path, name, h1 }) => {
      const { page, response, context, requests } = await open(path);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
      expect(await page.locator('h1').count()).toBe(1);
      expect(await page.locator('h1').textContent()).toBe(h1);
      expect(await page.locator('script').count()).toBe(0);
      for (const url of requests) expect(new URL(url).origin).toBe(new URL(server.url).origin);
      expect(await page.evaluate<string[]>(UNLABELLED)).toEqual([]);
      expect(await page.evaluate<string[]>(OVERFLOWING)).toEqual([]);
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      // The footer links to every information page.
      for (const { path: other } of PAGES)
        expect(await page.locator(`footer a[href="${other}"]`).count()).toBe(1);
      await page.screenshot({ path: screenshotPath(name), fullPage: true });
      await expectNoAxeViolations(page, name, { layouts: EVERY_LAYOUT });
      await context.close();
    },
  );

  it('long code samples on /docs wrap inside their <pre> instead of widening the page', async () => {
    const { page, context } = await open('/docs');
    // The samples really are longer than a phone is wide (a form body of over 200 characters)…
    const longest = await page.evaluate<number>(
      "Math.max(...[...document.querySelectorAll('pre')].flatMap((pre) => pre.textContent.split('\\n').map((line) => line.length)))",
    );
    expect(longest).toBeGreaterThan(100);
    // …and wrap where they are, so none is wider than its box and the page does not scroll sideways.
    const widest = await page.evaluate<number>(
      "Math.max(...[...document.querySelectorAll('pre')].map((pre) => pre.scrollWidth - pre.clientWidth))",
    );
    expect(widest).toBeLessThanOrEqual(0);
    expect(
      await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);
    const style = await page.evaluate<string>(
      "(({ whiteSpace, overflowX }) => whiteSpace + ' ' + overflowX)(getComputedStyle(document.querySelector('pre')))",
    );
    expect(style).toBe('pre-wrap auto'); // wrapped, and still scrollable should anything not wrap
    await context.close();
  });

  it('the /docs demo form works from the keyboard and sends a PKCE request to /authorize', async () => {
    const { page, context } = await open('/docs', { width: 1280, height: 800 });
    const field = page.locator('#demo-me');
    await field.focus();
    expect(await page.evaluate<string>(FOCUSED)).toBe('demo-me');
    await page.keyboard.type('https://alice.example/');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>(FOCUSED)).toBe('Sign in');
    const [request] = await Promise.all([
      page.waitForRequest((r) => new URL(r.url()).pathname === '/authorize'),
      page.keyboard.press('Enter'),
    ]);
    const sent = new URL(request.url()).searchParams;
    expect(request.method()).toBe('GET');
    expect(sent.get('me')).toBe('https://alice.example/');
    expect(sent.get('client_id')).toBe(server.services.config.publicUrl);
    expect(sent.get('redirect_uri')).toBe(`${server.services.config.publicUrl}demo/callback`);
    expect(sent.get('code_challenge')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(sent.get('code_challenge_method')).toBe('S256');
    expect(sent.get('response_type')).toBe('code');
    expect(sent.get('state')).toBeTruthy();
    await page.screenshot({ path: screenshotPath('docs-desktop'), fullPage: true });
    await context.close();
  });

  it('/setup anchors are reachable, as error pages link to them', async () => {
    const { page, context } = await open('/setup#email');
    for (const id of ['indieauth', 'email', 'pgp', 'authn', 'latchkey-as-server', 'token-endpoint']) {
      expect(await page.locator(`#${id}`).count()).toBe(1);
    }
    const top = await page.evaluate<number>("document.getElementById('email').getBoundingClientRect().top");
    expect(Math.abs(top)).toBeLessThan(50);
    await context.close();
  });
});
