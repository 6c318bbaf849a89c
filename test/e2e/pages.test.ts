/**
 * Pages in a real browser: rendered without JavaScript, readable on a phone, keyboard-usable,
 * strict headers (SECURITY E1). Screenshots of every page go to test/artifacts/screenshots/.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.js';
import { axeContext, EVERY_LAYOUT, expectNoAxeViolations } from '../helpers/axe.js';
import { browserAvailable, launchBrowser, screenshotPath } from '../helpers/browser.js';
import { startTestServer } from '../helpers/server.js';

/** Browser-side expressions are strings: the server code is compiled without the DOM library. */
const FOCUSED_TEXT = 'document.activeElement?.textContent?.trim()';

describe.skipIf(!browserAvailable)('pages in Chromium', () => {
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
    const page = await context.newPage();
    const response = await page.goto(new URL(path, server.url).href);
    return { page, response, context };
  };

  it('E1: the home page renders without JavaScript, with strict headers and no third-party assets', async () => {
    const requests: string[] = [];
    const { page, response, context } = await open('/');
    page.on('request', (r) => requests.push(r.url()));
    await page.reload();
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy']).toContain("default-src 'none'");
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(await page.locator('h1').textContent()).toBe('Sign in with your own website');
    expect(await page.locator('script').count()).toBe(0);
    for (const url of requests) expect(new URL(url).origin).toBe(new URL(server.url).origin);
    // The stylesheet applied (CSP allows our own): the skip link is moved off-screen.
    const left = await page.evaluate<string>("getComputedStyle(document.querySelector('.skip')).left");
    expect(left).toBe('-999px');
    await page.screenshot({ path: screenshotPath('home-phone'), fullPage: true });
    await expectNoAxeViolations(page, 'home', { layouts: EVERY_LAYOUT });
    await context.close();
  });

  it('the home page is keyboard-usable: Tab reaches the skip link first, then the home link', async () => {
    const { page, context } = await open('/', { width: 1280, height: 800 });
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>(FOCUSED_TEXT)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>(FOCUSED_TEXT)).toBe('Latchkey');
    await page.screenshot({ path: screenshotPath('home-desktop'), fullPage: true });
    await context.close();
  });

  it('nothing overflows sideways on a phone', async () => {
    const { page, context } = await open('/');
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await context.close();
  });

  it('an unknown page is a plain-words 404 page for browsers', async () => {
    const { page, response, context } = await open('/no-such-page');
    expect(response?.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('Page not found');
    expect(await page.locator('main').textContent()).toContain('There is no page at /no-such-page.');
    await page.screenshot({ path: screenshotPath('not-found'), fullPage: true });
    await expectNoAxeViolations(page, '404 page', { layouts: EVERY_LAYOUT });
    await context.close();
  });
});
