/**
 * The person's own IndieAuth server (PROTOCOL §9.1; IndieAuth §5): Latchkey is the client. It sends
 * PKCE (S256), a `state` that is a single-use step token bound to this browser session (SECURITY E5),
 * `me` and `scope=profile`; on return it checks `iss` (RFC 9207, SECURITY E6), redeems the code at the
 * token endpoint if known (else the authorization endpoint), and accepts another `me` only when that
 * site names the same authorization endpoint (IndieAuth §5.3.3, SECURITY F1).
 */
import { z } from 'zod';
import { clientAuthorizationUrl } from '../../indieauth/authorization-request.js';
import type { DiscoveryError, SiteDiscovery } from '../../indieauth/discovery.js';
import { s256 } from '../../indieauth/pkce.js';
import { validateProfileUrl } from '../../indieauth/urls.js';
import { type Fetcher, LIMITS } from '../../net/types.js';
import { randomToken } from '../../tokens/secrets.js';
import type { Candidate, Method, StepOutcome } from '../types.js';

export const CALLBACK_PATH = 'signin/indieauth/callback';

const Redeemed = z.object({ me: z.string().min(1) });

export interface IndieAuthMethodOptions {
  fetcher: Fetcher;
  issuer: string;
  /** Rediscovery of a differing `me` (F1). */
  discover(me: string): Promise<SiteDiscovery>;
}

function failed(
  message: string,
  next = 'Go back to the website you were signing in to and try again.',
): StepOutcome {
  return { kind: 'failed', title: 'Your IndieAuth server did not sign you in', message, next };
}

export function indieAuthMethod(options: IndieAuthMethodOptions): Method {
  const { fetcher, issuer } = options;
  const callback = new URL(CALLBACK_PATH, issuer).href;

  return {
    id: 'indieauth',
    steps: ['indieauth.callback'],

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
      await ctx.saveState({ verifier, ...candidate.details });
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
      const state = ctx.attempt.methodState ?? {};
      const endpoint = String(state.authorizationEndpoint ?? '');
      const expectedIssuer = typeof state.issuer === 'string' ? state.issuer : undefined;
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

      const redeemAt = typeof state.tokenEndpoint === 'string' ? state.tokenEndpoint : endpoint;
      let me: string;
      try {
        const response = await fetcher(redeemAt, {
          method: 'POST',
          accept: 'application/json',
          maxBytes: LIMITS.json,
          maxRedirects: 0,
          contentType: 'application/x-www-form-urlencoded',
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            client_id: issuer,
            redirect_uri: callback,
            code_verifier: String(state.verifier ?? ''),
          }).toString(),
        });
        if (response.status !== 200) {
          return failed(`Your IndieAuth server refused the code (HTTP ${response.status} from ${redeemAt}).`);
        }
        const parsed = Redeemed.safeParse(JSON.parse(response.body));
        if (!parsed.success) return failed(`${redeemAt} answered without a "me".`);
        me = parsed.data.me;
      } catch (error) {
        return failed(
          `Latchkey could not redeem the code at ${redeemAt}: ${error instanceof Error ? error.message : 'error'}.`,
        );
      }

      const returned = validateProfileUrl(me);
      if (!returned.ok)
        return failed(`Your IndieAuth server answered with an invalid "me": ${returned.reason}.`);
      const expected = ctx.attempt.me ?? '';
      if (returned.url !== expected) {
        // F1: another `me` only when its site names the same authorization endpoint.
        let other: SiteDiscovery;
        try {
          other = await options.discover(returned.url);
        } catch (error) {
          return failed(
            `Your IndieAuth server vouched for ${returned.url}, which could not be checked: ${(error as DiscoveryError).message}`,
          );
        }
        if (other.authorizationEndpoint !== endpoint) {
          return failed(
            `Your IndieAuth server vouched for ${returned.url}, but that site does not use ${endpoint} as its authorization endpoint.`,
          );
        }
      }
      return {
        kind: 'proven',
        proof: {
          me: returned.url,
          method: 'indieauth',
          evidence: `${returned.url} names the IndieAuth server ${endpoint}, which signed you in.`,
        },
      };
    },
  };
}
