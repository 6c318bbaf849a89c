/**
 * Pages for people. Every page gets a strict CSP (own stylesheet, https images only, no scripts,
 * no framing — SECURITY E1, E7) and the doctype; rendering is the views' job.
 */
import type { Context, Hono } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';
import type { Services } from '../services.js';
import { STYLESHEET } from '../views/latchkey.css.js';
import { FAVICON_PATH, FAVICON_SVG } from '../views/logo.js';
import { ErrorPage, type ErrorPageProps } from '../views/pages/error.js';
import { HomePage } from '../views/pages/home.js';
import { clientMetadata, wantsClientDocument } from './demo.js';
import { PASSKEY_SCRIPT_PATH, passkeyScript } from './passkey-script.js';

export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export type PageStatus = 200 | 400 | 403 | 404 | 429 | 500 | 502;

/**
 * Renders a page. `formTargets` widens CSP `form-action` for pages whose forms end in a redirect to
 * another origin (the client's redirect_uri, the person's IndieAuth server): browsers apply
 * form-action to the redirects that follow a form post, too.
 */
export function renderPage(
  c: Context,
  page: JSX.Element,
  status: PageStatus = 200,
  formTargets: readonly string[] = [],
  script = false,
): Response {
  const csp =
    formTargets.length === 0
      ? PAGE_CSP
      : PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${formTargets.join(' ')}`);
  // Only passkey pages run a script, and only Latchkey's own (PASSKEY_SCRIPT_PATH).
  c.header('Content-Security-Policy', script ? `${csp}; script-src 'self'` : csp);
  c.header('Cache-Control', 'no-store');
  return c.html(`<!doctype html>${page.toString()}`, status);
}

export function renderError(c: Context, props: ErrorPageProps, status: PageStatus): Response {
  return renderPage(c, ErrorPage(props), status);
}

/** True when the client asked for a page rather than JSON (browsers send text/html first). */
export function wantsHtml(c: Context): boolean {
  return /^\s*text\/html/i.test(c.req.header('accept') ?? '');
}

export function pageRoutes(app: Hono, services: Services): void {
  app.get('/', (c) => {
    c.header('Vary', 'Accept');
    if (wantsClientDocument(c)) {
      c.header('Cache-Control', 'public, max-age=3600');
      return c.json(clientMetadata(services.config.publicUrl));
    }
    return renderPage(c, HomePage({ issuer: services.config.publicUrl }));
  });
  app.get(PASSKEY_SCRIPT_PATH, (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(passkeyScript(), 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });
  // The icon: pages link the content-addressed path (kept a year); browsers also ask for the
  // well-known names by themselves, which answer the same SVG for a day (.ico included: browsers
  // go by Content-Type, not the extension).
  app.get(FAVICON_PATH, (c) => {
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    return c.body(FAVICON_SVG, 200, { 'Content-Type': 'image/svg+xml' });
  });
  for (const path of ['/favicon.svg', '/favicon.ico']) {
    app.get(path, (c) => {
      c.header('Cache-Control', 'public, max-age=86400');
      return c.body(FAVICON_SVG, 200, { 'Content-Type': 'image/svg+xml' });
    });
  }
  app.get('/assets/latchkey.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });
}
