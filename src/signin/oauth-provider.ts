/**
 * An OAuth provider as a sign-in method (PROTOCOL §9.1), written once: a provider folder declares
 * only its differences — which links it recognises, its instances and endpoints, how to read a
 * public and an authenticated profile, and where a profile links back. The shared steps are:
 *
 *   recognise the rel=me link (anchored, configured instances only — SECURITY F5)
 *   → read the PUBLIC profile: the account must exist and link back, else say what to add, before
 *     the person logs in there
 *   → OAuth with PKCE and a single-use, session-bound `state` (upstream-oauth.ts, SECURITY E5)
 *   → read the AUTHENTICATED profile: the same account (SECURITY F11), linking back again (F4)
 *   → revoke the provider token; Latchkey keeps none.
 */
import * as z from 'zod/mini';
import type { OAuthAppConfig } from '../config.js';
import { type Fetcher, LIMITS } from '../net/types.js';
import type { AddableProvider, ProviderInstances } from './provider-instances.js';
import { type BackLink, findBackLink, type ProfileLink, urlsInText } from './relme.js';
import type { Candidate, Method, MethodContext, MethodSetup, StepOutcome } from './types.js';
import {
  describe,
  type OAuthClient,
  oauthErrorCode,
  ProviderApiError,
  UpstreamError,
  type UpstreamOAuth,
} from './upstream-oauth.js';

/** What a provider reads from a profile. */
export interface ProviderProfile {
  /** The account name as the provider spells it (login, username, acct). */
  account: string;
  /** The profile's own URL, when the provider gives one (Mastodon's `url` must equal the link). */
  url?: string;
  /** Every place the profile may link back from. */
  links: ProfileLink[];
}

/** One server of a provider (github.com, a GitLab instance, one Mastodon host). */
export interface ProviderInstance {
  /** Base URL, e.g. `https://github.com`. */
  base: string;
  /** Its host for people, e.g. `github.com`. */
  host: string;
}

/** A recognised link: the account it names on an instance. */
export interface RecognisedAccount {
  instance: ProviderInstance;
  account: string;
}

/** The differences of one provider. */
export interface OAuthProviderSpec {
  id: string;
  /** "GitHub", "GitLab", "Forgejo", "Mastodon". */
  name: string;
  /** Latchkey's own SVG for the chooser. */
  icon?: string;
  /** False while there is no instance to sign in with (default: true). */
  available?(): Promise<boolean>;
  /** Its section of `/setup`. */
  setup?: MethodSetup;
  /** Recognises a rel=me link; may ask the host what it is (a Mastodon probe). */
  recognise(url: string): RecognisedAccount | undefined | Promise<RecognisedAccount | undefined>;
  /** Latchkey's registration at an instance (configured, stored, or made now). */
  client(instance: ProviderInstance): Promise<OAuthClient>;
  /** Extra authorization parameters (scope, allow_signup=false, force_login…). */
  authorizationParams(instance: ProviderInstance, forceLogin: boolean): Record<string, string | undefined>;
  /**
   * The public profile; undefined when there is no such account; `'not public'` when the instance
   * shows profiles only to logged-in clients (GoToSocial, Mastodon's DISALLOW_UNAUTHENTICATED_API_ACCESS):
   * then the checks run only on the authenticated profile, which is the one that proves anything.
   */
  publicProfile(
    instance: ProviderInstance,
    account: string,
  ): Promise<ProviderProfile | undefined | 'not public'>;
  authenticatedProfile(instance: ProviderInstance, accessToken: string): Promise<ProviderProfile>;
  /** Accounts compare this way (GitHub logins are case-insensitive). */
  sameAccount(a: string, b: string): boolean;
  /** For the "does not link back" page: the field people should fill in. */
  backLinkHint: string;
  /** Revokes the token when the provider has no RFC 7009 endpoint (GitHub); default: RFC 7009. */
  revoke?(instance: ProviderInstance, client: OAuthClient, accessToken: string): Promise<void>;
  /** Extra checks on the public and authenticated profiles (Mastodon: the account `url` equals the link). */
  sameProfile?(link: string, profile: ProviderProfile): string | undefined;
  /**
   * The token endpoint refused Latchkey's registration (RFC 6749 §5.2 `invalid_client`). A provider
   * that registers itself (Mastodon) forgets it and answers true: the person is then sent once
   * more through a fresh registration; never twice (no loop).
   */
  clientRejected?(instance: ProviderInstance): Promise<boolean>;
  /** How the evidence names a back-link (Mastodon shows `verified_at`). */
  evidenceNote?(profile: ProviderProfile, backLink: BackLink): string | undefined;
}

const ProviderState = z.object({
  base: z.string(),
  host: z.string(),
  account: z.string(),
  link: z.string(),
  verifier: z.string(),
  /** Set once the flow restarted after a refused registration (`clientRejected`). */
  retried: z.optional(z.boolean()),
});
type ProviderState = z.infer<typeof ProviderState>;

