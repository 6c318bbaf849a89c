/**
 * Routes of the sign-in flow (PROTOCOL §7, §9): `GET /authorize` (alias `/auth`), the sign-in form,
 * chooser, method steps, the callback from a person's own IndieAuth server, consent and sign-out.
 * Routes parse and render; the SignInService decides.
 *
 * Browser forms here are protected against CSRF twice: every form carries a single-use step token
 * bound to the session (SECURITY E4), and a cross-site `Origin` is refused outright. The code
 * redemption, token, introspection and revocation endpoints elsewhere have neither: servers call them.
 */
import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { InvalidRequest } from '../indieauth/errors.js';
import { describeScope } from '../indieauth/scopes.js';
import { mediaType } from '../net/media-type.js';
import type { Services } from '../services.js';
import type { Screen, SessionHandle } from '../signin/service.js';
import {
  newSession,
  openSession,
  sealSession,
  sessionCookieHeader,
  sessionCookieName,
} from '../signin/session.js';
import { ErrorPage } from '../views/pages/error.js';
import {
  ChooserPage,
  ConsentPage,
  ContinuePage,
  MethodPage,
  NoMethodsPage,
  SignInFormPage,
} from '../views/pages/signin.js';
import { clientIpResolver } from './client-ip.js';
import { MAX_FORM_BYTES, type Params, parseParams } from './form.js';
import { renderPage } from './pages.js';
import { redirectTo } from './redirect.js';

export type PageForm = { ok: true; params: Params } | { ok: false; reason: string };

/** A browser form, parsed by the same strict rules as the OAuth endpoints (SECURITY A6), at most 64 KiB. */
export async function readPageForm(c: Context, multiline?: ReadonlySet<string>): Promise<PageForm> {
  if (mediaType(c.req.header('content-type')) !== 'application/x-www-form-urlencoded')
    return { ok: false, reason: 'The form was not sent as a form.' };
  if (Number(c.req.header('content-length') ?? 0) > MAX_FORM_BYTES)
    return { ok: false, reason: 'The form is too large.' };
  const text = await c.req.text();
  if (text.length > MAX_FORM_BYTES) return { ok: false, reason: 'The form is too large.' };
  return parseQuietly(text, multiline);
}

/** `parseParams` for pages: a refusal becomes a reason to show, not an OAuth error. */
function parseQuietly(text: string, multiline?: ReadonlySet<string>): PageForm {
  try {
    return { ok: true, params: parseParams(text, multiline) };
  } catch (error) {
    if (error instanceof InvalidRequest) return { ok: false, reason: error.description };
    throw error;
  }
}

