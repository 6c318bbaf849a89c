/**
 * Redeeming a code at another authorization server and accepting the `me` it vouches for — the one
 * rule shared by delegation (Latchkey as the client of a person's own server, PROTOCOL §9 step 1) and
 * Mintoken mode (PROTOCOL §10).
 *
 * The trust rests on three things an attacker's site can name independently: the metadata `issuer`,
 * the `authorization_endpoint` the person was sent to, and the endpoint the code was redeemed at
 * (the `token_endpoint`, or the authorization endpoint itself). A server that vouches for another
 * `me` is believed only when that site names the same server in *every* one of them (IndieAuth
 * §5.3.3 / §6.3.3, SECURITY F1 and F10): otherwise a site naming a victim's authorization endpoint
 * and the attacker's own token endpoint could make the attacker's endpoint vouch for the victim.
 */
import * as z from 'zod/mini';
import { mediaType } from '../net/media-type.js';
import { FetchError, type Fetcher, LIMITS } from '../net/types.js';
import type { SiteDiscovery } from './discovery.js';
import { validateProfileUrl } from './urls.js';

/** Refusal in plain words, safe to show to the person or put in an OAuth error description. */
export class RemoteCodeError extends Error {
  override name = 'RemoteCodeError';
}

/** The server a code was redeemed with, as the site that sent the person there names it. */
export interface VouchingServer {
  /** The metadata issuer, when the site links `indieauth-metadata`. */
  issuer: string | undefined;
  authorizationEndpoint: string;
  /** Where the code was (or will be) POSTed. */
  redemptionEndpoint: string;
}

/**
 * Where a code is redeemed: delegation redeems at the token endpoint when the site names one,
 * else at the authorization endpoint (IndieAuth §5.3); Mintoken mode always asks the authorization
 * endpoint, since the token endpoint is Latchkey itself.
 */
export type RedemptionRule = 'token-endpoint' | 'authorization-endpoint';

/** Names a site's server the way `rule` redeems codes; undefined when it names no server. */
export function vouchingServer(
  site: Pick<SiteDiscovery, 'issuer' | 'authorizationEndpoint' | 'tokenEndpoint'>,
  rule: RedemptionRule,
): VouchingServer | undefined {
  if (!site.authorizationEndpoint) return undefined;
  const authorizationEndpoint = canonical(site.authorizationEndpoint);
  const redemption =
    rule === 'token-endpoint'
      ? (site.tokenEndpoint ?? site.authorizationEndpoint)
      : site.authorizationEndpoint;
  return {
    issuer: site.issuer,
    authorizationEndpoint,
    redemptionEndpoint: canonical(redemption),
  };
}

/** URL comparison form: the WHATWG serialisation (case of scheme/host, default port, empty path). */
function canonical(url: string): string {
  return new URL(url).href;
}

/**
 * SECURITY F10: every part of the server that vouched must be named by the other site too. Returns
 * the parts that differ, in plain words (empty when the same server is named throughout).
 */
export function serverDifferences(used: VouchingServer, other: VouchingServer | undefined): string[] {
  if (!other) return ['it names no authorization endpoint'];
  const differences: string[] = [];
  if (used.issuer !== other.issuer) {
    differences.push(
      other.issuer === undefined
        ? `it has no metadata issuer (${used.issuer} signed you in)`
        : `its metadata issuer is ${other.issuer}, not ${used.issuer ?? 'absent'}`,
    );
  }
  if (used.authorizationEndpoint !== other.authorizationEndpoint) {
    differences.push(`it does not use ${used.authorizationEndpoint} as its authorization endpoint`);
  }
  if (used.redemptionEndpoint !== other.redemptionEndpoint) {
    differences.push(`it does not redeem codes at ${used.redemptionEndpoint}`);
  }
  return differences;
}

/** The answer a server gives for a valid code (IndieAuth §5.3.3, §6.3.3). */
const Verdict = z.object({
  me: z.string().check(z.minLength(1)),
  scope: z.optional(z.string()),
});
export type RemoteVerdict = z.infer<typeof Verdict>;

