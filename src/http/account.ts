/**
 * `GET /account` and its forms (PROTOCOL §13). The page signs the person in with their site through
 * Latchkey's own sign-in, exactly as the demo does (PROTOCOL §1.1: client_id = the issuer, PKCE,
 * `state` in a signed short-lived cookie, `iss` checked, RFC 9207), then keeps an account session:
 * a random id in a signed, HttpOnly, SameSite=Lax cookie (`__Host-` and Secure on https), whose
 * hashed row lives in the store (SECURITY D7), so every instance knows it.
 *
 * Every form carries a CSRF token bound to the account session, and a cross-site `Origin` is refused
 * (SECURITY E4). Routes parse and render; AccountService decides.
 */
import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AccountSession } from '../account/service.js';
import { ACCOUNT_SESSION_TTL } from '../account/service.js';
import { clientAuthorizationUrl } from '../indieauth/authorization-request.js';
import { OAuthError } from '../indieauth/errors.js';
import { s256 } from '../indieauth/pkce.js';
import type { Services } from '../services.js';
import { signValue, verifySigned } from '../signin/session.js';
import { constantTimeEqual, randomToken } from '../tokens/secrets.js';
import {
  AccountPage,
  type AccountPageProps,
  AccountSignedOutPage,
  PasskeyAddPage,
} from '../views/pages/account.js';
import { type PageStatus, renderError, renderPage } from './pages.js';
import { redirectTo } from './redirect.js';
import { readPageForm } from './signin.js';

/** The `state` + PKCE verifier of one account sign-in: short-lived, this path only. */
const STATE_COOKIE = 'latchkey_account_state';
const STATE_TTL = 900;

/** Plain-words confirmations after a form (POST → 303 → GET, SECURITY E3). */
const NOTICES: Record<string, string> = {
  revoked: 'Done: that app’s access is revoked. Its access and refresh tokens stopped working.',
  'revoked-all': 'Done: every app’s access is revoked. Their tokens stopped working.',
  'none-to-revoke': 'There was no app with access to revoke.',
  'passkey-added': 'Done: the passkey is added. Choose "Sign in with a passkey" next time.',
  'passkey-renamed': 'Done: the passkey is renamed.',
  'passkey-removed': 'Done: the passkey is removed; it cannot sign you in any more.',
};

/** The account session cookie's name: `__Host-` on https, like the sign-in session (session.ts). */
export function accountCookieName(issuer: string): string {
  return issuer.startsWith('https:') ? '__Host-latchkey-account' : 'latchkey_account';
}