type PublicCheck =
  | { ok: true; evidence: string }
  | { ok: false; outcome: Extract<StepOutcome, { kind: 'failed' }> };

function failed(
  spec: OAuthProviderSpec,
  message: string,
  next?: string,
): Extract<StepOutcome, { kind: 'failed' }> {
  return {
    kind: 'failed',
    title: `${spec.name} did not sign you in`,
    message,
    next: next ?? 'Go back to the website you were signing in to and try again.',
  };
}

export interface OAuthProviderDeps {
  upstream: UpstreamOAuth;
  fetcher: Fetcher;
}

/** Builds the Method for a provider spec. */
export function oauthProviderMethod(spec: OAuthProviderSpec, deps: OAuthProviderDeps): Method<ProviderState> {
  const callbackKind = `${spec.id}.callback`;

  const notLinkingBack = (site: string, instance: ProviderInstance, account: string) =>
    failed(
      spec,
      `Your site links to ${instance.host}/${account}, but that ${spec.name} profile does not link back to ${site}. ${spec.backLinkHint}`,
      `Then go back to the website you were signing in to and try again.`,
    );

  /**
   * The public back-link check (PROTOCOL §9.1) before the person leaves; `latchkey doctor` shows
   * its outcome too. A profile the provider keeps private passes here: the authenticated check
   * after the round trip decides.
   */
  const publicCheck = async (candidate: Candidate, site: string): Promise<PublicCheck> => {
    const details = candidate.details ?? {};
    const instance = { base: details.base ?? '', host: details.host ?? '' };
    const account = details.account ?? '';
    let profile: ProviderProfile | undefined | 'not public';
    try {
      profile = await spec.publicProfile(instance, account);
    } catch (error) {
      return {
        ok: false,
        outcome: failed(
          spec,
          `Latchkey could not read the ${spec.name} profile ${candidate.link}: ${describe(error)}.`,
        ),
      };
    }
    if (profile === 'not public') {
      return {
        ok: true,
        evidence: `the ${spec.name} profile is not public; it is checked after you log in there`,
      };
    }
    if (!profile || !spec.sameAccount(profile.account, account)) {
      return {
        ok: false,
        outcome: failed(
          spec,
          `There is no ${spec.name} account ${account} at ${instance.host}.`,
          'Check the rel="me" link on your site.',
        ),
      };
    }
    const mismatch = spec.sameProfile?.(candidate.link, profile);
    if (mismatch) return { ok: false, outcome: failed(spec, mismatch) };
    const backLink = await findBackLink(site, profile.links, deps.fetcher);
    if (!backLink) return { ok: false, outcome: notLinkingBack(site, instance, account) };
    return {
      ok: true,
      evidence: `the public ${spec.name} profile links back from its ${backLink.where} (${backLink.url})`,
    };
  };

  return {
    id: spec.id,
    name: spec.name,
    ...(spec.icon ? { icon: spec.icon } : {}),
    ...(spec.available ? { available: spec.available } : {}),
    ...(spec.setup ? { setup: spec.setup } : {}),
    steps: [callbackKind],
    state: ProviderState,

    async recognise(link): Promise<Candidate | undefined> {
      if (link.rel !== 'me') return undefined;
      const found = await spec.recognise(link.url);
      if (!found) return undefined;
      return {
        method: spec.id,
        target: link.url,
        label: `Sign in with ${spec.name} as ${found.account}`,
        link: link.url,
        account: found.account,
        hint: `You log in at ${found.instance.host}; your profile there must link back to your site.`,
        details: { base: found.instance.base, host: found.instance.host, account: found.account },
      };
    },

    precheck: (candidate, site) => publicCheck(candidate, site),

    async start(ctx, candidate) {
      const site = ctx.attempt.me ?? '';
      const details = candidate.details ?? {};
      const instance = { base: details.base ?? '', host: details.host ?? '' };
      const account = details.account ?? '';
      // PROTOCOL §9.1: the public profile is checked first, so a missing back-link is reported
      // before the person logs in at the provider.
      const checked = await publicCheck(candidate, site);
      if (!checked.ok) return checked.outcome;
      let client: OAuthClient;
      try {
        client = await spec.client(instance);
      } catch (error) {
        return failed(
          spec,
          error instanceof UpstreamError
            ? error.message
            : `Latchkey could not register with ${instance.host}.`,
        );
      }
      const state = await ctx.issueStep(callbackKind);
      const began = deps.upstream.begin(
        spec.id,
        client,
        state,
        spec.authorizationParams(instance, ctx.attempt.request.forceLogin),
      );
      await ctx.saveState({ ...instance, account, link: candidate.link, verifier: began.sealedVerifier });
      return { kind: 'redirect', url: began.url };
    },

    async step(ctx: MethodContext<ProviderState>, _kind, input) {
      const state = ctx.state;
      const site = ctx.attempt.me ?? '';
      if (!state)
        return failed(spec, 'This sign-in can no longer be finished here (its saved state is unreadable).');
      const instance = { base: state.base, host: state.host };
      let client: OAuthClient;
      let accessToken: string;
      try {
        client = await spec.client(instance);
        accessToken = await deps.upstream.finish(spec.id, client, state.verifier, input, ctx.callbackServer);
      } catch (error) {
        if (
          oauthErrorCode(error) === 'invalid_client' &&
          !state.retried &&
          spec.clientRejected &&
          (await spec.clientRejected(instance).catch(() => false))
        ) {
          // The code was issued to the refused registration; a fresh one needs a fresh authorization.
          try {
            const fresh = await spec.client(instance);
            const again = deps.upstream.begin(
              spec.id,
              fresh,
              await ctx.issueStep(callbackKind),
              spec.authorizationParams(instance, ctx.attempt.request.forceLogin),
            );
            await ctx.saveState({ ...state, verifier: again.sealedVerifier, retried: true });
            return { kind: 'redirect', url: again.url };
          } catch (retry) {
            return failed(
              spec,
              retry instanceof UpstreamError
                ? retry.message
                : `Latchkey could not register with ${instance.host}.`,
            );
          }
        }
        return failed(
          spec,
          error instanceof UpstreamError ? error.message : `${spec.name} could not be reached.`,
        );
      }
      try {
        let profile: ProviderProfile;
        try {
          profile = await spec.authenticatedProfile(instance, accessToken);
        } catch (error) {
          return failed(spec, `Latchkey could not read your ${spec.name} profile: ${describe(error)}.`);
        }
        // SECURITY F11: the account that logged in is the one the site links to.
        if (!spec.sameAccount(profile.account, state.account)) {
          return failed(
            spec,
            `You logged in to ${spec.name} as ${profile.account}, but your site links to ${state.host}/${state.account}.`,
            `Log in to ${spec.name} as ${state.account}, or change the link on your site.`,
          );
        }
        const mismatch = spec.sameProfile?.(state.link, profile);
        if (mismatch) return failed(spec, mismatch);
        const backLink = await findBackLink(site, profile.links, deps.fetcher);
        if (!backLink) return notLinkingBack(site, instance, state.account);
        const note = spec.evidenceNote?.(profile, backLink);
        return {
          kind: 'proven',
          proof: {
            me: site,
            method: spec.id,
            evidence:
              `${site} links to ${state.link}; the ${spec.name} account ${profile.account} signed in and links back ` +
              `from its ${backLink.where} (${backLink.url}${backLink.via ? `, which redirects permanently to ${backLink.via}` : ''})` +
              `${note ? `, ${note}` : ''}.`,
          },
        };
      } finally {
        // PROTOCOL §9.1: Latchkey keeps no provider token.
        await (spec.revoke
          ? spec.revoke(instance, client, accessToken)
          : deps.upstream.revoke(client, accessToken)
        ).catch(() => undefined);
      }
    },
  };
}

// ------------------------------------------------------------------------------------------------
// What provider folders share beyond the dance: recognising `<instance>/<account>` links, reading
// provider JSON through the safe fetcher, collecting back-link fields, and finding the instances.

/** The instance a registration points at; `host` keeps a path, for GitLab living under one. */
export function instanceOf(app: Pick<OAuthAppConfig, 'url'>): ProviderInstance {
  const url = new URL(app.url);
  return { base: app.url, host: `${url.host}${url.pathname.replace(/\/+$/, '')}` };
}

/** How one provider spells an account in a profile URL. */
export interface AccountPattern {
  /** The whole account name (anchored here, flags kept), e.g. GitHub's `[A-Za-z0-9](-?[A-Za-z0-9]){0,38}`. */
  account: RegExp;
  /** Top-level paths that are pages, not accounts (lowercase): `settings`, `explore`, `-`… */
  reserved: ReadonlySet<string>;
  /** Accepts `www.` before the instance's host (`www.github.com`). */
  www?: boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * SECURITY F5: a profile link is `http(s)://<instance host and path>/<account>` with at most one
 * trailing `/`, matched on the raw link with anchors at both ends — so `github.com.evil.example/alice`
 * and `evil.example/github.com/alice` are not GitHub, and no query, fragment, port or user name may
 * ride along. Host and account compare case-insensitively (the providers' names are).
 */
export function recogniseProfileUrl(
  url: string,
  instances: readonly ProviderInstance[],
  pattern: AccountPattern,
): RecognisedAccount | undefined {
  const account = new RegExp(`^(?:${pattern.account.source})$`, pattern.account.flags);
  for (const instance of instances) {
    let base: URL;
    try {
      base = new URL(instance.base);
    } catch {
      continue;
    }
    const prefix = escapeRegExp(`${base.host}${base.pathname.replace(/\/+$/, '')}`);
    const www = pattern.www ? '(?:www\\.)?' : '';
    const name = new RegExp(`^https?://${www}${prefix}/([^/?#\\s]+)/?$`, 'i').exec(url)?.[1];
    if (!name || !account.test(name) || pattern.reserved.has(name.toLowerCase())) continue;
    return { instance, account: name };
  }
  return undefined;
}

/**
 * The places a profile may link back from (PROTOCOL §9.1): URL fields as they are, and every URL in
 * free-text fields as whole tokens (relme.ts `urlsInText`, SECURITY F4). Empty fields are skipped.
 */
export function profileLinks(
  fields: ReadonlyArray<readonly [where: string, value: string | null | undefined]>,
  texts: ReadonlyArray<readonly [where: string, text: string | null | undefined]> = [],
): ProfileLink[] {
  const links: ProfileLink[] = [];
  for (const [where, value] of fields) {
    const trimmed = value?.trim();
    if (trimmed) links.push({ where, value: trimmed });
  }
  for (const [where, text] of texts) {
    for (const found of text ? urlsInText(text) : []) links.push({ where, value: found });
  }
  return links;
}

export interface ProviderRequest {
  /** `Accept`; default `application/json` (GitHub asks for `application/vnd.github+json`). */
  accept?: string;
  headers?: Record<string, string>;
  /** `undefined`: a 404 answers undefined ("no such account") instead of failing. */
  notFound?: 'undefined' | 'fail';
}

/** What a provider said about a failure, when its error body says it in words. */
function errorWords(body: string): string | undefined {
  try {
    const json: unknown = JSON.parse(body);
    if (json && typeof json === 'object') {
      const record = json as Record<string, unknown>;
      for (const key of ['message', 'error_description', 'error']) {
        const value = record[key];
        if (typeof value === 'string' && value.trim()) return value.trim().slice(0, 200);
      }
    }
  } catch {
    // Not JSON: the status says enough.
  }
  return undefined;
}

/**
 * One provider API call through the safe fetcher (PROTOCOL §4: SSRF guard, deadlines, the 64 KiB
 * JSON cap), read with a zod schema. No redirect is followed, so a Bearer token never travels to
 * another URL. Every failure throws a ProviderApiError whose clause `describe` shows in plain words
 * (PROTOCOL §9.1: never a 500).
 */
export async function providerJson<T>(
  fetcher: Fetcher,
  url: string,
  schema: z.ZodMiniType<T>,
  request: ProviderRequest & { notFound: 'undefined' },
): Promise<T | undefined>;
export async function providerJson<T>(
  fetcher: Fetcher,
  url: string,
  schema: z.ZodMiniType<T>,
  request?: ProviderRequest,
): Promise<T>;
export async function providerJson<T>(
  fetcher: Fetcher,
  url: string,
  schema: z.ZodMiniType<T>,
  request: ProviderRequest = {},
): Promise<T | undefined> {
  const response = await fetcher(url, {
    accept: request.accept ?? 'application/json',
    maxBytes: LIMITS.json,
    maxRedirects: 0,
    ...(request.headers ? { headers: request.headers } : {}),
  });
  if (response.status === 404 && request.notFound === 'undefined') return undefined;
  if (response.status < 200 || response.status > 299) {
    const words = errorWords(response.body);
    throw new ProviderApiError(`it answered HTTP ${response.status}${words ? ` ("${words}")` : ''}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    throw new ProviderApiError('its answer was not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ProviderApiError('its answer did not have the fields Latchkey reads');
  return parsed.data;
}

/**
 * A provider whose instances an operator adds (GitLab, Forgejo; PROTOCOL §9.1): the preset from the
 * environment plus the stored ones, read when needed so `latchkey providers add` takes effect
 * without a restart. Only instances with a registration are ever recognised (SECURITY F5).
 */
export class AddedInstances {
  constructor(
    private readonly instances: ProviderInstances,
    private readonly provider: AddableProvider,
    private readonly preset: OAuthAppConfig | undefined,
  ) {}

  async all(): Promise<ProviderInstance[]> {
    return (await this.instances.list(this.provider, this.preset)).map(instanceOf);
  }

  /** Latchkey's registration at `instance`; an UpstreamError once it was removed. */
  async app(instance: ProviderInstance): Promise<OAuthAppConfig> {
    const apps = await this.instances.list(this.provider, this.preset);
    const found = apps.find((app) => app.url === instance.base);
    if (!found) throw new UpstreamError(`Latchkey is no longer set up to sign in with ${instance.host}.`);
    return found;
  }
}