export function signInRoutes(app: Hono, services: Services): void {
  const { config, signIn } = services;
  const issuerOrigin = new URL(config.publicUrl).origin;
  const cookieName = sessionCookieName(config.publicUrl);
  /** Fields whose value is multi-line text a person pasted (signatures), as the methods declare them. */
  const multiline = signIn.multilineFields();

  /** The client's address; `X-Forwarded-For` counts only from a trusted proxy (SECURITY R5). */
  const clientIp = clientIpResolver(config.trustProxy);

  const session = (c: Context): SessionHandle => {
    const found = openSession(getCookie(c, cookieName), services.secrets);
    return found ? { current: found, changed: false } : { current: newSession(), changed: true };
  };

  /**
   * Where a form on a page may lead: our own pages, and the client's redirect_uri (CSP form-action).
   * The sign-in form, "continue" and the chooser may end at the site's own IndieAuth server or at a
   * provider (any Mastodon host), which Chromium checks against form-action after the redirect.
   */
  const formTargets = (screen: Screen): string[] => {
    if (screen.kind === 'signin' || screen.kind === 'continue' || screen.kind === 'chooser')
      return ['https:', 'http:'];
    if ('client' in screen) return [new URL(screen.client.redirectUri).origin];
    return [];
  };

  const show = (c: Context, handle: SessionHandle, screen: Screen, after: 'get' | 'post'): Response => {
    if (handle.changed)
      c.header(
        'Set-Cookie',
        sessionCookieHeader(config.publicUrl, sealSession(handle.current, services.secrets)),
      );
    // Sign-in pages are never cached or shown in frames (E1); referrers would leak codes.
    c.header('Cache-Control', 'no-store');
    if (screen.kind === 'redirect') return redirectTo(c, screen.url, after === 'post' ? 303 : 302); // A9, E3
    const targets = formTargets(screen);
    switch (screen.kind) {
      case 'signin':
        return renderPage(c, SignInFormPage(screen), screen.problem ? 400 : 200, targets);
      case 'continue':
        return renderPage(c, ContinuePage(screen), 200, targets);
      case 'chooser':
        return renderPage(c, ChooserPage(screen), 200, targets);
      case 'method':
        return renderPage(
          c,
          MethodPage(screen),
          screen.page.problem ? 400 : 200,
          targets,
          screen.page.script,
        );
      case 'consent':
        return renderPage(
          c,
          ConsentPage({
            ...screen,
            describe: describeScope,
            accountUrl: new URL('account', config.publicUrl).href,
          }),
          200,
          targets,
        );
      case 'no-methods':
        return renderPage(c, NoMethodsPage(screen), 400);
      case 'problem':
        return renderPage(c, ErrorPage(screen), screen.status);
    }
  };

  /** Cross-site form posts are refused (SECURITY E4); browsers send Origin on every POST. */
  const crossSite = (c: Context): boolean => {
    const origin = c.req.header('origin');
    return origin !== undefined && origin !== 'null' && origin !== issuerOrigin;
  };

  const refuse = (c: Context, handle: SessionHandle, message: string): Response =>
    show(
      c,
      handle,
      {
        kind: 'problem',
        title: 'This form could not be used',
        message,
        next: 'Go back to the website you were signing in to and start again.',
        status: 400,
      },
      'post',
    );

  const authorize = async (c: Context) => {
    const handle = session(c);
    const url = new URL(c.req.url);
    return show(c, handle, await signIn.authorize(handle, url.searchParams, clientIp(c)), 'get');
  };
  app.get('/authorize', authorize);
  app.get('/auth', authorize);

  /** One handler for every browser form: origin check, strict parse, then the service. */
  const formRoute = (
    path: string,
    handler: (handle: SessionHandle, form: Params, c: Context) => Promise<Screen>,
  ) => {
    app.post(path, async (c) => {
      const handle = session(c);
      if (crossSite(c)) return refuse(c, handle, 'The form was sent from another website.');
      const form = await readPageForm(c, multiline);
      if (!form.ok) return refuse(c, handle, form.reason);
      return show(c, handle, await handler(handle, form.params, c), 'post');
    });
  };

  formRoute('/signin/site', (handle, form, c) =>
    signIn.submitSite(handle, form.get('step') ?? '', form.get('me') ?? '', clientIp(c)),
  );
  formRoute('/signin/choose', (handle, form) =>
    signIn.choose(handle, form.get('step') ?? '', form.get('candidate') ?? ''),
  );
  formRoute('/signin/continue', (handle, form) =>
    signIn.continueAs(handle, form.get('step') ?? '', form.get('me') ?? ''),
  );
  formRoute('/signin/consent', (handle, form) => signIn.consent(handle, form.get('step') ?? '', form));
  formRoute('/signin/step/:kind', async (handle, form, c) => {
    const kind = c.req.param('kind') ?? '';
    if (!signIn.isMethodStep(kind) || kind.endsWith('.callback')) {
      return {
        kind: 'problem',
        title: 'Unknown step',
        message: 'That sign-in step does not exist.',
        status: 400,
      };
    }
    return signIn.methodStep(handle, kind, form.get('step') ?? '', form, clientIp(c));
  });

  // Upstream servers (a person's own IndieAuth server, a provider) send the browser back here, one
  // route for every method: `state` is the method's single-use step token `<id>.callback` (E5).
  // Providers anyone may name (Mastodon) get a redirect URI per server, `…/callback/<server>`.
  app.on('GET', ['/signin/:id/callback', '/signin/:id/callback/:server'], async (c) => {
    const handle = session(c);
    const kind = `${c.req.param('id')}.callback`;
    if (!signIn.isMethodStep(kind)) return refuse(c, handle, 'There is no such sign-in method.');
    const parsed = parseQuietly(new URL(c.req.url).search.slice(1));
    if (!parsed.ok)
      return refuse(c, handle, `The answer from the sign-in provider was malformed: ${parsed.reason}`);
    const input = parsed.params;
    const screen = await signIn.methodStep(
      handle,
      kind,
      input.get('state') ?? '',
      input,
      clientIp(c),
      c.req.param('server'),
    );
    return show(c, handle, screen, 'get');
  });

  app.post('/signout', async (c) => {
    const handle = session(c);
    if (crossSite(c)) return refuse(c, handle, 'The form was sent from another website.');
    const form = await readPageForm(c);
    await signIn.signOut(handle);
    c.header('Set-Cookie', sessionCookieHeader(config.publicUrl, ''));
    // Back to the sign-in that offered the button; only ever a path of ours (no open redirect).
    const next = form.ok ? (form.params.get('next') ?? '') : '';
    return redirectTo(c, /^\/authorize\?[^\\]*$/.test(next) ? next : '/', 303);
  });
}
