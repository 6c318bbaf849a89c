/**
 * axe-core in the browser suites (issue 10 item 6): every page and state a person can see must
 * have 0 violations. `@axe-core/playwright` needs Node 22, so axe-core's own script is evaluated in
 * the page. The pages' CSP (`script-src 'self'`, see src/http/middleware.ts) would refuse an injected
 * script tag, so contexts that run axe are made with `bypassCSP: true` ({@link axeContext}); the
 * script is evaluated through the DevTools protocol, which also works with JavaScript off (see
 * RUN_WITH_VIRTUAL_TIMERS for how axe.run finishes there).
 *
 * Rule set: WCAG 2.0, 2.1 and 2.2 A and AA plus axe's best-practice rules (landmarks, one main,
 * heading order, region, …), the stricter choice. No rule is disabled; a true false positive may be
 * excluded for one element only, through `exclude`, with a comment where it is used.
 *
 * Each check is recorded in test/artifacts/axe-report.json (per test file, rewritten under a lock as
 * test files run in parallel workers), so the count of page states checked can be read from it.
 */
import { mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { expect } from 'vitest';

const require = createRequire(import.meta.url);
const AXE_DIR = dirname(require.resolve('axe-core'));
const AXE_SOURCE = readFileSync(join(AXE_DIR, 'axe.min.js'), 'utf8');
const AXE_VERSION = (JSON.parse(readFileSync(join(AXE_DIR, 'package.json'), 'utf8')) as { version: string })
  .version;

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] as const;

const REPORT = 'test/artifacts/axe-report.json';
const LOCK = 'test/artifacts/axe-report.lock';

/** A width and colour scheme to check a page at. */
export interface AxeLayout {
  name: string;
  width: number;
  height: number;
  colorScheme: 'light' | 'dark';
}

export const PHONE: AxeLayout = { name: 'phone', width: 375, height: 812, colorScheme: 'light' };
export const DESKTOP: AxeLayout = { name: 'desktop', width: 1280, height: 800, colorScheme: 'light' };
export const PHONE_DARK: AxeLayout = { name: 'phone-dark', width: 375, height: 812, colorScheme: 'dark' };
/** For the main pages: phone and desktop width (target-size, reflow), and the dark scheme (contrast). */
export const EVERY_LAYOUT: readonly AxeLayout[] = [PHONE, DESKTOP, PHONE_DARK];

/** A browser context axe can run in: the given options plus `bypassCSP`. */
export function axeContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  return browser.newContext({ ...options, bypassCSP: true });
}

interface AxeNode {
  target: unknown[];
  html: string;
  failureSummary?: string;
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  helpUrl: string;
  nodes: AxeNode[];
}
interface AxeResults {
  violations: AxeViolation[];
  passes: unknown[];
  incomplete: Array<{ id: string; nodes: Array<AxeNode & { any?: Array<{ message: string }> }> }>;
}

interface CheckRecord {
  test: string;
  label: string;
  url: string;
  layout: string;
  width: number;
  colorScheme: string;
  violations: number;
  rules: string[];
  passes: number;
  /** Rules axe could not decide ("needs review"): not violations, listed for a person to look at. */
  incomplete: Array<{ id: string; target: string; why: string }>;
}

export interface AxeOptions {
  /** Layouts to check in turn (the page's viewport is restored afterwards); default: as it is. */
  layouts?: readonly AxeLayout[];
  /**
   * CSS selectors of single elements left out, each a documented true false positive. Use sparingly.
   */
  exclude?: readonly string[];
  /** False for the check's own self-test on a deliberately broken page: left out of the report. */
  record?: boolean;
}

const checks: CheckRecord[] = [];

function describeViolations(label: string, layout: string, url: string, violations: AxeViolation[]): string {
  const lines = [
    `axe-core ${AXE_VERSION}: ${violations.length} violation(s) on "${label}" (${layout}) ${url}`,
  ];
  for (const v of violations) {
    lines.push(`  • ${v.id} [${v.impact ?? 'n/a'}] ${v.help} — ${v.helpUrl}`);
    for (const node of v.nodes) {
      lines.push(`      at ${node.target.map(String).join(' ')}`);
      lines.push(`         ${node.html.replace(/\s+/g, ' ').slice(0, 200)}`);
      if (node.failureSummary)
        for (const summary of node.failureSummary.split('\n').slice(1, 3))
          lines.push(`         ${summary.trim()}`);
    }
  }
  return lines.join('\n');
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Rewrites this test file's entry in the shared report, under a directory lock. */
function record(testFile: string): void {
  mkdirSync('test/artifacts', { recursive: true });
  for (let tries = 0; ; tries++) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another worker holds the lock; a lock left by a killed run is broken after ~5 s.
      if (tries > 500) {
        rmdirSync(LOCK);
        tries = 0;
      }
      sleep(10);
    }
  }
  try {
    let report: { files?: Record<string, { checkedAt: string; states: CheckRecord[] }> } = {};
    try {
      report = JSON.parse(readFileSync(REPORT, 'utf8'));
    } catch {
      report = {};
    }
    const files = { ...(report.files ?? {}) };
    files[testFile] = { checkedAt: new Date().toISOString(), states: checks };
    const all = Object.values(files).flatMap((file) => file.states);
    const next = {
      axeCore: AXE_VERSION,
      tags: AXE_TAGS,
      pageStates: new Set(all.map((c) => `${c.test} › ${c.label}`)).size,
      checks: all.length,
      failing: all.filter((c) => c.violations > 0).length,
      files,
    };
    writeFileSync(`${REPORT}.tmp-${process.pid}`, `${JSON.stringify(next, null, 2)}\n`);
    renameSync(`${REPORT}.tmp-${process.pid}`, REPORT);
  } finally {
    rmdirSync(LOCK);
  }
}

