/**
 * Refresh tokens (PROTOCOL §10, IndieAuth §5.5, RFC 6749 §6, RFC 9700 §4.14.2): rotated on every
 * use; presenting a rotated token again means it leaked, so the whole grant is revoked (D5), also
 * after that token expired (C10); a refresh may narrow the scope, never widen it (D6); a client the
 * operator's policy refuses cannot refresh (A10).
 */
import type { Kysely } from 'kysely';
import { type Events, NO_FIELDS } from '../events.js';
import type { ClientPolicy } from '../indieauth/client-policy.js';
import { InvalidGrant, InvalidScope } from '../indieauth/errors.js';
import { formatScope, parseScope } from '../indieauth/scopes.js';
import type { Store } from '../store/db.js';
import { findRefreshTokenByHash, insertRefreshToken, rotateRefreshToken } from '../store/refresh-tokens.js';
import type { Database } from '../store/schema.js';
import type { AccessTokenService, IssuedToken } from './access-tokens.js';
import type { GrantService } from './grants.js';
import { randomId, randomToken, sha256 } from './secrets.js';

export interface RefreshRequest {
  refreshToken: string;
  clientId: string;
  /** Optional narrower scope (RFC 6749 §6). */
  scope?: string | undefined;
}

export interface TokenPair extends IssuedToken {
  refreshToken?: string;
}

export interface RefreshTokenDeps {
  grants: GrantService;
  policy: ClientPolicy;
  events?: Events;
}

export class RefreshTokenService {
  constructor(
    private readonly store: Store,
    private readonly tokens: AccessTokenService,
    private readonly ttl: number,
    private readonly deps: RefreshTokenDeps,
  ) {}

  async issue(
    tx: Kysely<Database>,
    grant: { grantId: string; me: string; clientId: string; scope: string },
  ): Promise<string> {
    const at = this.tokens.now();
    const refreshToken = randomToken();
    await insertRefreshToken(tx, {
      id: randomId(),
      token_hash: sha256(refreshToken),
      grant_id: grant.grantId,
      me: grant.me,
      client_id: grant.clientId,
      scope: grant.scope,
      created_at: at,
      expires_at: at + this.ttl,
      rotated_at: null,
      revoked_at: null,
    });
    return refreshToken;
  }

  /**
   * Exchanges a refresh token for a new access token and a new refresh token. As for codes, the
   * request checks (client_id, scope) come first and a failure revokes nothing (C2); a request that
   * passes them with a rotated token is reuse and ends the grant, expired or not (D5, C10); then
   * expiry; then the operator's client policy (A10).
   */
  async refresh(request: RefreshRequest): Promise<TokenPair> {
    const refused = new InvalidGrant('The refresh token is unknown, expired, revoked or already used.');
    const row = await findRefreshTokenByHash(this.store.db, sha256(request.refreshToken));
    const at = this.tokens.now();
    if (!row || row.revoked_at !== null) throw refused;
    if (row.client_id !== request.clientId)
      throw new InvalidGrant('The refresh token was issued to another client_id.');

    const granted = parseScope(row.scope) ?? [];
    let scopes = granted;
    if (request.scope !== undefined) {
      const asked = parseScope(request.scope);
      if (!asked || asked.length === 0) throw new InvalidScope('The scope parameter is malformed or empty.');
      const wider = asked.filter((s) => !granted.includes(s));
      if (wider.length > 0) {
        throw new InvalidScope(`A refresh cannot add scope the grant does not have: ${wider.join(' ')}.`);
      }
      scopes = asked;
    }

    if (row.rotated_at !== null) {
      await this.store.write((tx) => this.deps.grants.revokeIn(tx, { id: row.grant_id }, at));
      throw reused();
    }
    if (row.expires_at <= at) throw refused;
    const permitted = await this.deps.policy.check(row.client_id);
    if (!permitted.ok) throw new InvalidGrant(permitted.reason);

    const outcome = await this.store.write(async (tx) => {
      if (!(await rotateRefreshToken(tx, row.id, at))) {
        // Used concurrently: treat as stolen and end the grant (D5). Commit, then refuse.
        await this.deps.grants.revokeIn(tx, { id: row.grant_id }, at);
        return undefined;
      }
      const grant = {
        grantId: row.grant_id,
        me: row.me,
        clientId: row.client_id,
        scope: formatScope(scopes),
      };
      const issued = await this.tokens.issue(tx, grant);
      const refreshToken = await this.issue(tx, grant);
      return { ...issued, refreshToken };
    });
    if (!outcome) throw reused();
    // Counted once the rotation committed, so a rolled-back exchange is not a refresh.
    this.deps.events?.emit('token.refreshed', NO_FIELDS);
    this.deps.events?.emit('token.issued', { kind: 'access', via: 'refresh' });
    this.deps.events?.emit('token.issued', { kind: 'refresh', via: 'refresh' });
    return outcome;
  }

  /** RFC 7009 §2.1: revoking a refresh token also ends the access tokens of its grant. */
  async revoke(refreshToken: string): Promise<boolean> {
    const row = await findRefreshTokenByHash(this.store.db, sha256(refreshToken));
    if (!row) return false;
    await this.deps.grants.revoke(row.grant_id);
    return true;
  }
}

function reused(): InvalidGrant {
  return new InvalidGrant('This refresh token was already used; the grant has been revoked.');
}
