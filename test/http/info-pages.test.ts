/**
 * The information pages in-process: docs, setup, FAQ and privacy are strict-CSP HTML, every URL they
 * show comes from the configured issuer, and the docs' demo form carries a correct S256 pair.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/http/info-pages.js';
import { PAGE_CSP } from '../../src/http/pages.js';
import { DEMO_CODE_CHALLENGE, DEMO_CODE_VERIFIER } from '../../src/views/pages/docs.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { storeTargets } from '../helpers/stores.js';

const ISSUER = 'https://login.test/';
const PAGES = ['/docs', '/setup', '/faq', '/privacy'];

/** The attributes of every element `tag` in `html`, as name → value maps (enough for our own markup). */
function elements(html: string, tag: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  for (const match of html.matchAll(new RegExp(`<${tag}\\b([^>]*)>`, 'gi'))) {
    const attributes: Record<string, string> = {};
    for (const attr of (match[1] ?? '').matchAll(/([a-z_:-]+)(?:="([^"]*)")?/gi)) {
      attributes[(attr[1] ?? '').toLowerCase()] = attr[2] ?? '';
    }
    found.push(attributes);
  }
  return found;
}

/** The demo form on /docs: from `<form … class="demo">` to its `</form>`. */
function demoForm(html: string): string {
  const start = html.indexOf('<form method="get" action="/authorize"');
  expect(start).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</form>', start) + '</form>'.length);
}

/** The text of the page with HTML entities decoded, so code samples read as they are shown. */
function decode(html: string): string {
  return html
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

const sqlite = storeTargets.find((target) => target.name === 'sqlite') ?? storeTargets[0];

describe('information pages', () => {
  let t: TestApp;
  beforeAll(async () => {
    if (!sqlite) throw new Error('no store target');
    t = await createTestApp(sqlite);
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = async (path: string) => {
    const res = await t.app.request(path, { headers: { accept: 'text/html' } });
    const html = await res.text();
    return { res, html, text: decode(html) };
  };

  it.each(PAGES)('%s is a strict-CSP HTML page with one h1, no script, and the footer nav', async (path) => {
    const { res, html } = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<h1\b/g)).toHaveLength(1);
    expect(html).not.toMatch(/<script\b/i);
    for (const href of ['/docs', '/setup', '/faq', '/privacy']) expect(html).toContain(`href="${href}"`);
    // Nothing points at localhost or another deployment's host.
    expect(html).not.toMatch(/localhost|127\.0\.0\.1/);
  });

  it('the docs show this server’s endpoints, built from the issuer', async () => {
    const { html, text } = await get('/docs');
    expect(text).toContain(`<form action="${ISSUER}authorize" method="get">`);
    for (const url of [
      'token',
      'auth',
      'introspect',
      'revoke',
      'userinfo',
      '.well-known/oauth-authorization-server',
    ]) {
      expect(html).toContain(`${ISSUER}${url}`);
    }
    expect(html).toContain('POST /token HTTP/1.1\nHost: login.test');
    expect(html).toContain('POST /auth HTTP/1.1\nHost: login.test');
    expect(html).toContain('The code provided was not valid');
    expect(html).toContain('latchkey resource-server add NAME');
    // The default access-token lifetime is the example's expires_in.
    expect(text).toContain('"expires_in": 604800');
  });

  it('the docs demo form goes to /authorize with the issuer as client and a correct S256 pair', async () => {
    const { html } = await get('/docs');
    const form = demoForm(html);
    const inputs = elements(form, 'input');
    const value = (name: string) => inputs.find((input) => input.name === name)?.value;
    expect(value('client_id')).toBe(ISSUER);
    expect(value('redirect_uri')).toBe(`${ISSUER}demo/callback`);
    expect(value('code_challenge_method')).toBe('S256');
    expect(value('response_type')).toBe('code');
    expect(value('state')).toBeTruthy();
    // RFC 7636 Appendix B, recomputed here rather than trusted.
    const challenge = createHash('sha256').update(DEMO_CODE_VERIFIER).digest('base64url');
    expect(challenge).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(value('code_challenge')).toBe(challenge);
    expect(DEMO_CODE_CHALLENGE).toBe(challenge);
    // The verifier the page tells people to send is the one that matches.
    expect(html).toContain(`<code>${DEMO_CODE_VERIFIER}</code>`);
    // The visible field is labelled.
    const me = inputs.find((input) => input.name === 'me');
    expect(me?.id).toBeTruthy();
    expect(form).toContain(`<label for="${me?.id}">`);
  });

  it('the setup page has the anchors error pages link to, with issuer-built snippets', async () => {
    const { html, text } = await get('/setup');
    for (const id of ['indieauth', 'email', 'pgp', 'authn', 'latchkey-as-server', 'token-endpoint']) {
      expect(html).toContain(`id="${id}"`);
      expect(html).toContain(`href="#${id}"`);
    }
    expect(text).toContain(
      `<link rel="indieauth-metadata" href="${ISSUER}.well-known/oauth-authorization-server">`,
    );
    expect(text).toContain(`<link rel="authorization_endpoint" href="${ISSUER}authorize">`);
    expect(text).toContain(`<link rel="token_endpoint" href="${ISSUER}token">`);
    expect(html).toContain('gpg --clearsign challenge.txt');
    expect(html).toContain('latchkey trust add');
    expect(html).toContain('latchkey doctor https://your.site/');
  });

  it('the FAQ states the configured lifetimes', async () => {
    const { html } = await get('/faq');
    expect(html).toContain('authorization codes 60 seconds, access tokens 7 days, refresh tokens 30 days.');
  });

  it('the FAQ and docs follow the configuration: other lifetimes, no refresh tokens', async () => {
    if (!sqlite) throw new Error('no store target');
    const other = await createTestApp(sqlite, {
      config: {
        publicUrl: 'https://auth.other.test/sub/',
        codeTtl: 120,
        tokenTtl: 3600,
        refreshTokens: false,
      },
    });
    try {
      const faq = await (await other.app.request('/faq')).text();
      expect(faq).toContain(
        'authorization codes 2 minutes, access tokens 1 hour. This server does not issue',
      );
      const docs = await (await other.app.request('/docs')).text();
      expect(docs).toContain('https://auth.other.test/sub/token');
      expect(docs).toContain('POST /sub/token HTTP/1.1\nHost: auth.other.test');
      expect(docs).not.toContain('refresh_token');
      expect(docs).not.toContain('login.test');
    } finally {
      await other.close();
    }
  });

  it('formats lifetimes the way people say them', () => {
    expect(formatDuration(60)).toBe('60 seconds');
    expect(formatDuration(90)).toBe('90 seconds');
    expect(formatDuration(600)).toBe('10 minutes');
    expect(formatDuration(3600)).toBe('1 hour');
    expect(formatDuration(86400)).toBe('1 day');
    expect(formatDuration(7 * 86400)).toBe('7 days');
    expect(formatDuration(1)).toBe('1 second');
  });
});