/**
 * POSTs the code (form-encoded, no redirects followed, JSON cap) and reads the verdict. JSON is the
 * spec's answer; the form-encoded answer of early IndieAuth servers is read too. Throws
 * RemoteCodeError in plain words.
 */
export async function redeemRemoteCode(
  fetcher: Fetcher,
  endpoint: string,
  form: Record<string, string>,
): Promise<RemoteVerdict> {
  let response: Awaited<ReturnType<Fetcher>>;
  try {
    response = await fetcher(endpoint, {
      method: 'POST',
      accept: 'application/json',
      contentType: 'application/x-www-form-urlencoded',
      body: new URLSearchParams(form).toString(),
      maxBytes: LIMITS.json,
      maxRedirects: 0,
    });
  } catch (error) {
    const why = error instanceof FetchError ? error.message : 'the request failed';
    throw new RemoteCodeError(`Could not redeem the code at ${endpoint}: ${why}.`);
  }
  const contentType = mediaType(response.headers.get('content-type'));
  const body = readBody(contentType, response.body);
  if (response.status < 200 || response.status > 299) {
    const remote = z.object({ error: z.string() }).safeParse(body);
    const detail = remote.success ? ` (${remote.data.error.slice(0, 100)})` : '';
    throw new RemoteCodeError(`${endpoint} refused the code: HTTP ${response.status}${detail}.`);
  }
  if (body === undefined) {
    throw new RemoteCodeError(
      `${endpoint} did not answer with JSON (it sent ${contentType || 'no content type'}).`,
    );
  }
  const parsed = Verdict.safeParse(body);
  if (!parsed.success) throw new RemoteCodeError(`${endpoint} answered without a valid "me".`);
  return parsed.data;
}

function readBody(contentType: string, text: string): unknown {
  if (/^application\/(?:[\w.+-]*\+)?json$/.test(contentType)) {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  if (contentType === 'application/x-www-form-urlencoded') {
    return Object.fromEntries(new URLSearchParams(text));
  }
  return undefined;
}

export interface AcceptVouchedMe {
  /** The profile URL the sign-in (or the token request) was for, canonical. */
  expected: string;
  /** The `me` in the server's answer, unvalidated. */
  returned: string;
  /** The server that vouched, as the expected site names it. */
  server: VouchingServer;
  rule: RedemptionRule;
  /** Discovers a site (PROTOCOL §5). */
  discover(
    me: string,
  ): Promise<Pick<SiteDiscovery, 'me' | 'issuer' | 'authorizationEndpoint' | 'tokenEndpoint'>>;
}

/**
 * The `me` to accept from a vouching server, or a RemoteCodeError. The expected site is accepted as
 * it is; another site only after rediscovery shows it names the same issuer, authorization endpoint
 * and redemption endpoint (SECURITY F1, F10), and then as the URL that rediscovery ended at: a
 * permanent redirect moves the identity (SECURITY F3), so a vouched URL that redirects elsewhere
 * (a link shortener, someone's open redirect) stands for where it leads, exactly as a sign-in
 * started with it would.
 */
export async function acceptVouchedMe(input: AcceptVouchedMe): Promise<string> {
  const returned = validateProfileUrl(input.returned);
  if (!returned.ok)
    throw new RemoteCodeError(`The server answered with an invalid "me": ${returned.reason}.`);
  if (returned.url === input.expected) return returned.url;
  let site: Awaited<ReturnType<AcceptVouchedMe['discover']>>;
  let other: VouchingServer | undefined;
  try {
    site = await input.discover(returned.url);
    other = vouchingServer(site, input.rule);
  } catch (error) {
    const why = error instanceof Error ? error.message : 'it could not be read';
    throw new RemoteCodeError(`The server vouched for ${returned.url}, which could not be checked: ${why}`);
  }
  const differences = serverDifferences(input.server, other);
  if (differences.length > 0) {
    throw new RemoteCodeError(
      `The server vouched for ${returned.url}, but ${differences.join(', and ')}, so it cannot vouch for that site.`,
    );
  }
  const moved = validateProfileUrl(site.me);
  if (!moved.ok) {
    throw new RemoteCodeError(
      `The server vouched for ${returned.url}, which leads to ${site.me}, not a valid profile URL: ${moved.reason}.`,
    );
  }
  return moved.url;
}
