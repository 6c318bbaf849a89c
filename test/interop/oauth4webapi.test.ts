/**
 * Interoperability with an independent OAuth client: `oauth4webapi` used as a generic RFC 8414 +
 * PKCE (RFC 7636) + RFC 9207 client — none of Latchkey's own code on the client side — against a
 * real Latchkey over HTTP. The person's part (sign-in form, email code, consent) is played by a
 * fetch with a cookie jar, the way a browser without JavaScript would; the code is read from the
 * mail delivered to a real SMTP server.
 *
 * The test server is plain http on loopback, so every oauth4webapi call gets
 * `allowInsecureRequests`; nothing else is relaxed.
 */
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { startTestServer } from '../helpers/server.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';

const CLIENT_ID = 'http://app.test/';
const REDIRECT_URI = 'http://app.test/callback';
const ME = 'http://dave.test/';
const ADDRESS = 'dave@dave.test';
/** A second person, so the email send limit per address (5 an hour) is never in play. */
const ERIN = { me: 'http://erin.test/', address: 'erin@erin.test' };
const DAVE = { me: ME, address: ADDRESS };
const SCOPE = 'profile create';

/** Only because the test server is http on loopback (oauth4webapi refuses http:// otherwise). */
const insecure = { [oauth.allowInsecureRequests]: true } as const;

/**
 * Latchkey's introspection endpoint takes `Authorization: Bearer <resource-server secret>`
 * (PROTOCOL §10, metadata `introspection_endpoint_auth_methods_supported: ["Bearer"]`).
 * oauth4webapi refuses an `authorization` header in `options.headers`, so the credential goes in
 * through its extension point for client authentication methods, a `ClientAuth` function.
 */
function bearerCredential(secret: string): oauth.ClientAuth {
  return (_as, _client, _body, headers) => {
    headers.set('authorization', `Bearer ${secret}`);
  };
}

