/**
 * Grants (PROTOCOL §13, §14; SECURITY D4, D9): the one service the CLI, the routes and the account
 * page call to list grants — by `me`, by client, by id — and to revoke them. Revoking a grant ends
 * its access AND refresh tokens in one transaction, so an app cannot refresh its way back after an
 * operator's or person's revoke. The replay and reuse rules (C1, C10, D5) and a client deny (A10)
 * revoke through `revokeIn`, inside their own transactions. Knows nothing of HTTP.
 */
import type { Kysely } from 'kysely';
import type { Events } from '../events.js';
import type { Store } from '../store/db.js';
import {
  clientIdsWithUnrevokedGrants,
  findUnrevokedGrantIds,
  type GrantSelector,
  type GrantSummaryRow,
  listGrantSummaries,
  revokeGrants,
} from '../store/grants.js';
import type { Database } from '../store/schema.js';

/** What a grant list shows: client_id, me, scope, created, last used, expires, token counts. */
export type GrantSummary = GrantSummaryRow;

export interface GrantListFilter {
  me?: string;
  clientId?: string;
  /** Also grants that are revoked or have no usable token left. */
  includeInactive?: boolean;
  limit?: number;
}

/** Which grants `revokeIn` ends: a store selector, or every client a predicate matches (A10 rules). */
export type GrantTarget = GrantSelector | { clientsMatching: (clientId: string) => boolean };

export interface GrantServiceOptions {
  store: Store;
  clock?: () => number;
  events?: Events;
}

export class GrantService {
  private readonly store: Store;
  private readonly clock: () => number;
  private readonly events: Events | undefined;

  constructor(options: GrantServiceOptions) {
    this.events = options.events;
    this.store = options.store;
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Live grants (unrevoked, holding a usable token), newest first; `includeInactive` for all. */
  list(filter: GrantListFilter = {}): Promise<GrantSummary[]> {
    return listGrantSummaries(this.store.db, {
      ...(filter.me !== undefined ? { me: filter.me } : {}),
      ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
      at: this.clock(),
      liveOnly: !filter.includeInactive,
      ...(filter.limit !== undefined ? { limit: filter.limit } : {}),
    });
  }

  /** One grant, live or not. */
  async get(id: string): Promise<GrantSummary | undefined> {
    const [row] = await listGrantSummaries(this.store.db, { id, at: this.clock(), liveOnly: false });
    return row;
  }

  /** Ends one grant; false when it is unknown or was already revoked. */
  async revoke(id: string): Promise<boolean> {
    return (await this.revokeNow({ id })).length > 0;
  }

  /** Ends every grant of one person (`grants revoke --me URL`, the account page's "Revoke all"). */
  async revokeForMe(me: string): Promise<number> {
    return (await this.revokeNow({ me })).length;
  }

  /** Ends every grant held by one client_id (exactly that client_id). */
  async revokeForClient(clientId: string): Promise<number> {
    return (await this.revokeNow({ clientIds: [clientId] })).length;
  }

  /**
   * `latchkey tokens revoke ID`: ends the whole grant the access token belongs to, refresh tokens
   * included (D9), even when that access token itself was revoked before. Returns the grant's id,
   * or undefined when the token is unknown or its grant already ended.
   */
  async revokeForAccessToken(tokenId: string): Promise<string | undefined> {
    const [grantId] = await this.revokeNow({ accessTokenId: tokenId });
    return grantId;
  }

  /**
   * Revokes inside the caller's transaction; returns the ids of the grants it ended. Every grant
   * revocation passes here, so it is counted here (before the caller commits: none of them rolls
   * back after revoking).
   */
  async revokeIn(tx: Kysely<Database>, target: GrantTarget, at: number = this.clock()): Promise<string[]> {
    let selector: GrantSelector;
    if ('clientsMatching' in target) {
      const clientIds = (await clientIdsWithUnrevokedGrants(tx)).filter(target.clientsMatching);
      selector = { clientIds };
    } else selector = target;
    const ids = await findUnrevokedGrantIds(tx, selector);
    await revokeGrants(tx, ids, at);
    if (ids.length > 0) this.events?.emit('token.revoked', { kind: 'grant', count: ids.length });
    return ids;
  }

  private revokeNow(target: GrantTarget): Promise<string[]> {
    return this.store.write((tx) => this.revokeIn(tx, target));
  }
}
