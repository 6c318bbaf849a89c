/**
 * The person's own IndieAuth server (PROTOCOL §9.1; IndieAuth §5): Latchkey is the client. It sends
 * PKCE (S256), a `state` that is a single-use step token bound to this browser session (SECURITY E5),
 * `me` and `scope=profile`; on return it checks `iss` (RFC 9207, SECURITY E6), redeems the code at the
 * token endpoint if known (else the authorization endpoint), and accepts another `me` only when that
 * site names the same server throughout (indieauth/remote-code.ts; IndieAuth §5.3.3, SECURITY F1, F10).
 */
import { z } from 'zod';
import { clientAuthorizationUrl } from '../../../indieauth/authorization-request.js';
import type { SiteDiscovery } from '../../../indieauth/discovery.js';
import { s256 } from '../../../indieauth/pkce.js';
import {
  acceptVouchedMe,
  RemoteCodeError,
  redeemRemoteCode,
  vouchingServer,
} from '../../../indieauth/remote-code.js';
import type { Fetcher } from '../../../net/types.js';
import { openSecret, randomToken, sealSecret } from '../../../tokens/secrets.js';
import type { Candidate, Method, StepOutcome } from '../../types.js';
import { INDIEAUTH_ICON } from './icon.js';

export const CALLBACK_PATH = 'signin/indieauth/callback';

const VERIFIER_PURPOSE = 'indieauth-pkce-verifier';

export interface IndieAuthMethodOptions {
  fetcher: Fetcher;
  issuer: string;
  /** HMAC/cookie keys (first seals, all open): the PKCE verifier is stored sealed (SECURITY D7). */
  secrets: readonly string[];
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
  tokenEndpoint: z.string().optional(),
  issuer: z.string().optional(),
  issRequired: z.literal('true').optional(),
});
type IndieAuthState = z.infer<typeof IndieAuthState>;

export function indieAuthMethod(options: IndieAuthMethodOptions): Method<IndieAuthState> {
  const { fetcher, issuer, secrets } = options;
  const callback = new URL(CALLBACK_PATH, issuer).href;

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
      const verifier = randomToken(48);
      const state = await ctx.issueStep('indieauth.callback');
      // D7: the database alone must not hold the verifier; it is sealed with LATCHKEY_SECRET.
      const details = candidate.details ?? {};
      await ctx.saveState({
        verifier: sealSecret(VERIFIER_PURPOSE, verifier, secrets),
        authorizationEndpoint: candidate.target,
        ...(details.tokenEndpoint ? { tokenEndpoint: details.tokenEndpoint } : {}),
        ...(details.issuer ? { issuer: details.issuer } : {}),
        ...(details.issRequired === 'true' ? { issRequired: 'true' as const } : {}),
      });
      const url = clientAuthorizationUrl(candidate.target, {
        clientId: issuer,
        redirectUri: callback,
        state,
        codeChallenge: s256(verifier),
        me: ctx.attempt.me ?? '',
        scope: 'profile',
      });
      return { kind: 'redirect', url };
    },

    async step(ctx, _kind, input) {
      const state = ctx.state;
      if (!state)
        return failed('This sign-in can no longer be finished here (its saved state is unreadable).');
      const endpoint = state.authorizationEndpoint;
      const expectedIssuer = state.issuer;
      const iss = input.get('iss');
      // RFC 9207 §2.4: a known issuer must match; a server that advertises `iss` must send it.
      if (iss !== undefined && expectedIssuer !== undefined && iss !== expectedIssuer) {
        return failed(
          `The answer came from the issuer ${iss}, not from ${expectedIssuer}, so it was refused.`,
        );
      }
      if (iss === undefined && state.issRequired === 'true') {
        return failed(
          'Your IndieAuth server advertises the "iss" parameter but did not send it, so the answer was refused.',
        );
      }
      const error = input.get('error');
      if (error !== undefined) {
        const description = input.get('error_description');
        return failed(
          `Your IndieAuth server answered "${error.slice(0, 100)}"${description ? `: ${description.slice(0, 300)}` : ''}.`,
        );
      }
      const code = input.get('code');
      if (!code) return failed('Your IndieAuth server came back without a code.');

      const server = vouchingServer(
        {
          issuer: expectedIssuer,
          authorizationEndpoint: endpoint,
          tokenEndpoint: state.tokenEndpoint,
        },
        'token-endpoint',
      );
      const verifier = openSecret(VERIFIER_PURPOSE, state.verifier, secrets);
      if (!server || verifier === undefined) {
        return failed('This sign-in can no longer be finished here (its saved state is unreadable).');
      }
      let me: string;
      try {
        const verdict = await redeemRemoteCode(fetcher, server.redemptionEndpoint, {
          grant_type: 'authorization_code',
          code,
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
        if (error instanceof RemoteCodeError) return failed(error.message);
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