export function accountRoutes(app: Hono, services: Services): void {
  const { config, account, passkeys } = services;
  const issuer = config.publicUrl;
  const issuerOrigin = new URL(issuer).origin;
  const callback = new URL('account/callback', issuer).href;
  const secure = issuer.startsWith('https:');
  const cookieName = accountCookieName(issuer);
  const flags = `HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

  const setSessionCookie = (c: Context, value: string, maxAge: number) =>
    c.header('Set-Cookie', `${cookieName}=${value}; Path=/; Max-Age=${maxAge}; ${flags}`, { append: true });
  const setStateCookie = (c: Context, value: string, maxAge: number) =>
    c.header('Set-Cookie', `${STATE_COOKIE}=${value}; Path=/account/; Max-Age=${maxAge}; ${flags}`, {
      append: true,
    });

  const current = (c: Context): Promise<AccountSession | undefined> =>
    account.open(verifySigned('latchkey-account', getCookie(c, cookieName), services.secrets));

  const problem = (c: Context, status: PageStatus, title: string, message: string, next: string) => {
    c.header('Cache-Control', 'no-store');
    return renderError(c, { title, message, next }, status);
  };

  /** Sends the browser through Latchkey's own sign-in, as the demo does. */
  const signInFirst = (c: Context, again = false) => {
    const state = randomToken(16);
    const verifier = randomToken(48);
    setStateCookie(c, signValue('account-state', `${state}.${verifier}`, services.secrets), STATE_TTL);
    const me = (c.req.query('me') ?? '').trim();
    const url = clientAuthorizationUrl(new URL('authorize', issuer).href, {
      clientId: issuer,
      redirectUri: callback,
      state,
      codeChallenge: s256(verifier),
      ...(me ? { me } : {}),
    });
    c.header('Cache-Control', 'no-store');
    // "Sign in again" forces a fresh proof: no "Continue as" (passkey registration needs one, E9).
    return redirectTo(c, again ? `${url}&prompt=login` : url, 302);
  };

  const page = async (
    c: Context,
    session: AccountSession,
    extra: Partial<AccountPageProps>,
    status: PageStatus,
  ) => {
    const overview = await account.overview(session);
    const gate = passkeys.canRegister(session);
    return renderPage(
      c,
      AccountPage({
        me: session.me,
        methodName: services.signIn.methodName(session.method),
        provenAt: session.provenAt,
        csrf: account.csrfToken(session),
        ...overview,
        methodNames: (id) => services.signIn.methodName(id),
        passkeys: await passkeys.list(session.me),
        passkeyRefusal: gate.ok ? undefined : gate.reason,
        ...extra,
      }),
      status,
    );
  };

  app.get('/account', async (c) => {
    const session = await current(c);
    if (!session) return signInFirst(c);
    const notice = NOTICES[c.req.query('done') ?? ''];
    return page(c, session, notice ? { notice } : {}, 200);
  });

  app.get('/account/signin-again', (c) => signInFirst(c, true));

  app.get('/account/passkeys/new', async (c) => {
    const session = await current(c);
    if (!session) return signInFirst(c);
    const outcome = await passkeys.registrationOptions(session);
    if (!outcome.ok) return page(c, session, { problem: outcome.reason }, 403);
    return renderPage(
      c,
      PasskeyAddPage({
        me: session.me,
        csrf: account.csrfToken(session),
        options: JSON.stringify(outcome.options),
      }),
      200,
      [],
      true,
    );
  });

  app.get('/account/callback', async (c) => {
    const q = (name: string) => c.req.query(name);
    const failed = (message: string) =>
      problem(
        c,
        400,
        'Signing in to your account page did not work',
        message,
        'Open your account page again to start over.',
      );
    if (q('iss') !== issuer) return failed('The answer did not carry this server as its issuer ("iss").');
    if (q('error')) return failed(`The sign-in ended with "${q('error')}": ${q('error_description') ?? ''}`);
    const code = q('code');
    if (!code) return failed('The answer carried no code.');
    const saved = verifySigned('account-state', getCookie(c, STATE_COOKIE), services.secrets);
    const [state, verifier] = saved?.split('.') ?? [];
    if (!state || !verifier || !constantTimeEqual(state, q('state') ?? '')) {
      return failed(
        'The answer does not belong to a sign-in started in this browser ("state" does not match).',
      );
    }
    setStateCookie(c, '', 0);
    try {
      const redemption = await services.codes.redeem('authorize', {
        code,
        clientId: issuer,
        redirectUri: callback,
        codeVerifier: verifier,
      });
      if (!redemption) return failed('The code was not valid.');
      const session = await account.start(redemption);
      setSessionCookie(c, signValue('latchkey-account', session.id, services.secrets), ACCOUNT_SESSION_TTL);
      c.header('Cache-Control', 'no-store');
      return redirectTo(c, new URL('account', issuer).href, 302);
    } catch (error) {
      if (error instanceof OAuthError) return failed(error.description);
      throw error;
    }
  });

  /**
   * One handler for every account form: cross-site Origin refused, strict parse, a live account
   * session and its CSRF token (SECURITY E4), then the action.
   */
  const formRoute = (
    path: string,
    action: (c: Context, session: AccountSession, form: ReadonlyMap<string, string>) => Promise<Response>,
  ) => {
    app.post(path, async (c) => {
      const refused = (message: string) =>
        problem(c, 403, 'This form could not be used', message, 'Open your account page and try again.');
      const origin = c.req.header('origin');
      if (origin !== undefined && origin !== 'null' && origin !== issuerOrigin)
        return refused('The form was sent from another website.');
      const read = await readPageForm(c);
      if (!read.ok) return refused(read.reason);
      const session = await current(c);
      if (!session)
        return refused(
          'You are not signed in to your account page in this browser any more (it lasts 12 hours).',
        );
      if (!account.checkCsrf(session, read.params.get('csrf')))
        return refused('The form did not come from your account page, or the page was too old.');
      c.header('Cache-Control', 'no-store');
      return action(c, session, read.params);
    });
  };
  const done = (c: Context, what: string) =>
    redirectTo(c, `${new URL('account', issuer).href}?done=${what}`, 303);

  formRoute('/account/revoke', async (c, session, form) => {
    const outcome = await account.revoke(session, form.get('grant') ?? '');
    if (outcome === 'revoked') return done(c, 'revoked');
    return page(
      c,
      session,
      {
        problem:
          'That app is not among the apps with access to your site (it may have been revoked already).',
      },
      404,
    );
  });

  formRoute('/account/passkeys/register', async (c, session, form) => {
    const outcome = await passkeys.register(session, form.get('response') ?? '', form.get('name') ?? '');
    if (outcome.ok) return done(c, 'passkey-added');
    return page(c, session, { problem: outcome.reason }, 400);
  });

  formRoute('/account/passkeys/rename', async (c, session, form) => {
    if (await passkeys.rename(session, form.get('passkey') ?? '', form.get('name') ?? ''))
      return done(c, 'passkey-renamed');
    return page(c, session, { problem: 'That passkey is not one of yours, or the name was empty.' }, 404);
  });

  formRoute('/account/passkeys/remove', async (c, session, form) => {
    if (await passkeys.remove(session, form.get('passkey') ?? '')) return done(c, 'passkey-removed');
    return page(
      c,
      session,
      { problem: 'That passkey is not one of yours (it may be removed already).' },
      404,
    );
  });

  formRoute('/account/revoke-all', async (c, session) =>
    done(c, (await account.revokeAll(session)) > 0 ? 'revoked-all' : 'none-to-revoke'),
  );

  formRoute('/account/signout-everywhere', async (c, session) => {
    await account.signOutEverywhere(session);
    setSessionCookie(c, '', 0);
    return renderPage(c, AccountSignedOutPage({ me: session.me, everywhere: true }));
  });

  formRoute('/account/signout', async (c, session) => {
    await account.signOut(session);
    setSessionCookie(c, '', 0);
    return renderPage(c, AccountSignedOutPage({ me: session.me, everywhere: false }));
  });
}
