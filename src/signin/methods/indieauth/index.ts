/**
 * The person's own IndieAuth server (PROTOCOL §9 step 1; IndieAuth §5): Latchkey is the client,
 * through the same upstream OAuth dance as the providers (upstream-oauth.ts: PKCE S256, a `state`
 * that is a single-use step token bound to this browser session — SECURITY E5 — a sealed verifier
 * — D7 — and the RFC 9207 `iss` rule — E6), asking for `me` and `scope=profile`. The code is
 * redeemed at the token endpoint if known (else the authorization endpoint), and another `me` is
 * accepted only when that site names the same server throughout (indieauth/remote-code.ts;
 * IndieAuth §5.3.3, SECURITY F1, F10).
 */
import * as z from 'zod/mini';
import type { SiteDiscovery } from '../../../indieauth/discovery.js';
import {
  acceptVouchedMe,
  RemoteCodeError,
  redeemRemoteCode,
  type VouchingServer,
  vouchingServer,
} from '../../../indieauth/remote-code.js';
import type { Fetcher } from '../../../net/types.js';
import type { Candidate, Method, StepOutcome } from '../../types.js';
import { type OAuthClient, UpstreamError, type UpstreamOAuth } from '../../upstream-oauth.js';
import { INDIEAUTH_ICON } from './icon.js';

export const CALLBACK_PATH = 'signin/indieauth/callback';

export interface IndieAuthMethodOptions {
  fetcher: Fetcher;
  issuer: string;
  /** The OAuth dance shared with the providers. */
  upstream: UpstreamOAuth;
  /** Rediscovery of a differing `me` (F1, F10). */
  discover(me: string): Promise<SiteDiscovery>;
}

function failed(
  message: string,
  next = 'Go back to the website you were signing in to and try again.',
): StepOutcome {
  return { kind: 'failed', title: 'Your IndieAuth server did not sign you in', message, next };
}

/** What the callback needs: the server as discovery found it, and the sealed PKCE verifier (D7). */
const IndieAuthState = z.object({
  verifier: z.string(),
  authorizationEndpoint: z.string(),
  tokenEndpoint: z.optional(z.string()),
  issuer: z.optional(z.string()),
  issRequired: z.optional(z.literal('true')),
});
type IndieAuthState = z.infer<typeof IndieAuthState>;

export function indieAuthMethod(options: IndieAuthMethodOptions): Method<IndieAuthState> {
  const { fetcher, issuer, upstream } = options;
  const callback = upstream.callbackUrl('indieauth');

  /** The person's server as the OAuth client sees it; Latchkey's client_id is its own URL (CIMD). */
  const clientOf = (
    server: VouchingServer,
    state: Pick<IndieAuthState, 'issuer' | 'issRequired'>,
  ): OAuthClient => ({
    name: 'Your IndieAuth server',
    issuer: server.issuer ?? server.authorizationEndpoint,
    authorizationEndpoint: server.authorizationEndpoint,
    tokenEndpoint: server.redemptionEndpoint,
    clientId: issuer,
    clientSecret: '',
    ...(state.issuer ? { expectedIssuer: state.issuer } : {}),
    ...(state.issRequired === 'true' ? { issRequired: true } : {}),
  });

  return {
    id: 'indieauth',
    name: 'your IndieAuth server',
    icon: INDIEAUTH_ICON,
    steps: ['indieauth.callback'],
    state: IndieAuthState,

    recognise: () => undefined,

    recogniseSite(site): Candidate | undefined {
      if (!site.authorizationEndpoint) return undefined;
      const details: Record<string, string> = { authorizationEndpoint: site.authorizationEndpoint };
      if (site.tokenEndpoint) details.tokenEndpoint = site.tokenEndpoint;
      if (site.issuer) details.issuer = site.issuer;
      if (site.metadata?.authorization_response_iss_parameter_supported) details.issRequired = 'true';
      return {
        method: 'indieauth',
        target: site.authorizationEndpoint,
        label: `Sign in with your IndieAuth server at ${new URL(site.authorizationEndpoint).host}`,
        link: site.authorizationEndpoint,
        details,
      };
    },

    async start(ctx, candidate) {
      const details = candidate.details ?? {};
      const server = vouchingServer(
        {
          issuer: details.issuer,
          authorizationEndpoint: candidate.target,
          tokenEndpoint: details.tokenEndpoint,
        },
        'token-endpoint',
      );
      if (!server) return failed('Your site names no usable authorization endpoint.');
      const saved = {
        authorizationEndpoint: candidate.target,
        ...(details.tokenEndpoint ? { tokenEndpoint: details.tokenEndpoint } : {}),
        ...(details.issuer ? { issuer: details.issuer } : {}),
        ...(details.issRequired === 'true' ? { issRequired: 'true' as const } : {}),
      };
      const began = upstream.begin(
        'indieauth',
        clientOf(server, saved),
        await ctx.issueStep('indieauth.callback'),
        {
          me: ctx.attempt.me ?? '',
          scope: 'profile',
        },
      );
      await ctx.saveState({ ...saved, verifier: began.sealedVerifier });
      return { kind: 'redirect', url: began.url };
    },

    async step(ctx, _kind, input) {
      const state = ctx.state;
      if (!state)
        return failed('This sign-in can no longer be finished here (its saved state is unreadable).');
      const endpoint = state.authorizationEndpoint;
      const server = vouchingServer(
        { issuer: state.issuer, authorizationEndpoint: endpoint, tokenEndpoint: state.tokenEndpoint },
        'token-endpoint',
      );
      if (!server)
        return failed('This sign-in can no longer be finished here (its saved state is unreadable).');
      let me: string;
      try {
        const { params, verifier } = upstream.readCallback(
          clientOf(server, state),
          state.verifier,
          input,
          ctx.callbackServer,
        );
        const verdict = await redeemRemoteCode(fetcher, server.redemptionEndpoint, {
          grant_type: 'authorization_code',
          code: params.get('code') ?? '',
          client_id: issuer,
          redirect_uri: callback,
          code_verifier: verifier,
        });
        // F1/F10: another `me` only when its site names this same server in every part.
        me = await acceptVouchedMe({
          expected: ctx.attempt.me ?? '',
          returned: verdict.me,
          server,
          rule: 'token-endpoint',
          discover: options.discover,
        });
      } catch (error) {
        if (error instanceof RemoteCodeError || error instanceof UpstreamError) return failed(error.message);
        throw error;
      }
      return {
        kind: 'proven',
        proof: {
          me,
          method: 'indieauth',
          evidence: `${me} names the IndieAuth server ${endpoint}, which signed you in.`,
        },
      };
    },
  };
}
