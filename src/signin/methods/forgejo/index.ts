/**
 * Forgejo and Gitea (PROTOCOL §9.1): the Codeberg preset (CODEBERG_*) and every instance added with
 * `latchkey providers add forgejo URL`; only its differences from oauth-provider.ts.
 *
 * - Links: `<instance>/<login>` for each instance (anchored, SECURITY F5); logins as Forgejo allows
 *   them (letters and digits, single `-`, `_` or `.` between them, at most 40), its reserved
 *   top-level names excluded.
 * - OAuth: `URL/login/oauth/authorize` with PKCE S256 and `state`; `POST URL/login/oauth/access_token`.
 *   Forgejo has no revocation endpoint: Latchkey simply does not keep the token.
 * - Profile: public `GET URL/api/v1/users/<login>`; after the round trip the authenticated
 *   `GET URL/api/v1/user`. Back-links: `website` and every URL in `description` (SECURITY F4, F11).
 */
import * as z from 'zod/mini';
import {
  type AccountPattern,
  AddedInstances,
  type OAuthProviderSpec,
  oauthProviderMethod,
  type ProviderInstance,
  type ProviderProfile,
  profileLinks,
  providerJson,
  recogniseProfileUrl,
} from '../../oauth-provider.js';
import type { AnyMethod } from '../../types.js';
import type { ProviderDeps } from '../index.js';
import { forgejoIcon } from './icon.js';
import { forgejoSetup } from './setup.js';

/** Names Forgejo/Gitea reserve for their own top-level routes (user_model reservedUsernames). */
const RESERVED = new Set([
  '-',
  '.well-known',
  'admin',
  'api',
  'assets',
  'attachments',
  'avatar',
  'avatars',
  'captcha',
  'commits',
  'debug',
  'error',
  'explore',
  'favicon.ico',
  'ghost',
  'issues',
  'login',
  'manifest.json',
  'metrics',
  'milestones',
  'new',
  'notifications',
  'org',
  'pulls',
  'raw',
  'repo',
  'repo-avatars',
  'robots.txt',
  'search',
  'serviceworker.js',
  'ssh_info',
  'swagger.v1.json',
  'user',
  'v2',
]);

/** Forgejo logins: alphanumerics with single `-`, `_` or `.` between them, at most 40 characters. */
export const FORGEJO_LOGIN: AccountPattern = {
  account: /(?=.{1,40}$)[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*/,
  reserved: RESERVED,
};

/** The API's `User` object (swagger "User"): the fields Latchkey reads. */
const ForgejoUser = z.object({
  login: z.string(),
  html_url: z.optional(z.string()),
  website: z.nullish(z.string()),
  description: z.nullish(z.string()),
});
type ForgejoUser = z.infer<typeof ForgejoUser>;

function profileOf(user: ForgejoUser): ProviderProfile {
  return {
    account: user.login,
    ...(user.html_url ? { url: user.html_url } : {}),
    links: profileLinks([['website field', user.website]], [['description', user.description]]),
  };
}

/** The Forgejo spec over the Codeberg preset and the added instances. */
export function forgejoSpec(deps: Pick<ProviderDeps, 'config' | 'fetcher' | 'instances'>): OAuthProviderSpec {
  const instances = new AddedInstances(deps.instances, 'forgejo', deps.config.providers.forgejo);
  const api = (instance: ProviderInstance, path: string) => `${instance.base}/api/v1${path}`;

  return {
    id: 'forgejo',
    name: 'Forgejo',
    icon: forgejoIcon,
    setup: forgejoSetup,
    backLinkHint: "Add your site to your Forgejo profile's Website field.",

    available: async () => (await instances.all()).length > 0,
    recognise: async (url) => recogniseProfileUrl(url, await instances.all(), FORGEJO_LOGIN),

    async client(instance) {
      const app = await instances.app(instance);
      return {
        name: instance.host === 'codeberg.org' ? 'Codeberg' : `Forgejo at ${instance.host}`,
        issuer: app.url,
        authorizationEndpoint: `${app.url}/login/oauth/authorize`,
        tokenEndpoint: `${app.url}/login/oauth/access_token`,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        auth: 'post',
      };
    },

    authorizationParams: () => ({}),

    publicProfile: async (instance, login) => {
      const user = await providerJson(
        deps.fetcher,
        api(instance, `/users/${encodeURIComponent(login)}`),
        ForgejoUser,
        { notFound: 'undefined' },
      );
      return user ? profileOf(user) : undefined;
    },

    async authenticatedProfile(instance, accessToken) {
      const user = await providerJson(deps.fetcher, api(instance, '/user'), ForgejoUser, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      return profileOf(user);
    },

    // Forgejo logins are unique regardless of case (its `lower_name`).
    sameAccount: (a, b) => a.toLowerCase() === b.toLowerCase(),
  };
}

/** Always present: instances may be added while Latchkey runs; with none, no link is recognised. */
export function forgejoMethods(deps: ProviderDeps): AnyMethod[] {
  return [oauthProviderMethod(forgejoSpec(deps), { upstream: deps.upstream, fetcher: deps.fetcher })];
}
