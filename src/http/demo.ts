/**
 * Latchkey signing people in to itself: the home page's "try it" box and the docs' example form
 * land here. The demo is a real relying party (PROTOCOL §1.1): it sends PKCE and a `state` kept in
 * its own short-lived cookie, checks `state` and `iss` (RFC 9207) on return, and redeems the code at
 * the authorization endpoint's redemption rule.
 *
 * Latchkey is its own client here, so it publishes its client information too: `GET /` with
 * `Accept: application/json` answers a client ID metadata document (PROTOCOL §6).
 */
import type { Context, Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { clientAuthorizationUrl } from '../indieauth/authorization-request.js';
import { OAuthError } from '../indieauth/errors.js';
import { s256 } from '../indieauth/pkce.js';
import type { Services } from '../services.js';
import { CALLBACK_PATH } from '../signin/methods/indieauth/index.js';
import { signValue, verifySigned } from '../signin/session.js';
import { constantTimeEqual, randomToken } from '../tokens/secrets.js';
import { DemoCodePage, DemoResultPage } from '../views/pages/demo.js';
import { DEMO_STATE } from '../views/pages/docs.js';
import { renderError, renderPage } from './pages.js';
import { redirectTo } from './redirect.js';

const COOKIE = 'latchkey_demo';

export function demoRoutes(app: Hono, services: Services): void {
  const { config } = services;
  const issuer = config.publicUrl;
  const callback = new URL('demo/callback', issuer).href;
  const secure = issuer.startsWith('https:');

  const seal = (value: string) => signValue('demo', value, services.secrets);
  const unseal = (sealed: string | undefined) => verifySigned('demo', sealed, services.secrets);

  app.get('/demo/start', (c) => {
    const state = randomToken(16);
    const verifier = randomToken(48);
    const me = c.req.query('me') ?? '';
    c.header(
      'Set-Cookie',
      `${COOKIE}=${seal(`${state}.${verifier}`)}; Path=/demo/; Max-Age=1800; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
    );
    const url = clientAuthorizationUrl(new URL('authorize', issuer).href, {
      clientId: issuer,
      redirectUri: callback,
      state,
      codeChallenge: s256(verifier),
      me: me.trim(),
    });
    return redirectTo(c, url, 302);
  });

  app.get('/demo/callback', async (c) => {
    const q = (name: string) => c.req.query(name);
    const problem = (message: string) =>
      renderError(
        c,
        { title: 'The demo sign-in did not work', message, next: 'Try again from the home page.' },
        400,
      );
    if (q('iss') !== issuer) return problem('The answer did not carry this server as its issuer ("iss").');
    if (q('error')) return problem(`The sign-in ended with "${q('error')}": ${q('error_description') ?? ''}`);
    const code = q('code');
    if (!code) return problem('The answer carried no code.');
    if (q('state') === DEMO_STATE) return renderPage(c, DemoCodePage({ code, issuer, callback }));

    const saved = unseal(getCookie(c, COOKIE));
    const [state, verifier] = saved?.split('.') ?? [];
    if (!state || !verifier || !constantTimeEqual(state, q('state') ?? '')) {
      return problem(
        'The answer does not belong to a sign-in started in this browser ("state" does not match).',
      );
    }
    c.header(
      'Set-Cookie',
      `${COOKIE}=; Path=/demo/; Max-Age=0; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
    );
    try {
      const redemption = await services.codes.redeem('authorize', {
        code,
        clientId: issuer,
        redirectUri: callback,
        codeVerifier: verifier,
      });
      if (!redemption) return problem('The code was not valid.');
      return renderPage(c, DemoResultPage({ me: redemption.me }));
    } catch (error) {
      if (error instanceof OAuthError) return problem(error.description);
      throw error;
    }
  });
}

/** The client ID metadata document for Latchkey as a client (PROTOCOL §6, CIMD). */
export function clientMetadata(issuer: string): object {
  return {
    client_id: issuer,
    client_name: 'Latchkey',
    client_uri: issuer,
    redirect_uris: [
      new URL(CALLBACK_PATH, issuer).href,
      new URL('demo/callback', issuer).href,
      new URL('account/callback', issuer).href,
    ],
  };
}

/** True when a request for `/` prefers JSON (a client_id fetch) over a page. */
export function wantsClientDocument(c: Context): boolean {
  return /^\s*application\/json/i.test(c.req.header('accept') ?? '');
}
