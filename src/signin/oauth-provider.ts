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
import { z } from 'zod';
import type { Fetcher } from '../net/types.js';
import { type BackLink, findBackLink, type ProfileLink } from './relme.js';
import type { Candidate, Method, MethodContext, StepOutcome } from './types.js';
import { describe, type OAuthClient, UpstreamError, type UpstreamOAuth } from './upstream-oauth.js';

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
  /** Recognises a rel=me link; may ask the host what it is (a Mastodon probe). */
  recognise(url: string): RecognisedAccount | undefined | Promise<RecognisedAccount | undefined>;
  /** Latchkey's registration at an instance (configured, stored, or made now). */
  client(instance: ProviderInstance): Promise<OAuthClient>;
  /** Extra authorization parameters (scope, allow_signup=false, force_login…). */
  authorizationParams(instance: ProviderInstance, forceLogin: boolean): Record<string, string | undefined>;
  publicProfile(instance: ProviderInstance, account: string): Promise<ProviderProfile | undefined>;
  authenticatedProfile(instance: ProviderInstance, accessToken: string): Promise<ProviderProfile>;
  /** Accounts compare this way (GitHub logins are case-insensitive). */
  sameAccount(a: string, b: string): boolean;
  /** For the "does not link back" page: the field people should fill in. */
  backLinkHint: string;
  /** Revokes the token when the provider has no RFC 7009 endpoint (GitHub); default: RFC 7009. */
  revoke?(instance: ProviderInstance, client: OAuthClient, accessToken: string): Promise<void>;
  /** Extra checks on the authenticated profile (Mastodon: the account `url` equals the link). */
  sameProfile?(link: string, profile: ProviderProfile): string | undefined;
  /** How the evidence names a back-link (Mastodon shows `verified_at`). */
  evidenceNote?(profile: ProviderProfile, backLink: BackLink): string | undefined;
}

const ProviderState = z.object({
  base: z.string(),
  host: z.string(),
  account: z.string(),
  link: z.string(),
  verifier: z.string(),
});
type ProviderState = z.infer<typeof ProviderState>;

function failed(spec: OAuthProviderSpec, message: string, next?: string): StepOutcome {
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

  return {
    id: spec.id,
    name: spec.name,
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
        details: { base: found.instance.base, host: found.instance.host, account: found.account },
      };
    },

    async start(ctx, candidate) {
      const site = ctx.attempt.me ?? '';
      const details = candidate.details ?? {};
      const instance = { base: details.base ?? '', host: details.host ?? '' };
      const account = details.account ?? '';
      // PROTOCOL §9.1: the public profile is checked first, so a missing back-link is reported
      // before the person logs in at the provider.
      let profile: ProviderProfile | undefined;
      try {
        profile = await spec.publicProfile(instance, account);
      } catch (error) {
        return failed(
          spec,
          `Latchkey could not read the ${spec.name} profile ${candidate.link}: ${describe(error)}.`,
        );
      }
      if (!profile || !spec.sameAccount(profile.account, account)) {
        return failed(
          spec,
          `There is no ${spec.name} account ${account} at ${instance.host}.`,
          'Check the rel="me" link on your site.',
        );
      }
      if (!(await findBackLink(site, profile.links, deps.fetcher)))
        return notLinkingBack(site, instance, account);
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
        accessToken = await deps.upstream.finish(spec.id, client, state.verifier, input);
      } catch (error) {
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
