/**
 * GitHub (PROTOCOL §9.1): only its differences from the shared provider method (oauth-provider.ts).
 *
 * - Links: `https://github.com/<login>` on GITHUB_URL's host (http or https, optional `www.`, one
 *   trailing `/`), logins as GitHub allows them, case-insensitive; GitHub's own pages are not
 *   logins (SECURITY F5).
 * - OAuth: `GITHUB_URL/login/oauth/authorize` with PKCE S256, `state`, `allow_signup=false` and no
 *   scope (a scopeless token reads the public profile, all Latchkey needs); the code is redeemed at
 *   `POST GITHUB_URL/login/oauth/access_token` with `Accept: application/json`. GitHub refuses a
 *   code with HTTP 200 and `{"error": "bad_verification_code"}`; upstream-oauth.ts says so in words.
 * - Profile: public `GET API/users/<login>` and `/social_accounts` before the person leaves
 *   (with the app's client credentials, GitHub's documented way to read public data under the
 *   app's rate limit rather than the server IP's 60 an hour); after the round trip the
 *   authenticated `GET API/user` and `GET API/user/social_accounts`. Back-links: `blog`, every URL
 *   in `bio`, each social account's `url` (SECURITY F4, F11).
 * - Revocation: GitHub has no RFC 7009 endpoint; its API is `DELETE API/applications/{client_id}/token`
 *   with HTTP Basic client credentials and `{"access_token": …}` (Latchkey keeps no token, §9.1).
 */
import * as z from 'zod/mini';
import type { OAuthAppConfig } from '../../../config.js';
import { LIMITS } from '../../../net/types.js';
import {
  type AccountPattern,
  instanceOf,
  type OAuthProviderSpec,
  oauthProviderMethod,
  type ProviderInstance,
  type ProviderProfile,
  profileLinks,
  providerJson,
  recogniseProfileUrl,
} from '../../oauth-provider.js';
import type { AnyMethod } from '../../types.js';
import { type OAuthClient, ProviderApiError } from '../../upstream-oauth.js';
import type { ProviderDeps } from '../index.js';
import { githubIcon } from './icon.js';
import { githubSetup } from './setup.js';

/**
 * Top-level paths of github.com that are pages, not accounts (GitHub reserves these names, so no
 * account can hold them; listing them keeps such links from being offered as a way to sign in).
 */
const RESERVED = new Set([
  'about',
  'account',
  'apps',
  'blog',
  'codespaces',
  'collections',
  'contact',
  'customer-stories',
  'dashboard',
  'discussions',
  'enterprise',
  'events',
  'explore',
  'features',
  'issues',
  'join',
  'login',
  'logout',
  'marketplace',
  'new',
  'notifications',
  'organizations',
  'orgs',
  'pricing',
  'pulls',
  'readme',
  'search',
  'security',
  'sessions',
  'settings',
  'signup',
  'site',
  'sponsors',
  'stars',
  'team',
  'teams',
  'topics',
  'trending',
  'users',
  'watching',
]);

