/**
 * Real Chromium for page tests (Debian's /usr/bin/chromium driven by playwright-core; never a
 * downloaded browser). Without Chromium the browser suites skip locally; under CI=true they fail.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { type Browser, chromium, type Page, type Response } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const browserAvailable = existsSync(CHROMIUM_PATH);

if (!browserAvailable && process.env.CI === 'true') {
  throw new Error(`CI=true but Chromium is not at ${CHROMIUM_PATH}: the browser suites must run in CI.`);
}

/** Flags for a closed network and a root sandbox (see the machine notes). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `extraArgs` adds Chromium flags, e.g. `--host-resolver-rules=…` to reach made-up test hosts. */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...FLAGS, ...extraArgs],
    headless: true,
  });
  mkdirSync('test/artifacts', { recursive: true });
  writeFileSync('test/artifacts/browser-suite-ran', new Date().toISOString());
  return browser;
}

/** Where screenshots go; CI keeps test/artifacts/ (gitignored). */
export function screenshotPath(name: string): string {
  mkdirSync('test/artifacts/screenshots', { recursive: true });
  return `test/artifacts/screenshots/${name}.png`;
}

/** Runs `act` and resolves with the main frame's final (non-redirect) document response. */
export async function navigation(page: Page, act: () => Promise<unknown>): Promise<Response> {
  const final = page.waitForResponse(
    (r) =>
      r.request().isNavigationRequest() &&
      r.frame() === page.mainFrame() &&
      (r.status() < 300 || r.status() >= 400),
  );
  await act();
  const response = await final;
  await page.waitForLoadState('load');
  return response;
}

/** A button by its exact accessible name, as a person finds it. */
export const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });
