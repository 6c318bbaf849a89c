/**
 * Mastodon and API-compatible servers (GoToSocial, Akkoma, Pleroma…), PROTOCOL §9.1: only their
 * differences from the shared provider method (oauth-provider.ts). Offered on every Latchkey with no
 * operator set-up, because Latchkey registers itself with each instance on first use.
 *
 * - Links: `https://<host>/@<user>` or `https://<host>/users/<user>` (https only, anchored, user
 *   `[A-Za-z0-9_]+`, one optional trailing `/`; SECURITY F5). Any host may be an instance, so a link
 *   is offered only once the host answers `GET /api/v1/instance` like a Mastodon-API server, or its
 *   nodeinfo 2.x names such software. Probes run concurrently (the registry recognises all links at
 *   once), are coalesced per host and cached in memory (10 min when it is one, 1 min when not).
 * - Registration: `POST /api/v1/apps` with `client_name`, `redirect_uris` = the host's own callback
 *   (`ISSUER/signin/mastodon/callback/<host>`: anyone may name a server, so an answer must say by
 *   its address which server it is for, RFC 9700 §4.4.2.2), `scopes` =
 *   `profile` (Mastodon 4.3+: only verify_credentials) or, when the server refuses that scope (older
 *   Mastodon answers 422), `read:accounts`, and `website` = ISSUER. `client_id` and the sealed
 *   `client_secret` are stored per host (SECURITY D7) and reused; a registration the token endpoint
 *   later refuses (`invalid_client`) is forgotten and made again, once.
 * - OAuth: `/oauth/authorize` (PKCE S256, `state`, `scope`, `force_login=true` on prompt=login),
 *   `POST /oauth/token` (the secret in the form, `scope` repeated as Mastodon's docs ask),
 *   `POST /oauth/revoke` (RFC 7009) right after the profile read.
 * - Profile: public `GET /api/v1/accounts/lookup?acct=<user>` before the person leaves,
 *   authenticated `GET /api/v1/accounts/verify_credentials` after. The account's `url` must be the
 *   rel=me link (SECURITY F11) and its username the link's; back-links come from the HTML of each
 *   `fields[].value` (Mastodon's `verified_at` shown as evidence) and from URLs in the `note` (F4).
 */
import * as z from 'zod/mini';
import { FetchError, type Fetcher, type FetchResult, LIMITS } from '../../../net/types.js';
import { findMastodonApp, forgetMastodonApp, putMastodonApp } from '../../../store/providers.js';
import { openSecret, sealSecret } from '../../../tokens/secrets.js';
import {
  type OAuthProviderSpec,
  oauthProviderMethod,
  type ProviderInstance,
  type ProviderProfile,
  profileLinks,
  providerJson,
} from '../../oauth-provider.js';
import { type BackLink, urlsInText } from '../../relme.js';
import type { AnyMethod } from '../../types.js';
import { type OAuthClient, ProviderApiError, UpstreamError } from '../../upstream-oauth.js';
import type { ProviderDeps } from '../index.js';
import { mastodonIcon } from './icon.js';
import { mastodonSetup } from './setup.js';

export const MASTODON = 'mastodon';

/** Seconds a probe answer is trusted: a server stays what it is; a failure may be a hiccup. */
export const PROBE_TTL = { yes: 600, no: 60 } as const;

/** The scope Latchkey asks for, and the one for servers that do not know it (Mastodon < 4.3). */
export const SCOPES = { preferred: 'profile', fallback: 'read:accounts' } as const;

/**
 * Big sites whose profile URLs look like `/@user` or `/users/user` but that speak no Mastodon API:
 * never worth a probe (the probe would fail anyway; this only saves the request).
 */
const NOT_MASTODON = new Set([
  'bsky.app',
  'codeberg.org',
  'facebook.com',
  'github.com',
  'gitlab.com',
  'instagram.com',
  'linkedin.com',
  'medium.com',
  'reddit.com',
  'threads.net',
  'tiktok.com',
  'twitter.com',
  'x.com',
  'youtube.com',
]);

/** Software names in nodeinfo (`software.name`) of servers that offer Mastodon's client API. */
const MASTODON_API_SOFTWARE = new Set([
  'mastodon',
  'hometown',
  'glitchsoc',
  'fedibird',
  'gotosocial',
  'akkoma',
  'pleroma',
]);

/** A host name: dot-separated LDH labels, the last starting with a letter (so no IPv4 literal). */
const HOST = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const PROFILE_URL = /^https:\/\/([^/?#@:\s]+)\/(@|users\/)([A-Za-z0-9_]+)\/?$/;

/** A profile link's parts: host (lowercased), how the path spells it, and the username. */
export interface MastodonLink {
  host: string;
  form: '@' | 'users';
  username: string;
}

/**
 * SECURITY F5: `https://<host>/@<user>` or `https://<host>/users/<user>`, anchored on the raw link,
 * so no port, user name, query, fragment or deeper path rides along (`/@alice@other.example`, a
 * remote account shown by this server, is not this server's account).
 */
export function parseMastodonLink(url: string): MastodonLink | undefined {
  const match = PROFILE_URL.exec(url);
  const host = match?.[1]?.toLowerCase();
  const username = match?.[3];
  if (!match || !host || !username || !HOST.test(host)) return undefined;
  return { host, form: match[2] === '@' ? '@' : 'users', username };
}

/** `GET /api/v1/instance` (Mastodon's v1 Instance entity; GoToSocial, Akkoma and Pleroma serve it too). */
const InstanceV1 = z.union([
  z.object({ uri: z.string().check(z.minLength(1)), version: z.string() }),
  z.object({ domain: z.string().check(z.minLength(1)), version: z.string() }),
]);

/** `/.well-known/nodeinfo`: `{"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": …}]}`. */
const NodeInfoLinks = z.object({ links: z.array(z.object({ rel: z.string(), href: z.string() })) });
const NodeInfo = z.object({ software: z.object({ name: z.string() }) });
const NODEINFO_2 = /^https?:\/\/nodeinfo\.diaspora\.software\/ns\/schema\/2\.\d+$/;

function parsed<T>(schema: z.ZodMiniType<T>, body: string): T | undefined {
  try {
    const result = schema.safeParse(JSON.parse(body));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a host is a Mastodon-API server, asked once per host at a time and remembered for a while
 * (PROTOCOL §9.1). Every fetch goes through the safe fetcher (private addresses refused, SECURITY
 * G1) and follows no redirect to somewhere else.
 */
/** Probe answers kept in memory at most; links are the visitor's to write, so hosts are unbounded. */
const MAX_KNOWN_HOSTS = 5000;

export class InstanceProbe {
  private readonly known = new Map<string, { yes: boolean; until: number }>();
  private readonly asking = new Map<string, Promise<boolean>>();

  constructor(
    private readonly fetcher: Fetcher,
    private readonly clock: () => number,
  ) {}

  isMastodonApi(host: string): Promise<boolean> {
    if (NOT_MASTODON.has(host.replace(/^www\./, ''))) return Promise.resolve(false);
    const known = this.known.get(host);
    if (known && known.until > this.clock()) return Promise.resolve(known.yes);
    const pending = this.asking.get(host);
    if (pending) return pending;
    const asked = this.ask(host)
      .catch(() => false)
      .then((yes) => {
        this.known.delete(host);
        this.known.set(host, { yes, until: this.clock() + (yes ? PROBE_TTL.yes : PROBE_TTL.no) });
        // A Map iterates in insertion order: the first key is the oldest answer.
        if (this.known.size > MAX_KNOWN_HOSTS) this.known.delete(this.known.keys().next().value as string);
        this.asking.delete(host);
        return yes;
      });
    this.asking.set(host, asked);
    return asked;
  }

  private async get(url: string): Promise<string | undefined> {
    try {
      const response = await this.fetcher(url, {
        accept: 'application/json',
        maxBytes: LIMITS.json,
        maxRedirects: 0,
      });
      return response.status === 200 ? response.body : undefined;
    } catch {
      return undefined;
    }
  }

  private async ask(host: string): Promise<boolean> {
    const instance = await this.get(`https://${host}/api/v1/instance`);
    if (instance !== undefined && parsed(InstanceV1, instance)) return true;
    // nodeinfo 2.x, for servers whose v1 instance document is missing, private or too large.
    const index = parsed(NodeInfoLinks, (await this.get(`https://${host}/.well-known/nodeinfo`)) ?? '');
    const href = index?.links.find((link) => NODEINFO_2.test(link.rel))?.href;
    let url: URL;
    try {
      url = new URL(href ?? '');
    } catch {
      return false;
    }
    // Only this host's own nodeinfo speaks for this host's API.
    if (url.protocol !== 'https:' || url.host !== host) return false;
    const info = parsed(NodeInfo, (await this.get(url.href)) ?? '');
    return info !== undefined && MASTODON_API_SOFTWARE.has(info.software.name.toLowerCase());
  }
}

/** The parts of Mastodon's Account entity Latchkey reads (docs.joinmastodon.org/entities/Account). */
const Account = z.object({
  username: z.string(),
  acct: z.string(),
  url: z.string(),
  note: z.nullish(z.string()),
  fields: z.nullish(
    z.array(z.object({ name: z.string(), value: z.string(), verified_at: z.nullish(z.string()) })),
  ),
});
type Account = z.infer<typeof Account>;

/** `POST /api/v1/apps` answers a (Credential)Application entity; Latchkey keeps only these two. */
const Application = z.object({
  client_id: z.string().check(z.minLength(1)),
  client_secret: z.string().check(z.minLength(1)),
});

/** What evidenceNote needs beyond ProviderProfile: which host verified which field link, and when. */
interface Verification {
  host: string;
  verifiedAt: Map<string, string>;
}

const verifications = new WeakMap<ProviderProfile, Verification>();

function profileOf(host: string, account: Account): ProviderProfile {
  const fields = account.fields ?? [];
  const where = (name: string) => `profile field "${name.replace(/\s+/g, ' ').trim().slice(0, 40)}"`;
  // Field values and the note are HTML: urlsInText reads their hrefs and their text (PROTOCOL §9.1).
  const profile: ProviderProfile = {
    account: account.username,
    url: account.url,
    links: profileLinks(
      [],
      [...fields.map((field) => [where(field.name), field.value] as const), ['bio', account.note]],
    ),
  };
  // Keyed by place and URL, so only the link Mastodon itself checked carries its `verified_at`.
  const verifiedAt = new Map<string, string>();
  for (const field of fields) {
    if (!field.verified_at) continue;
    for (const url of urlsInText(field.value))
      verifiedAt.set(`${where(field.name)} ${url}`, field.verified_at);
  }
  verifications.set(profile, { host, verifiedAt });
  return profile;
}

/** "2024-05-01 10:31 UTC", or undefined when the server sent something that is not a time. */
function when(iso: string): string | undefined {
  const time = new Date(iso);
  return Number.isNaN(time.getTime())
    ? undefined
    : `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A Mastodon API call's failure in words (PROTOCOL §9.1: the page names the host, never a 500). */
function answerWords(status: number, body: string): string {
  const error = parsed(z.object({ error: z.string() }), body)?.error.slice(0, 200);
  return `it answered HTTP ${status}${error ? ` ("${error}")` : ''}`;
}

const SECRET_PURPOSE = 'mastodon-client-secret';

interface Registration {
  clientId: string;
  clientSecret: string;
  scopes: string;
}

/**
 * Latchkey's app registration per host (`mastodon_apps`): read from the store, else made with
 * `POST /api/v1/apps` — one registration at a time per host in this process; between processes the
 * store keeps the first (putMastodonApp). The secret is stored sealed (SECURITY D7).
 */
class Registrations {
  private readonly making = new Map<string, Promise<Registration>>();

  constructor(
    private readonly deps: ProviderDeps,
    /** The redirect URI registered for a host: one per host (OAuthClient.callbackServer). */
    private readonly callback: (host: string) => string,
  ) {}

  async get(host: string): Promise<Registration> {
    const row = await findMastodonApp(this.deps.store.db, host);
    if (row) {
      const clientSecret = openSecret(SECRET_PURPOSE, row.client_secret_sealed, this.deps.secrets);
      // A registration for another callback (LATCHKEY_URL changed) or sealed under a key that is no
      // longer configured cannot be used: register again.
      if (row.redirect_uri === this.callback(host) && clientSecret !== undefined)
        return { clientId: row.client_id, clientSecret, scopes: row.scopes };
      await forgetMastodonApp(this.deps.store.db, host);
    }
    const pending = this.making.get(host);
    if (pending) return pending;
    const made = this.register(host).finally(() => this.making.delete(host));
    this.making.set(host, made);
    return made;
  }

  forget(host: string): Promise<void> {
    return forgetMastodonApp(this.deps.store.db, host);
  }

  private async post(host: string, scopes: string) {
    const body = new URLSearchParams({
      client_name: `Latchkey (${new URL(this.deps.config.publicUrl).host})`,
      redirect_uris: this.callback(host),
      scopes,
      website: this.deps.config.publicUrl,
    });
    return this.deps.fetcher(`https://${host}/api/v1/apps`, {
      method: 'POST',
      accept: 'application/json',
      maxBytes: LIMITS.json,
      maxRedirects: 0,
      contentType: 'application/x-www-form-urlencoded',
      body: body.toString(),
    });
  }

  private async register(host: string): Promise<Registration> {
    const refused = (why: string) =>
      new UpstreamError(`${host} refused to register Latchkey as an app: ${why}.`);
    let scopes: string = SCOPES.preferred;
    let response: FetchResult;
    try {
      response = await this.post(host, scopes);
      // Mastodon before 4.3 does not know `profile` and answers 422 (Doorkeeper's scope validation);
      // other servers may say 400. Any other refusal is not about the scope.
      if (response.status === 422 || response.status === 400) {
        scopes = SCOPES.fallback;
        response = await this.post(host, scopes);
      }
    } catch (error) {
      throw new UpstreamError(
        `Latchkey could not register with ${host}: ${error instanceof FetchError ? error.message : 'the request failed'}.`,
      );
    }
    if (response.status !== 200) throw refused(answerWords(response.status, response.body));
    const app = parsed(Application, response.body);
    if (!app) throw refused('its answer was not an application with a client_id and client_secret');
    const stored = await putMastodonApp(this.deps.store.db, {
      host,
      redirect_uri: this.callback(host),
      scopes,
      client_id: app.client_id,
      client_secret_sealed: sealSecret(SECRET_PURPOSE, app.client_secret, this.deps.secrets),
      created_at: this.deps.clock(),
    });
    // Another process may have stored its registration first; that one is used everywhere.
    const clientSecret = openSecret(SECRET_PURPOSE, stored.client_secret_sealed, this.deps.secrets);
    return clientSecret === undefined
      ? { clientId: app.client_id, clientSecret: app.client_secret, scopes }
      : { clientId: stored.client_id, clientSecret, scopes: stored.scopes };
  }
}

/** The Mastodon spec: no configuration, every Mastodon-API instance (PROTOCOL §9.1). */
export function mastodonSpec(deps: ProviderDeps): OAuthProviderSpec {
  const probe = new InstanceProbe(deps.fetcher, deps.clock);
  const registrations = new Registrations(deps, (host) =>
    deps.upstream.redirectUri(MASTODON, { callbackServer: host }),
  );
  // The scope registered per host, for the authorization request that follows `client()`.
  const scopes = new Map<string, string>();
  const base = (instance: ProviderInstance) => `https://${instance.host}`;

  async function lookup(
    instance: ProviderInstance,
    username: string,
  ): Promise<Account | undefined | 'not public'> {
    const response = await deps.fetcher(
      `${base(instance)}/api/v1/accounts/lookup?acct=${encodeURIComponent(username)}`,
      { accept: 'application/json', maxBytes: LIMITS.json, maxRedirects: 0 },
    );
    // 404: no such account; 410: suspended or gone. 401/403: the server shows accounts to logged-in
    // clients only (GoToSocial, Mastodon with DISALLOW_UNAUTHENTICATED_API_ACCESS).
    if (response.status === 404 || response.status === 410) return undefined;
    if (response.status === 401 || response.status === 403) return 'not public';
    if (response.status !== 200) throw new ProviderApiError(answerWords(response.status, response.body));
    const account = parsed(Account, response.body);
    if (!account) throw new ProviderApiError('its answer was not a Mastodon account');
    return account;
  }

  return {
    id: MASTODON,
    name: 'Mastodon',
    icon: mastodonIcon,
    setup: mastodonSetup,
    backLinkHint:
      'Add your site to one of the extra fields on your Mastodon profile (Edit profile), or put its address in your bio.',

    async recognise(url) {
      const link = parseMastodonLink(url);
      if (!link || !(await probe.isMastodonApi(link.host))) return undefined;
      return { instance: { base: `https://${link.host}`, host: link.host }, account: link.username };
    },

    async client(instance): Promise<OAuthClient> {
      const registration = await registrations.get(instance.host);
      scopes.set(instance.host, registration.scopes);
      return {
        name: instance.host,
        issuer: `${base(instance)}/`,
        authorizationEndpoint: `${base(instance)}/oauth/authorize`,
        tokenEndpoint: `${base(instance)}/oauth/token`,
        revocationEndpoint: `${base(instance)}/oauth/revoke`,
        clientId: registration.clientId,
        clientSecret: registration.clientSecret,
        auth: 'post',
        tokenParameters: { scope: registration.scopes },
        // Anyone may name a Mastodon server: each gets its own redirect URI (mix-up defence).
        callbackServer: instance.host,
      };
    },

    authorizationParams: (instance, forceLogin) => ({
      scope: scopes.get(instance.host) ?? SCOPES.preferred,
      force_login: forceLogin ? 'true' : undefined,
    }),

    async publicProfile(instance, username) {
      const account = await lookup(instance, username);
      if (account === undefined || account === 'not public') return account;
      // `acct` has a domain only for accounts of other servers: not one this server can sign in.
      if (account.acct.includes('@')) return undefined;
      return profileOf(instance.host, account);
    },

    async authenticatedProfile(instance, accessToken) {
      const account = await providerJson(
        deps.fetcher,
        `${base(instance)}/api/v1/accounts/verify_credentials`,
        Account,
        { headers: { authorization: `Bearer ${accessToken}` } },
      );
      return profileOf(instance.host, account);
    },

    // Mastodon usernames are unique regardless of case (its lookups ignore case).
    sameAccount: (a, b) => a.toLowerCase() === b.toLowerCase(),

    // SECURITY F11: the account's own `url` is the link on the site — same host, same spelling
    // (`/@user` or `/users/user`), same username — so the site really names this account.
    sameProfile(link, profile) {
      const linked = parseMastodonLink(link);
      const own = profile.url ? parseMastodonLink(profile.url) : undefined;
      if (
        linked &&
        own &&
        own.host === linked.host &&
        own.form === linked.form &&
        own.username.toLowerCase() === linked.username.toLowerCase()
      )
        return undefined;
      return `Your site links to ${link}, but the ${linked?.host ?? 'Mastodon'} account ${profile.account} gives its address as ${profile.url ?? '(none)'}. Link to exactly that address with rel="me".`;
    },

    evidenceNote(profile: ProviderProfile, backLink: BackLink) {
      const verification = verifications.get(profile);
      const at = verification?.verifiedAt.get(`${backLink.where} ${backLink.url}`);
      const time = at ? when(at) : undefined;
      return verification && time ? `verified by ${verification.host} at ${time}` : undefined;
    },

    async clientRejected(instance) {
      await registrations.forget(instance.host);
      scopes.delete(instance.host);
      return true;
    },
  };
}

/** Always one method: Mastodon needs no operator set-up (PROTOCOL §9.1). */
export function mastodonMethods(deps: ProviderDeps): AnyMethod[] {
  return [oauthProviderMethod(mastodonSpec(deps), { upstream: deps.upstream, fetcher: deps.fetcher })];
}
