/**
 * Latchkey as an OAuth client of a provider (GitHub, GitLab, Forgejo, Mastodon): the authorization
 * code flow with PKCE S256 (RFC 7636) and `state` (RFC 6749 §10.12), written once for every provider
 * on oauth4webapi (RFC 6749 §4.1, RFC 7009 revocation), with every request going through Latchkey's
 * safe fetcher (`customFetch`: SSRF guard, deadlines, caps — PROTOCOL §4).
 *
 * `state` is the method's single-use step token `<id>.callback`, bound to the browser session and
 * the attempt by the sign-in core (SECURITY E5, F11), so oauth4webapi's own state check is skipped
 * here; the PKCE verifier is stored sealed with LATCHKEY_SECRET (SECURITY D7).
 */
import * as oauth from 'oauth4webapi';
import { s256 } from '../indieauth/pkce.js';
import { FetchError, type Fetcher, LIMITS } from '../net/types.js';
import { openSecret, randomToken, sealSecret } from '../tokens/secrets.js';

/** A provider's OAuth endpoints and Latchkey's registration with it. */
export interface OAuthClient {
  /** For people: "GitHub", "mastodon.social". */
  name: string;
  /** The provider's base URL; oauth4webapi's `issuer` (providers here publish no metadata). */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint?: string;
  clientId: string;
  clientSecret: string;
  /** RFC 9207: the issuer an `iss` in the callback must equal; undefined when it cannot be known. */
  expectedIssuer?: string;
  /** The server advertises `authorization_response_iss_parameter_supported`: `iss` must be sent. */
  issRequired?: boolean;
  /** RFC 6749 §2.3.1: `post` sends the secret in the form (GitHub, GitLab, Forgejo, Mastodon accept it). */
  auth?: 'post' | 'basic';
  /** Extra token-request parameters: Mastodon's docs want the authorized `scope` repeated there. */
  tokenParameters?: Record<string, string>;
  /**
   * For providers where anyone may name the server (Mastodon): a redirect URI of this server's own,
   * `<callback>/<callbackServer>` (RFC 9700 §4.4.2.2, mix-up defence). The answer must come back
   * to it, so a code that a hostile server's page sent the person to get from their real server
   * comes back to that real server's address and is never handed to the hostile one.
   */
  callbackServer?: string;
}

/** A refusal in plain words that names the provider (PROTOCOL §9.1: never a 500). */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
}

/**
 * A provider API answer Latchkey cannot use; `message` is a lowercase clause safe to show, like a
 * FetchError's ("it answered HTTP 502", "its answer was not JSON"), so `describe` can embed it.
 */
export class ProviderApiError extends Error {
  override name = 'ProviderApiError';
}

const VERIFIER_PURPOSE = 'upstream-oauth-pkce-verifier';

export type OAuthFetch = (
  url: string,
  options: oauth.CustomFetchOptions<string, unknown>,
) => Promise<Response>;

/** Adapts the safe fetcher to the fetch signature oauth4webapi calls. */
export function customFetch(fetcher: Fetcher): OAuthFetch {
  return async (url, options) => {
    const headers = new Headers(options.headers);
    const accept = headers.get('accept') ?? 'application/json';
    const contentType = headers.get('content-type') ?? undefined;
    headers.delete('accept');
    headers.delete('content-type');
    headers.delete('user-agent');
    const body = options.body === undefined || options.body === null ? undefined : String(options.body);
    const result = await fetcher(url, {
      method: options.method === 'POST' ? 'POST' : 'GET',
      accept,
      maxBytes: LIMITS.json,
      maxRedirects: 0,
      headers: Object.fromEntries(headers),
      ...(body !== undefined ? { body } : {}),
      ...(contentType ? { contentType } : {}),
    });
    return new Response(result.status === 204 || result.status === 304 ? null : result.body, {
      status: result.status,
      headers: result.headers,
    });
  };
}

/** Whether two URLs share scheme, host and port; false when either is not a URL. */
function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

function server(client: OAuthClient): oauth.AuthorizationServer {
  return {
    issuer: client.issuer,
    authorization_endpoint: client.authorizationEndpoint,
    token_endpoint: client.tokenEndpoint,
    ...(client.revocationEndpoint ? { revocation_endpoint: client.revocationEndpoint } : {}),
  };
}