/** GitHub logins: alphanumerics and single hyphens, not at either end, at most 39 characters. */
export const GITHUB_LOGIN: AccountPattern = {
  account: /[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/,
  reserved: RESERVED,
  www: true,
};

/** The fields of GitHub's user object Latchkey reads (REST "Get a user", "Get the authenticated user"). */
const GitHubUser = z.object({
  login: z.string(),
  html_url: z.optional(z.string()),
  blog: z.nullish(z.string()),
  bio: z.nullish(z.string()),
});
type GitHubUser = z.infer<typeof GitHubUser>;

/** REST "List social accounts for a user": `[{"provider": "twitter", "url": "https://…"}]`. */
const SocialAccounts = z.array(z.object({ provider: z.string(), url: z.string() }));
type SocialAccounts = z.infer<typeof SocialAccounts>;

const API_HEADERS = { 'x-github-api-version': '2022-11-28' };
const API_ACCEPT = 'application/vnd.github+json';

function basic(app: OAuthAppConfig): string {
  return `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`;
}

function profileOf(user: GitHubUser, social: SocialAccounts): ProviderProfile {
  return {
    account: user.login,
    ...(user.html_url ? { url: user.html_url } : {}),
    links: profileLinks(
      [['website field', user.blog], ...social.map((one) => ['social accounts', one.url] as const)],
      [['bio', user.bio]],
    ),
  };
}

/** The GitHub spec for one configured app (GITHUB_URL, GITHUB_API_URL, GITHUB_CLIENT_*). */
export function githubSpec(app: OAuthAppConfig, deps: Pick<ProviderDeps, 'fetcher'>): OAuthProviderSpec {
  const instance = instanceOf(app);
  const api = app.apiUrl;
  const json = <T>(path: string, schema: z.ZodMiniType<T>, authorization: string) =>
    providerJson(deps.fetcher, `${api}${path}`, schema, {
      accept: API_ACCEPT,
      headers: { ...API_HEADERS, authorization },
    });

  return {
    id: 'github',
    name: 'GitHub',
    icon: githubIcon,
    setup: githubSetup(instance.host),
    backLinkHint: "Add your site to your GitHub profile's website field.",

    recognise: (url) => recogniseProfileUrl(url, [instance], GITHUB_LOGIN),

    async client(): Promise<OAuthClient> {
      return {
        name: 'GitHub',
        issuer: app.url,
        authorizationEndpoint: `${app.url}/login/oauth/authorize`,
        tokenEndpoint: `${app.url}/login/oauth/access_token`,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        auth: 'post',
      };
    },

    // No scope: GitHub then grants read access to public information only. `prompt=select_account`
    // shows GitHub's account picker when the app asked for a fresh login (prompt=login).
    authorizationParams: (_instance, forceLogin) => ({
      allow_signup: 'false',
      prompt: forceLogin ? 'select_account' : undefined,
    }),

    async publicProfile(_instance: ProviderInstance, login: string) {
      const path = `/users/${encodeURIComponent(login)}`;
      // Both reads at once (DESIGN: sign-in fetches run concurrently). Social accounts are extra
      // places to link back from; without them the other fields still count.
      const [user, social] = await Promise.all([
        providerJson(deps.fetcher, `${api}${path}`, GitHubUser, {
          accept: API_ACCEPT,
          headers: { ...API_HEADERS, authorization: basic(app) },
          notFound: 'undefined',
        }),
        json(`${path}/social_accounts`, SocialAccounts, basic(app)).catch(() => []),
      ]);
      if (!user) return undefined;
      return profileOf(user, social);
    },

    async authenticatedProfile(_instance: ProviderInstance, accessToken: string) {
      const bearer = `Bearer ${accessToken}`;
      const [user, social] = await Promise.all([
        json('/user', GitHubUser, bearer),
        json('/user/social_accounts', SocialAccounts, bearer).catch(() => []),
      ]);
      return profileOf(user, social);
    },

    sameAccount: (a, b) => a.toLowerCase() === b.toLowerCase(),

    async revoke(_instance, client, accessToken) {
      const response = await deps.fetcher(
        `${api}/applications/${encodeURIComponent(client.clientId)}/token`,
        {
          method: 'DELETE',
          accept: API_ACCEPT,
          maxBytes: LIMITS.json,
          maxRedirects: 0,
          headers: { ...API_HEADERS, authorization: basic(app) },
          contentType: 'application/json',
          body: JSON.stringify({ access_token: accessToken }),
        },
      );
      // 204 No Content when revoked; 404/422 when GitHub no longer knows the token.
      if (response.status !== 204 && response.status !== 200)
        throw new ProviderApiError(`it answered HTTP ${response.status}`);
    },
  };
}

/** PROTOCOL §9.1: without GITHUB_CLIENT_ID/SECRET, GitHub is not offered. */
export function githubMethods(deps: ProviderDeps): AnyMethod[] {
  const app = deps.config.providers.github;
  if (!app) return [];
  return [oauthProviderMethod(githubSpec(app, deps), { upstream: deps.upstream, fetcher: deps.fetcher })];
}