function decode(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

interface Seen {
  status: number;
  location: string | undefined;
  body: string;
  /** The step token of the (first) form posting to `action`. */
  step(action: string): string;
}

/**
 * The person's browser over real HTTP: keeps cookies for the Latchkey origin, sends the Origin a
 * browser sends on form posts, returns redirects instead of following them.
 */
class Browser {
  private readonly cookies = new Map<string, string>();

  constructor(readonly origin: string) {}

  private async read(response: Response): Promise<Seen> {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /Max-Age=0/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const body = await response.text();
    return {
      status: response.status,
      location: response.headers.get('location') ?? undefined,
      body,
      step(action: string) {
        const at = body.indexOf(`action="${action}"`);
        if (at < 0) throw new Error(`no form posting to ${action} on the page:\n${body.slice(0, 2000)}`);
        const match = /name="step" value="([^"]+)"/.exec(body.slice(at));
        if (!match?.[1]) throw new Error(`no step token in the form posting to ${action}`);
        return decode(match[1]);
      },
    };
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  async get(url: string): Promise<Seen> {
    if (new URL(url).origin !== this.origin) throw new Error(`the browser only visits ${this.origin}`);
    return this.read(
      await fetch(url, { redirect: 'manual', headers: { accept: 'text/html', ...this.cookieHeader() } }),
    );
  }

  async post(path: string, fields: Record<string, string>): Promise<Seen> {
    return this.read(
      await fetch(new URL(path, this.origin), {
        method: 'POST',
        redirect: 'manual',
        headers: {
          accept: 'text/html',
          'content-type': 'application/x-www-form-urlencoded',
          origin: this.origin,
          ...this.cookieHeader(),
        },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  }
}

describe('oauth4webapi (independent OAuth 2.0 client) against a running Latchkey', () => {
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let issuer: URL;
  let as: oauth.AuthorizationServer;
  const client: oauth.Client = { client_id: CLIENT_ID };

  beforeAll(async () => {
    web = await startFixtureWeb();
    smtp = await startSmtp();
    web.page(CLIENT_ID, clientApp('Interop App', CLIENT_ID));
    web.page(ME, homepage('Dave', `<link rel="me" href="mailto:${ADDRESS}">`));
    web.page(ERIN.me, homepage('Erin', `<link rel="me" href="mailto:${ERIN.address}">`));
    server = await startTestServer({ connectTo: web.connectTo, smtpUrl: smtp.url });
    issuer = new URL(server.services.config.publicUrl);
  });
  afterAll(async () => {
    await server?.close();
    await smtp?.close();
    await web?.close();
  });

  /** A person signs in by email and answers the consent page (every scope ticked); returns the callback URL. */
  async function personSignsIn(authorizationUrl: URL, person = DAVE, decision = 'approve'): Promise<URL> {
    const browser = new Browser(issuer.origin);
    const form = await browser.get(authorizationUrl.href);
    expect(form.status).toBe(200);
    // A generic OAuth client sends no `me` hint: the person types their site.
    const method = await browser.post('/signin/site', { step: form.step('/signin/site'), me: person.me });
    expect(method.status).toBe(200);
    const sent = await browser.post('/signin/step/email.send', {
      step: method.step('/signin/step/email.send'),
    });
    expect(sent.status).toBe(200);
    const code = smtp.codeIn(await smtp.nextMessage(person.address));
    const consent = await browser.post('/signin/step/email.verify', {
      step: sent.step('/signin/step/email.verify'),
      code,
    });
    expect(consent.status).toBe(200);
    const done = await browser.post('/signin/consent', {
      step: consent.step('/signin/consent'),
      decision,
      'scope.profile': 'on',
      'scope.create': 'on',
    });
    expect(done.status).toBe(303);
    expect(done.location).toBeDefined();
    const callback = new URL(done.location as string);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    return callback;
  }

  /** A resource server's introspection call, with a credential made the way the CLI makes one. */
  async function resourceServer(name: string) {
    const { secret } = await server.services.resourceServers.create(name);
    const credential = bearerCredential(secret);
    return async (token: string) =>
      oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, credential, token, insecure),
      );
  }

  async function authorizationRequest(): Promise<{ url: URL; state: string; verifier: string }> {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint as string);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', client.client_id);
    url.searchParams.set('redirect_uri', REDIRECT_URI);
    url.searchParams.set('scope', SCOPE);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    return { url, state, verifier };
  }

  it('discovers the server metadata (RFC 8414) and accepts its issuer', async () => {
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
    as = await oauth.processDiscoveryResponse(issuer, response);
    expect(as.issuer).toBe(issuer.href);
    expect(as.authorization_response_iss_parameter_supported).toBe(true);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.response_types_supported).toContain('code');
    for (const endpoint of [
      as.authorization_endpoint,
      as.token_endpoint,
      as.introspection_endpoint,
      as.revocation_endpoint,
    ]) {
      expect(endpoint).toBeDefined();
      expect(new URL(endpoint as string).origin).toBe(issuer.origin);
    }
  });

  it('completes code + PKCE + iss, refresh, introspection and revocation', async () => {
    const { url, state, verifier } = await authorizationRequest();
    const callback = await personSignsIn(url);

    // RFC 9207 + state: oauth4webapi checks both and hands back branded parameters.
    const params = oauth.validateAuthResponse(as, client, callback, state);
    expect(params.get('code')).toBeTruthy();

    const codeResponse = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      REDIRECT_URI,
      verifier,
      insecure,
    );
    expect(codeResponse.headers.get('cache-control')).toContain('no-store');
    // Plain OAuth 2.0, not OpenID Connect: no id_token is expected (none is required by default).
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, codeResponse, {
      requireIdToken: false,
    });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe(SCOPE);
    expect(tokens.me).toBe(ME); // IndieAuth's extra member passes through untouched
    expect(typeof tokens.expires_in).toBe('number');
    expect(tokens.id_token).toBeUndefined();
    expect(tokens.refresh_token).toBeTruthy();

    const refreshResponse = await oauth.refreshTokenGrantRequest(
      as,
      client,
      oauth.None(),
      tokens.refresh_token as string,
      insecure,
    );
    const refreshed = await oauth.processRefreshTokenResponse(as, client, refreshResponse);
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.scope).toBe(SCOPE);
    expect(refreshed.me).toBe(ME);

    const introspect = await resourceServer('interop');

    const active = await introspect(refreshed.access_token);
    expect(active.active).toBe(true);
    expect(active.client_id).toBe(CLIENT_ID);
    expect(active.scope).toBe(SCOPE);
    expect(active.me).toBe(ME);
    expect(Number.isInteger(active.exp)).toBe(true);
    expect(Number.isInteger(active.iat)).toBe(true);

    const revokeResponse = await oauth.revocationRequest(
      as,
      client,
      oauth.None(),
      refreshed.access_token,
      insecure,
    );
    await expect(oauth.processRevocationResponse(revokeResponse)).resolves.toBeUndefined();

    expect(await introspect(refreshed.access_token)).toEqual({ active: false });
    // Revoking an unknown token is still a success (RFC 7009 §2.2).
    await expect(
      oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, oauth.None(), 'not-a-token', insecure),
      ),
    ).resolves.toBeUndefined();
  });

  it('RFC 9207: a callback whose iss was tampered with is refused by the client', async () => {
    const { url, state } = await authorizationRequest();
    const callback = await personSignsIn(url);
    expect(callback.searchParams.get('iss')).toBe(as.issuer);

    const tampered = new URL(callback);
    tampered.searchParams.set('iss', 'http://evil.test/');
    expect(() => oauth.validateAuthResponse(as, client, tampered, state)).toThrow(
      oauth.OperationProcessingError,
    );
    const dropped = new URL(callback);
    dropped.searchParams.delete('iss');
    expect(() => oauth.validateAuthResponse(as, client, dropped, state)).toThrow(/"iss"/);
    // The genuine one still passes.
    expect(oauth.validateAuthResponse(as, client, callback, state).get('code')).toBeTruthy();
  });

  it('error answers parse as RFC 6749 §5.2 errors: wrong verifier, replayed code, reused refresh token', async () => {
    const introspect = await resourceServer('interop-errors');
    const { url, state, verifier } = await authorizationRequest();
    const params = oauth.validateAuthResponse(as, client, await personSignsIn(url), state);
    const redeem = async (codeVerifier: string) =>
      oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(
          as,
          client,
          oauth.None(),
          params,
          REDIRECT_URI,
          codeVerifier,
          insecure,
        ),
      );
    const invalidGrant = { name: 'ResponseBodyError', error: 'invalid_grant', status: 400 };

    // A wrong verifier is refused and does not consume the code (PROTOCOL §8).
    await expect(redeem(oauth.generateRandomCodeVerifier())).rejects.toMatchObject(invalidGrant);
    const tokens = await redeem(verifier);
    expect((await introspect(tokens.access_token)).active).toBe(true);

    // A replayed code is refused and revokes what the first redemption produced (PROTOCOL §8).
    await expect(redeem(verifier)).rejects.toMatchObject(invalidGrant);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    const revokedGrant = await oauth.refreshTokenGrantRequest(
      as,
      client,
      oauth.None(),
      tokens.refresh_token as string,
      insecure,
    );
    await expect(oauth.processRefreshTokenResponse(as, client, revokedGrant)).rejects.toMatchObject(
      invalidGrant,
    );

    // Reusing a rotated refresh token is refused and revokes the whole grant (PROTOCOL §10).
    const next = await authorizationRequest();
    const nextParams = oauth.validateAuthResponse(
      as,
      client,
      await personSignsIn(next.url, ERIN),
      next.state,
    );
    const first = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(
        as,
        client,
        oauth.None(),
        nextParams,
        REDIRECT_URI,
        next.verifier,
        insecure,
      ),
    );
    const refresh = async (refreshToken: string) =>
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure),
      );
    const rotated = await refresh(first.refresh_token as string);
    expect((await introspect(rotated.access_token)).active).toBe(true);
    await expect(refresh(first.refresh_token as string)).rejects.toMatchObject(invalidGrant);
    expect(await introspect(rotated.access_token)).toEqual({ active: false });
    await expect(refresh(rotated.refresh_token as string)).rejects.toMatchObject(invalidGrant);
  });

  it('a denied consent comes back as an error the client recognises, with state and iss', async () => {
    const { url, state } = await authorizationRequest();
    const callback = await personSignsIn(url, ERIN, 'deny');
    expect(() => oauth.validateAuthResponse(as, client, callback, state)).toThrow(
      expect.objectContaining({ name: 'AuthorizationResponseError', error: 'access_denied' }),
    );
  });
});