/**
 * True when the page runs scripts: an inline script (allowed by `bypassCSP`) runs synchronously on
 * insertion when scripting is on, and not at all when the context has JavaScript off.
 */
const SCRIPTS_RUN = `(() => {
  const probe = document.createElement('script');
  probe.textContent = 'window.__axeScriptsRun = true';
  window.__axeScriptsRun = false;
  document.head.append(probe);
  probe.remove();
  return window.__axeScriptsRun;
})()`;

/**
 * With JavaScript off, timers never fire (microtasks still run), and axe.run settles each rule through
 * `setTimeout(…, 0)`. So for the run the page gets virtual timers: each is run in due order once no
 * microtask is left, inside the same evaluation, and the real ones are put back afterwards. Nothing
 * waits on the wall clock, so the check cannot depend on speed.
 */
const RUN_WITH_VIRTUAL_TIMERS = (call: string) => `(async () => {
  const real = { setTimeout: window.setTimeout, clearTimeout: window.clearTimeout };
  const timers = [];
  let seq = 0;
  let now = 0;
  window.setTimeout = (fn, ms = 0, ...args) => {
    seq += 1;
    timers.push({ id: seq, due: now + (Number(ms) || 0), fn, args });
    return seq;
  };
  window.clearTimeout = (id) => {
    const at = timers.findIndex((timer) => timer.id === id);
    if (at >= 0) timers.splice(at, 1);
  };
  let outcome;
  ${call}.then((results) => { outcome = { results }; }, (error) => { outcome = { error: String(error) }; });
  try {
    for (let turn = 0; turn < 100000 && !outcome; turn++) {
      for (let drain = 0; drain < 50 && !outcome; drain++) await null;
      if (outcome || timers.length === 0) continue;
      timers.sort((a, b) => a.due - b.due || a.id - b.id);
      const next = timers.shift();
      now = next.due;
      if (typeof next.fn === 'function') next.fn(...next.args);
    }
  } finally {
    window.setTimeout = real.setTimeout;
    window.clearTimeout = real.clearTimeout;
  }
  if (!outcome) throw new Error('axe.run did not finish');
  if (outcome.error) throw new Error(outcome.error);
  return outcome.results;
})()`;

/** Evaluates axe-core in the page (once per document) and runs it. */
async function runAxe(page: Page, exclude: readonly string[]): Promise<AxeResults> {
  const loaded = await page.evaluate<boolean>("typeof window.axe === 'object'");
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const context =
    exclude.length > 0
      ? JSON.stringify({ include: [['html']], exclude: exclude.map((s) => [s]) })
      : 'document';
  const options = JSON.stringify({ runOnly: { type: 'tag', values: AXE_TAGS }, resultTypes: ['violations'] });
  const call = `axe.run(${context}, ${options})`;
  const scriptsRun = await page.evaluate<boolean>(SCRIPTS_RUN);
  return page.evaluate<AxeResults>(scriptsRun ? call : RUN_WITH_VIRTUAL_TIMERS(call));
}

/**
 * Runs axe-core on the page as shown and fails with each violation's rule, impact, help, target
 * selectors and HTML. With `layouts`, checks each in turn and then restores the viewport.
 */
export async function expectNoAxeViolations(
  page: Page,
  label: string,
  options: AxeOptions = {},
): Promise<void> {
  const state = expect.getState();
  const testFile = relative(process.cwd(), state.testPath ?? 'unknown');
  const test = state.currentTestName ?? 'unknown';
  const original = page.viewportSize();
  const layouts = options.layouts ?? [
    {
      name: original ? `${original.width}px` : 'default',
      width: original?.width ?? 0,
      height: original?.height ?? 0,
      colorScheme: 'light' as const,
    },
  ];
  const failures: string[] = [];
  try {
    for (const layout of layouts) {
      if (options.layouts) {
        await page.setViewportSize({ width: layout.width, height: layout.height });
        await page.emulateMedia({ colorScheme: layout.colorScheme });
      }
      const results = await runAxe(page, options.exclude ?? []);
      if (options.record !== false)
        checks.push({
          test,
          label,
          url: page.url(),
          layout: layout.name,
          width: layout.width,
          colorScheme: layout.colorScheme,
          violations: results.violations.length,
          rules: results.violations.map((v) => v.id),
          passes: results.passes.length,
          incomplete: results.incomplete.map((i) => ({
            id: i.id,
            target: i.nodes[0]?.target.map(String).join(' ') ?? '',
            why: i.nodes[0]?.any?.[0]?.message ?? '',
          })),
        });
      if (results.violations.length > 0)
        failures.push(describeViolations(label, layout.name, page.url(), results.violations));
    }
  } finally {
    if (options.record !== false) record(testFile);
    if (options.layouts) {
      if (original) await page.setViewportSize(original);
      await page.emulateMedia({ colorScheme: 'light' });
    }
  }
  if (failures.length > 0) throw new Error(failures.join('\n\n'));
}