function clientAuth(client: OAuthClient): oauth.ClientAuth {
  return client.auth === 'basic'
    ? oauth.ClientSecretBasic(client.clientSecret)
    : oauth.ClientSecretPost(client.clientSecret);
}

export interface BeganAuthorization {
  url: string;
  /** Keep in the method state; only `finish` can open it. */
  sealedVerifier: string;
}

export class UpstreamOAuth {
  constructor(
    private readonly fetcher: Fetcher,
    private readonly secrets: readonly string[],
    private readonly issuer: string,
  ) {}

  /** PROTOCOL §9.1: `ISSUER + "signin/<id>/callback"`, which operators register with the provider. */
  callbackUrl(methodId: string): string {
    return new URL(`signin/${methodId}/callback`, this.issuer).href;
  }

  /** The redirect URI for `client`: the method's callback, with the server's own segment if it has one. */
  redirectUri(methodId: string, client: Pick<OAuthClient, 'callbackServer'>): string {
    const callback = this.callbackUrl(methodId);
    return client.callbackServer === undefined
      ? callback
      : `${callback}/${encodeURIComponent(client.callbackServer)}`;
  }

  private options(url: string) {
    return {
      [oauth.customFetch]: customFetch(this.fetcher),
      [oauth.allowInsecureRequests]: url.startsWith('http:'),
    };
  }

  /** The provider's authorization URL: `response_type=code`, PKCE S256, `state`, and `extra`. */
  begin(
    methodId: string,
    client: OAuthClient,
    state: string,
    extra: Record<string, string | undefined> = {},
  ): BeganAuthorization {
    const verifier = randomToken(48);
    const url = new URL(client.authorizationEndpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', client.clientId);
    url.searchParams.set('redirect_uri', this.redirectUri(methodId, client));
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', s256(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    for (const [key, value] of Object.entries(extra))
      if (value !== undefined) url.searchParams.set(key, value);
    return { url: url.href, sealedVerifier: sealSecret(VERIFIER_PURPOSE, verifier, this.secrets) };
  }

  /**
   * The callback: the provider's error or code (RFC 6749 §4.1.2), redeemed with the verifier at the
   * token endpoint. Returns the access token; throws UpstreamError in plain words.
   */
  /**
   * The callback before any redemption (RFC 6749 §4.1.2), with the mix-up defences of RFC 9700
   * §4.4: the answer came back to this server's own redirect URI (`returnedTo`: the server segment
   * of the address the browser came back to, see `callbackServer`); the `iss` rule of RFC 9207 §2.4
   * (a known issuer must match; a server that advertises `iss` must send it; an `iss` nothing led
   * us to expect must at least be the authorization endpoint's origin, so a real server's answer
   * relayed through a hostile one is refused); then the provider's error in plain words, and the
   * verifier opened. Shared by the providers and by delegation to a person's own IndieAuth server.
   */
  readCallback(
    client: OAuthClient,
    sealedVerifier: string,
    callback: ReadonlyMap<string, string>,
    returnedTo: string | undefined,
  ): { params: URLSearchParams; verifier: string } {
    if (returnedTo !== client.callbackServer) {
      throw new UpstreamError(
        `The answer came back to the address for another server than ${client.name}, so it was refused.`,
      );
    }
    const verifier = openSecret(VERIFIER_PURPOSE, sealedVerifier, this.secrets);
    if (verifier === undefined) throw new UpstreamError('This sign-in can no longer be finished here.');
    const iss = callback.get('iss');
    if (iss !== undefined && client.expectedIssuer !== undefined && iss !== client.expectedIssuer) {
      throw new UpstreamError(
        `The answer came from the issuer ${iss.slice(0, 200)}, not from ${client.expectedIssuer}, so it was refused.`,
      );
    }
    if (
      iss !== undefined &&
      client.expectedIssuer === undefined &&
      !sameOrigin(iss, client.authorizationEndpoint)
    ) {
      throw new UpstreamError(
        `The answer came from the issuer ${iss.slice(0, 200)}, not from ${new URL(client.authorizationEndpoint).origin} where you were sent, so it was refused.`,
      );
    }
    if (iss === undefined && client.issRequired) {
      throw new UpstreamError(
        `${client.name} advertises the "iss" parameter but did not send it, so the answer was refused.`,
      );
    }
    // `iss` was judged above; oauth4webapi reads the error or the code.
    const rest = new URLSearchParams([...callback].filter(([key]) => key !== 'iss'));
    try {
      return {
        params: oauth.validateAuthResponse(
          server(client),
          { client_id: client.clientId },
          rest,
          oauth.skipStateCheck,
        ),
        verifier,
      };
    } catch (error) {
      if (error instanceof oauth.AuthorizationResponseError) {
        const description = error.error_description ? `: ${error.error_description.slice(0, 300)}` : '';
        throw new UpstreamError(`${client.name} answered "${error.error.slice(0, 100)}"${description}.`);
      }
      throw new UpstreamError(`${client.name} came back without a code.`);
    }
  }

  /**
   * The callback, redeemed with the verifier at the token endpoint (RFC 6749 §4.1.3). Returns the
   * access token; throws UpstreamError in plain words.
   */
  async finish(
    methodId: string,
    client: OAuthClient,
    sealedVerifier: string,
    callback: ReadonlyMap<string, string>,
    returnedTo: string | undefined,
  ): Promise<string> {
    const { params, verifier } = this.readCallback(client, sealedVerifier, callback, returnedTo);
    const as = server(client);
    const registered: oauth.Client = { client_id: client.clientId };
    try {
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        registered,
        clientAuth(client),
        params,
        this.redirectUri(methodId, client),
        verifier,
        {
          ...this.options(client.tokenEndpoint),
          ...(client.tokenParameters ? { additionalParameters: client.tokenParameters } : {}),
        },
      );
      const tokens = await oauth.processAuthorizationCodeResponse(as, registered, response);
      return tokens.access_token;
    } catch (error) {
      // `cause` keeps the OAuth error code for oauthErrorCode (a refused registration, RFC 6749 §5.2).
      throw new UpstreamError(`${client.name} did not accept the sign-in: ${describe(error)}.`, {
        cause: error,
      });
    }
  }

