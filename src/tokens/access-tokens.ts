/**
 * Access tokens (PROTOCOL §10): opaque 256-bit values, stored as SHA-256 hashes, with a lifetime,
 * `last_used_at`, and revocation. Knows nothing of HTTP.
 */
import type { Kysely } from 'kysely';
import { ACTIVE, type Events, INACTIVE } from '../events.js';
import type { ClientPolicy } from '../indieauth/client-policy.js';
import { after, type MaybePromise } from '../maybe-promise.js';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import {
  type AccessTokenRow,
  findAccessTokenByHash,
  insertAccessToken,
  insertGrant,
  revokeAccessToken,
  touchAccessToken,
} from '../store/tokens.js';
import { LastUsedLedger } from './last-used.js';
import { randomId, randomToken, sha256 } from './secrets.js';

export interface NewGrant {
  /** Chosen by the caller when other rows must name the grant before it exists. */
  id?: string;
  me: string;
  clientId: string;
  scope: string;
  source: 'mintoken' | 'code';
  authorizationEndpoint: string | null;
  profile?: string | null;
  /** What the account page shows for the grant (PROTOCOL §13). */
  clientName?: string | null;
  clientLogo?: string | null;
  authMethod?: string | null;
}

export interface IssuedToken {
  accessToken: string;
  tokenId: string;
  grantId: string;
  expiresIn: number;
  scope: string;
  me: string;
}

/** What a valid token stands for; returned by verification and introspection. */
export interface ActiveToken {
  id: string;
  me: string;
  clientId: string;
  scope: string;
  issuedAt: number;
  expiresAt: number;
}

export interface AccessTokenServiceOptions {
  store: Store;
  tokenTtl: number;
  /** The operator's client policy: a denied client's tokens verify as inactive (SECURITY A10). */
  policy: ClientPolicy;
  clock?: () => number;
  events?: Events;
}

export class AccessTokenService {
  private readonly store: Store;
  private readonly tokenTtl: number;
  private readonly policy: ClientPolicy;
  private readonly clock: () => number;
  private readonly events: Events | undefined;
  /** This process's `last_used_at` writes; cached rows may hold an older value (tokens/last-used.ts). */
  private readonly lastUsed = new LastUsedLedger();
  private readonly touch = (id: string, at: number) => touchAccessToken(this.store.db, id, at);

  constructor(options: AccessTokenServiceOptions) {
    this.events = options.events;
    this.store = options.store;
    this.tokenTtl = options.tokenTtl;
    this.policy = options.policy;
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  now(): number {
    return this.clock();
  }

  /** Creates a grant and its first access token inside the caller's transaction. */
  async issueForNewGrant(tx: Kysely<Database>, grant: NewGrant): Promise<IssuedToken> {
    const at = this.clock();
    const { id, ...rest } = grant;
    const grantId = id ?? randomId();
    await insertGrant(tx, { id: grantId, createdAt: at, ...rest });
    return this.issue(tx, { grantId, me: grant.me, clientId: grant.clientId, scope: grant.scope });
  }

  async issue(
    tx: Kysely<Database>,
    token: { grantId: string; me: string; clientId: string; scope: string },
  ): Promise<IssuedToken> {
    const at = this.clock();
    const accessToken = randomToken();
    const row: AccessTokenRow = {
      id: randomId(),
      tokenHash: sha256(accessToken),
      grantId: token.grantId,
      me: token.me,
      clientId: token.clientId,
      scope: token.scope,
      createdAt: at,
      expiresAt: at + this.tokenTtl,
      lastUsedAt: null,
      revokedAt: null,
    };
    await insertAccessToken(tx, row);
    return {
      accessToken,
      tokenId: row.id,
      grantId: token.grantId,
      expiresIn: this.tokenTtl,
      scope: token.scope,
      me: token.me,
    };
  }

  /**
   * The token's meaning if it is known, unexpired, unrevoked and its client is not refused by the
   * operator's policy now (SECURITY A10; the policy stamp comes with the token's one lookup, D4);
   * otherwise undefined. Callers must not distinguish why a token is inactive (RFC 7662 §2.2).
   * Every endpoint that accepts an access token (`GET /token`, `/introspect`, `/userinfo`, the
   * fast path) goes through here. On SQLite, a token found in the read cache whose client policy
   * is loaded and whose `last_used_at` is not due is answered synchronously (no promise).
   */
  verify(token: string): MaybePromise<ActiveToken | undefined> {
    return after(this.lookup(token), this.counted);
  }

  /** Every answer of verify passes here once, so each is counted exactly once. */
  private readonly counted = (active: ActiveToken | undefined): ActiveToken | undefined => {
    this.events?.emit('token.verified', active ? ACTIVE : INACTIVE);
    return active;
  };

  private lookup(token: string): MaybePromise<ActiveToken | undefined> {
    if (!looksLikeToken(token)) return undefined;
    return after(findAccessTokenByHash(this.store, sha256(token)), (row) => {
      const at = this.clock();
      if (!row || row.revokedAt !== null || row.expiresAt <= at) return undefined;
      return after(this.policy.permits(row.clientId, row.policyVersion), (permitted) => {
        if (!permitted) return undefined;
        const active: ActiveToken = {
          id: row.id,
          me: row.me,
          clientId: row.clientId,
          scope: row.scope,
          issuedAt: row.createdAt,
          expiresAt: row.expiresAt,
        };
        return this.lastUsed.touchIfDue(row.id, row.lastUsedAt, at, active, this.touch);
      });
    });
  }

  /** Revokes a token if it exists (RFC 7009 §2.2: unknown tokens are not an error). */
  async revoke(token: string): Promise<void> {
    if (!looksLikeToken(token)) return;
    if (await revokeAccessToken(this.store.db, { tokenHash: sha256(token) }, this.clock()))
      this.events?.emit('token.revoked', { kind: 'access', count: 1 });
  }
}

/** Cheap shape check before hashing: tokens are base64url and never very long. */
function looksLikeToken(token: string): boolean {
  return token.length > 0 && token.length <= 512 && /^[A-Za-z0-9._~+/=-]+$/.test(token);
}
