/**
 * Mintoken mode (PROTOCOL §10): exchange a code issued by someone else's authorization endpoint
 * (e.g. selfauth) for an access token. The endpoint must be on the operator's trusted list; the
 * code is verified with it (IndieAuth §5.3.3 / the Mintoken seed), and only then is a token issued.
 */
import { z } from 'zod';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../indieauth/errors.js';
import { formatScope, parseScope } from '../indieauth/scopes.js';
import { validateProfileUrl } from '../indieauth/urls.js';
import { FetchError, type Fetcher, LIMITS } from '../net/types.js';
import type { Store } from '../store/db.js';
import { findRedeemedCode, recordRedeemedCode, revokeGrant } from '../store/tokens.js';
import { isTrustedEndpoint } from '../store/trusted-endpoints.js';
import type { AccessTokenService, IssuedToken } from './access-tokens.js';
import { randomId, sha256 } from './secrets.js';

/** Looks up the authorization endpoint a profile URL names (PROTOCOL §5). */
export type DiscoverAuthorizationEndpoint = (
  me: string,
) => Promise<{ me: string; authorizationEndpoint: string }>;

export interface MintokenRequest {
  code: string;
  clientId: string;
  redirectUri: string;
  me: string;
  codeVerifier?: string | undefined;
}

export interface MintokenDeps {
  store: Store;
  fetcher: Fetcher;
  tokens: AccessTokenService;
  discover: DiscoverAuthorizationEndpoint;
}

/** How long a redeemed external code is remembered; far longer than any code lives. */
const REDEEMED_CODE_MEMORY = 24 * 3600;

/** The answer a trusted authorization endpoint gives for a valid code (IndieAuth §5.3.3). */
const VerifiedCode = z.object({
  me: z.string().min(1),
  scope: z.string().optional(),
});

/** Canonical form used both when the operator trusts an endpoint and when a request is checked. */
export function canonicalEndpoint(url: string): string {
  return new URL(url).href;
}

export async function exchangeWithTrustedEndpoint(
  deps: MintokenDeps,
  request: MintokenRequest,
): Promise<IssuedToken> {
  const me = validateProfileUrl(request.me);
  if (!me.ok) throw new InvalidRequest(`"me" is not a valid profile URL: ${me.reason}`);

  const endpoint = await discoverEndpoint(deps, me.url);
  if (!(await isTrustedEndpoint(deps.store.db, endpoint))) {
    throw new InvalidGrant(
      `This token endpoint does not accept codes from ${endpoint}. ` +
        'Its operator can trust it with `latchkey trust add URL`.',
    );
  }

  const verified = await verifyCodeWithEndpoint(deps.fetcher, endpoint, request);
  const verifiedMe = validateProfileUrl(verified.me);
  if (!verifiedMe.ok) {
    throw new InvalidGrant(`The authorization endpoint answered with an invalid "me": ${verifiedMe.reason}`);
  }
  // IndieAuth §5.3.3 / SECURITY F1: another `me` is accepted only if it names the same endpoint.
  if (verifiedMe.url !== me.url) {
    const other = await discoverEndpoint(deps, verifiedMe.url);
    if (other !== endpoint) {
      throw new InvalidGrant(
        `The authorization endpoint vouched for ${verifiedMe.url}, which does not use that authorization endpoint.`,
      );
    }
  }

  const scopes = parseScope(verified.scope);
  if (scopes === undefined)
    throw new InvalidGrant('The authorization endpoint answered with a malformed scope.');
  if (scopes.length === 0) {
    throw new InvalidScope(
      'The authorization endpoint granted no scope, so there is nothing to issue an access token for. ' +
        'Request at least one scope (for example "create").',
    );
  }

  const codeHash = sha256(`${endpoint}\n${request.code}`);
  const outcome = await deps.store.write(async (tx) => {
    const at = deps.tokens.now();
    // The marker's primary key decides which exchange wins, also between concurrent requests on
    // several instances: the loser's insert waits for the winner's commit, then does nothing.
    const grantId = randomId();
    const first = await recordRedeemedCode(tx, { codeHash, grantId, expiresAt: at + REDEEMED_CODE_MEMORY });
    if (!first) {
      // A code presented twice: revoke what the first exchange produced (RFC 6749 §4.1.2). The
      // revocation must commit, so the refusal is thrown after the transaction, not inside it.
      const earlier = await findRedeemedCode(tx, codeHash);
      if (earlier) await revokeGrant(tx, earlier.grantId, at);
      return { replayed: true } as const;
    }
    const issued = await deps.tokens.issueForNewGrant(tx, {
      id: grantId,
      me: verifiedMe.url,
      clientId: request.clientId,
      scope: formatScope(scopes),
      source: 'mintoken',
      authorizationEndpoint: endpoint,
    });
    return { replayed: false, issued } as const;
  });
  if (outcome.replayed) {
    throw new InvalidGrant('This code was already exchanged for a token; that token has been revoked.');
  }
  return outcome.issued;
}

async function discoverEndpoint(deps: MintokenDeps, me: string): Promise<string> {
  try {
    const found = await deps.discover(me);
    return canonicalEndpoint(found.authorizationEndpoint);
  } catch (error) {
    const why = error instanceof Error ? error.message : 'unknown error';
    throw new InvalidGrant(`Could not find the authorization endpoint of ${me}: ${why}`);
  }
}

/** POSTs the code to the authorization endpoint and reads its JSON verdict. */
async function verifyCodeWithEndpoint(
  fetcher: Fetcher,
  endpoint: string,
  request: MintokenRequest,
): Promise<z.infer<typeof VerifiedCode>> {
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code: request.code,
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
  });
  if (request.codeVerifier) form.set('code_verifier', request.codeVerifier);

  let response: Awaited<ReturnType<Fetcher>>;
  try {
    response = await fetcher(endpoint, {
      method: 'POST',
      accept: 'application/json',
      contentType: 'application/x-www-form-urlencoded',
      body: form.toString(),
      maxBytes: LIMITS.json,
      maxRedirects: 0,
    });
  } catch (error) {
    const why = error instanceof FetchError ? error.message : 'the request failed';
    throw new InvalidGrant(`Could not verify the code with ${endpoint}: ${why}`);
  }

  const contentType = response.headers.get('content-type') ?? '';
  const isJson = /^application\/(?:[\w.+-]*\+)?json\b/i.test(contentType);
  let body: unknown;
  if (isJson) {
    try {
      body = JSON.parse(response.body);
    } catch {
      body = undefined;
    }
  }
  if (response.status < 200 || response.status > 299) {
    const remote = z.object({ error: z.string() }).safeParse(body);
    const detail = remote.success ? ` (${remote.data.error.slice(0, 100)})` : '';
    throw new InvalidGrant(
      `The authorization endpoint ${endpoint} refused the code: HTTP ${response.status}${detail}.`,
    );
  }
  if (!isJson) {
    throw new InvalidGrant(
      `The authorization endpoint ${endpoint} did not answer with JSON (it sent ${contentType.split(';')[0] || 'no content type'}).`,
    );
  }
  const parsed = VerifiedCode.safeParse(body);
  if (!parsed.success) {
    throw new InvalidGrant(
      `The authorization endpoint ${endpoint} answered with JSON that has no valid "me".`,
    );
  }
  return parsed.data;
}
