/**
 * Refresh tokens (PROTOCOL §10, IndieAuth §5.5, RFC 6749 §6, RFC 9700 §4.14.2): rotated on every
 * use; presenting a rotated token again means it leaked, so the whole grant is revoked (D5); a
 * refresh may narrow the scope, never widen it (D6).
 */
import type { Kysely } from 'kysely';
import { InvalidGrant, InvalidScope } from '../indieauth/errors.js';
import { formatScope, parseScope } from '../indieauth/scopes.js';
import type { Store } from '../store/db.js';
import { findRefreshTokenByHash, insertRefreshToken, rotateRefreshToken } from '../store/refresh-tokens.js';
import type { Database } from '../store/schema.js';
import { revokeGrant } from '../store/tokens.js';
import type { AccessTokenService, IssuedToken } from './access-tokens.js';
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

export class RefreshTokenService {
  constructor(
    private readonly store: Store,
    private readonly tokens: AccessTokenService,
    private readonly ttl: number,
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

  /** Exchanges a refresh token for a new access token and a new refresh token. */
  async refresh(request: RefreshRequest): Promise<TokenPair> {
    const refused = new InvalidGrant('The refresh token is unknown, expired, revoked or already used.');
    const row = await findRefreshTokenByHash(this.store.db, sha256(request.refreshToken));
    const at = this.tokens.now();
    if (!row || row.revoked_at !== null || row.expires_at <= at) throw refused;
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

    const outcome = await this.store.write(async (tx) => {
      if (!(await rotateRefreshToken(tx, row.id, at))) {
        // Used before (or concurrently): treat as stolen and end the grant. Commit, then refuse.
        await revokeGrant(tx, row.grant_id, at);
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
    if (!outcome) throw new InvalidGrant('This refresh token was already used; the grant has been revoked.');
    return outcome;
  }

  /** RFC 7009 §2.1: revoking a refresh token also ends the access tokens of its grant. */
  async revoke(refreshToken: string): Promise<boolean> {
    const row = await findRefreshTokenByHash(this.store.db, sha256(refreshToken));
    if (!row) return false;
    await this.store.write((tx) => revokeGrant(tx, row.grant_id, this.tokens.now()));
    return true;
  }
}
