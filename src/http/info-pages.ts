/**
 * The information pages for people and developers: developer docs, setup per sign-in method, FAQ and
 * privacy. Static apart from the issuer and the configured lifetimes, which the views are given.
 */
import type { Hono } from 'hono';
import type { Services } from '../services.js';
import { DocsPage } from '../views/pages/docs.js';
import { FaqPage } from '../views/pages/faq.js';
import { PrivacyPage } from '../views/pages/privacy.js';
import { SetupPage } from '../views/pages/setup.js';
import { renderPage } from './pages.js';

const UNITS: [seconds: number, one: string, many: string][] = [
  [86400, 'day', 'days'],
  [3600, 'hour', 'hours'],
  [60, 'minute', 'minutes'],
];

/**
 * A lifetime in words, in the largest unit that divides it: 604800 → "7 days", 600 → "10 minutes".
 * One minute stays "60 seconds", as people say it of short-lived codes.
 */
export function formatDuration(seconds: number): string {
  for (const [size, one, many] of UNITS) {
    if (seconds % size !== 0 || seconds === 60) continue;
    const n = seconds / size;
    return `${n} ${n === 1 ? one : many}`;
  }
  return `${seconds} ${seconds === 1 ? 'second' : 'seconds'}`;
}

export function infoPageRoutes(app: Hono, services: Services): void {
  const { config } = services;
  const issuer = config.publicUrl;
  const refreshTokens = services.refreshTokens !== undefined;
  const codeLifetime = formatDuration(config.codeTtl);

  // What is offered can change while running (an operator adds a GitLab instance), so per request.
  app.get('/docs', async (c) =>
    renderPage(
      c,
      DocsPage({
        issuer,
        codeLifetime,
        tokenTtl: config.tokenTtl,
        refreshTokens,
        offered: await services.signIn.offeredMethods(),
      }),
    ),
  );
  app.get('/setup', async (c) => {
    const offered = await services.signIn.offeredMethods();
    const providers = offered.flatMap((method) => (method.setup ? [method.setup] : []));
    return renderPage(c, SetupPage({ issuer, providers }));
  });
  app.get('/faq', (c) =>
    renderPage(
      c,
      FaqPage({
        codeLifetime,
        tokenLifetime: formatDuration(config.tokenTtl),
        refreshTokenLifetime: refreshTokens ? formatDuration(config.refreshTokenTtl) : undefined,
      }),
    ),
  );
  app.get('/privacy', (c) => renderPage(c, PrivacyPage()));
}
