/**
 * Pages for people. Every page gets a strict CSP (own stylesheet, https images only, no scripts,
 * no framing — SECURITY E1, E7) and the doctype; rendering is the views' job.
 */
import type { Context, Hono } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';
import type { Services } from '../services.js';
import { STYLESHEET } from '../views/latchkey.css.js';
import { ErrorPage, type ErrorPageProps } from '../views/pages/error.js';
import { HomePage } from '../views/pages/home.js';

export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function renderPage(c: Context, page: JSX.Element, status: 200 | 400 | 404 | 500 = 200): Response {
  c.header('Content-Security-Policy', PAGE_CSP);
  c.header('Cache-Control', 'no-store');
  return c.html(`<!doctype html>${page.toString()}`, status);
}

export function renderError(c: Context, props: ErrorPageProps, status: 400 | 404 | 500): Response {
  return renderPage(c, ErrorPage(props), status);
}

/** True when the client asked for a page rather than JSON (browsers send text/html first). */
export function wantsHtml(c: Context): boolean {
  return /^\s*text\/html/i.test(c.req.header('accept') ?? '');
}

export function pageRoutes(app: Hono, services: Services): void {
  app.get('/', (c) => renderPage(c, HomePage({ issuer: services.config.publicUrl })));
  app.get('/assets/latchkey.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });
}
