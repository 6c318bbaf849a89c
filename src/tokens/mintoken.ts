/**
 * Mintoken mode (PROTOCOL §10): exchange a code issued by someone else's authorization endpoint
 * (e.g. selfauth) for an access token. The endpoint must be on the operator's trusted list; the
 * code is verified with it (IndieAuth §5.3.3 / the Mintoken seed), and only then is a token issued.
 */
import type { Events } from '../events.js';
import type { ClientPolicy } from '../indieauth/client-policy.js';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../indieauth/errors.js';
import {
  acceptVouchedMe,
  RemoteCodeError,
  type RemoteVerdict,
  redeemRemoteCode,
  type VouchingServer,
  vouchingServer,
} from '../indieauth/remote-code.js';
import { formatScope, parseScope } from '../indieauth/scopes.js';
import { validateProfileUrl } from '../indieauth/urls.js';
import type { Fetcher } from '../net/types.js';
import type { Store } from '../store/db.js';
import { findRedeemedCode, recordRedeemedCode } from '../store/tokens.js';
import { hasTrustedEndpoints, isTrustedEndpoint } from '../store/trusted-endpoints.js';
import type { AccessTokenService, IssuedToken } from './access-tokens.js';
import type { GrantService } from './grants.js';
import { randomId, sha256 } from './secrets.js';

/** Looks up the server a profile URL names (PROTOCOL §5). */
export type DiscoverAuthorizationEndpoint = (
  me: string,
) => Promise<{ me: string; authorizationEndpoint: string; tokenEndpoint?: string; issuer?: string }>;

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
  grants: GrantService;
  /** A client the operator's policy refuses gets no token here either (SECURITY A10). */
  clientPolicy: ClientPolicy;
  discover: DiscoverAuthorizationEndpoint;
  events?: Events;
}

/** How long a redeemed external code is remembered; far longer than any code lives. */
const REDEEMED_CODE_MEMORY = 24 * 3600;

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
  const permitted = await deps.clientPolicy.check(request.clientId);
  if (!permitted.ok) throw new InvalidGrant(permitted.reason);
  // Before anything is fetched: with nothing trusted, no `me` can lead anywhere, and a stranger's
  // request must not make this server fetch the site it names.
  if (!(await hasTrustedEndpoints(deps.store.db))) {
    throw new InvalidGrant(
      'This server did not issue this code, and it accepts no codes from other authorization endpoints. ' +
        'Its operator can trust one with `latchkey trust add URL`.',
    );
  }

  const server = await discoverServer(deps, me.url);
  const endpoint = server.authorizationEndpoint;
  if (!(await isTrustedEndpoint(deps.store.db, endpoint))) {
    throw new InvalidGrant(
      `This token endpoint does not accept codes from ${endpoint}. ` +
        'Its operator can trust it with `latchkey trust add URL`.',
    );
  }

  let verified: RemoteVerdict;
  let verifiedMe: string;
  try {
    verified = await redeemRemoteCode(deps.fetcher, server.redemptionEndpoint, {
      grant_type: 'authorization_code',
      code: request.code,
      client_id: request.clientId,
      redirect_uri: request.redirectUri,
      ...(request.codeVerifier ? { code_verifier: request.codeVerifier } : {}),
    });
    // IndieAuth §5.3.3 / SECURITY F1, F10: another `me` only if it names this same server throughout.
    verifiedMe = await acceptVouchedMe({
      expected: me.url,
      returned: verified.me,
      server,
      rule: 'authorization-endpoint',
      discover: deps.discover,
    });
  } catch (error) {
    if (error instanceof RemoteCodeError) throw new InvalidGrant(error.message);
    throw error;
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
      if (earlier) await deps.grants.revokeIn(tx, { id: earlier.grantId }, at);
      return { replayed: true } as const;
    }
    const issued = await deps.tokens.issueForNewGrant(tx, {
      id: grantId,
      me: verifiedMe,
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
  deps.events?.emit('token.issued', { kind: 'access', via: 'mintoken' });
  return outcome.issued;
}

/** The server `me` names, redeeming at its authorization endpoint (PROTOCOL §10). */
async function discoverServer(deps: MintokenDeps, me: string): Promise<VouchingServer> {
  let server: VouchingServer | undefined;
  try {
    server = vouchingServer(await deps.discover(me), 'authorization-endpoint');
  } catch (error) {
    const why = error instanceof Error ? error.message : 'unknown error';
    throw new InvalidGrant(`Could not find the authorization endpoint of ${me}: ${why}`);
  }
  if (!server) throw new InvalidGrant(`${me} names no authorization endpoint.`);
  return server;
}