  /** RFC 7009: Latchkey keeps no provider token (PROTOCOL §9.1); a failed revocation is not fatal. */
  async revoke(client: OAuthClient, accessToken: string): Promise<boolean> {
    if (!client.revocationEndpoint) return false;
    try {
      const response = await oauth.revocationRequest(
        server(client),
        { client_id: client.clientId },
        clientAuth(client),
        accessToken,
        this.options(client.revocationEndpoint),
      );
      await oauth.processRevocationResponse(response);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The RFC 6749 §5.2 error code a token endpoint answered (`invalid_client`, `invalid_grant`…), from
 * the JSON body or from a `WWW-Authenticate` challenge (Doorkeeper — Mastodon, GitLab — sends both),
 * looking through an UpstreamError's cause; undefined for anything else.
 */
export function oauthErrorCode(error: unknown): string | undefined {
  const inner = error instanceof UpstreamError ? error.cause : error;
  if (inner instanceof oauth.ResponseBodyError) return inner.error;
  if (inner instanceof oauth.WWWAuthenticateChallengeError) return inner.cause[0]?.parameters.error;
  return undefined;
}

/** What went wrong with a provider call, in words safe to show (no token, no secret). */
export function describe(error: unknown): string {
  const answered = (code: string, description: unknown) =>
    `it answered "${code.slice(0, 100)}"${typeof description === 'string' && description ? ` (${description.slice(0, 200)})` : ''}`;
  if (error instanceof FetchError || error instanceof ProviderApiError) return error.message;
  if (error instanceof oauth.ResponseBodyError) return answered(error.error, error.error_description);
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    // A 401 with `WWW-Authenticate: Bearer error="invalid_client"` (GitLab's Doorkeeper does this).
    const parameters = error.cause[0]?.parameters;
    if (parameters?.error) return answered(parameters.error, parameters.error_description);
    return `it refused Latchkey's credentials (HTTP ${error.status})`;
  }
  if (error instanceof oauth.OperationProcessingError) {
    // GitHub refuses a code with HTTP 200 and `{"error": "bad_verification_code", …}` (its
    // "Troubleshooting OAuth app access token request errors"): say what it said.
    const body = (error.cause as { body?: { error?: unknown; error_description?: unknown } } | undefined)
      ?.body;
    if (typeof body?.error === 'string') return answered(body.error, body.error_description);
    if (error.cause instanceof Response) return `it answered HTTP ${error.cause.status}`;
    return 'its answer was not a valid token response';
  }
  if (error instanceof Error && error.cause instanceof FetchError) return error.cause.message;
  return 'the request failed';
}
