/**
 * GitLab (PROTOCOL §9.1): the gitlab.com preset (GITLAB_*) and every instance added with
 * `latchkey providers add gitlab URL`; only its differences from oauth-provider.ts.
 *
 * - Links: `<instance>/<username>` for each instance (anchored, SECURITY F5); usernames as GitLab
 *   allows them (letters, digits, `_`, `.`, `-`; not ending in `.git` or `.atom`), GitLab's own
 *   top-level pages excluded.
 * - OAuth: `URL/oauth/authorize` with `scope=read_user`, PKCE S256 and `state`; `POST URL/oauth/token`;
 *   the token is revoked afterwards at `POST URL/oauth/revoke` (RFC 7009, GitLab's Doorkeeper).
 * - Profile: public `GET URL/api/v4/users?username=<u>` finds the account; the list answers only
 *   basic fields to non-admins (id, username, name, state, avatar_url, web_url), so the profile
 *   fields come from `GET URL/api/v4/users/:id`; after the round trip the authenticated
 *   `GET URL/api/v4/user`. Back-links: `website_url` and every URL in `bio` (SECURITY F4, F11).
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
import { gitlabIcon } from './icon.js';
import { gitlabSetup } from './setup.js';

/** GitLab's top-level routes that are not namespaces (PROTOCOL §9.1 names these). */
const RESERVED = new Set([
  '.',
  '..',
  '-',
  'admin',
  'api',
  'dashboard',
  'explore',
  'groups',
  'help',
  'oauth',
  'projects',
  'search',
  'snippets',
  'users',
]);

/** GitLab usernames: `[A-Za-z0-9_.-]+`, never ending in `.git` or `.atom` (those are repository paths). */
export const GITLAB_USERNAME: AccountPattern = {
  account: /(?!.*\.(?:git|atom)$)[A-Za-z0-9_.-]{1,255}/i,
  reserved: RESERVED,
};

/** Users API "List users" as a non-admin sees it: basic fields only. */
const UserList = z.array(z.object({ id: z.number(), username: z.string() }));

/** Users API "Get a single user" / "Get the current user": the fields Latchkey reads. */
const GitLabUser = z.object({
  username: z.string(),
  web_url: z.optional(z.string()),
  website_url: z.nullish(z.string()),
  bio: z.nullish(z.string()),
});
type GitLabUser = z.infer<typeof GitLabUser>;

function profileOf(user: GitLabUser): ProviderProfile {
  return {
    account: user.username,
    ...(user.web_url ? { url: user.web_url } : {}),
    links: profileLinks([['website field', user.website_url]], [['bio', user.bio]]),
  };
}

/** The GitLab spec over the preset and the added instances. */
export function gitlabSpec(deps: Pick<ProviderDeps, 'config' | 'fetcher' | 'instances'>): OAuthProviderSpec {
  const instances = new AddedInstances(deps.instances, 'gitlab', deps.config.providers.gitlab);
  const api = (instance: ProviderInstance, path: string) => `${instance.base}/api/v4${path}`;

  return {
    id: 'gitlab',
    name: 'GitLab',
    icon: gitlabIcon,
    setup: gitlabSetup,
    backLinkHint: "Add your site to your GitLab profile's Website field.",

    available: async () => (await instances.all()).length > 0,
    recognise: async (url) => recogniseProfileUrl(url, await instances.all(), GITLAB_USERNAME),

    async client(instance) {
      const app = await instances.app(instance);
      return {
        name: instance.host === 'gitlab.com' ? 'GitLab' : `GitLab at ${instance.host}`,
        issuer: app.url,
        authorizationEndpoint: `${app.url}/oauth/authorize`,
        tokenEndpoint: `${app.url}/oauth/token`,
        revocationEndpoint: `${app.url}/oauth/revoke`,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        auth: 'post',
      };
    },

    authorizationParams: () => ({ scope: 'read_user' }),

    async publicProfile(instance, username) {
      const found = await providerJson(
        deps.fetcher,
        api(instance, `/users?${new URLSearchParams({ username })}`),
        UserList,
      );
      const entry = found.find((user) => user.username.toLowerCase() === username.toLowerCase());
      if (!entry) return undefined;
      const user = await providerJson(deps.fetcher, api(instance, `/users/${entry.id}`), GitLabUser, {
        notFound: 'undefined',
      });
      return user ? profileOf(user) : undefined;
    },

    async authenticatedProfile(instance, accessToken) {
      const user = await providerJson(deps.fetcher, api(instance, '/user'), GitLabUser, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      return profileOf(user);
    },

    // GitLab usernames are unique regardless of case.
    sameAccount: (a, b) => a.toLowerCase() === b.toLowerCase(),
  };
}

/** Always present: instances may be added while Latchkey runs; with none, no link is recognised. */
export function gitlabMethods(deps: ProviderDeps): AnyMethod[] {
  return [oauthProviderMethod(gitlabSpec(deps), { upstream: deps.upstream, fetcher: deps.fetcher })];
}
