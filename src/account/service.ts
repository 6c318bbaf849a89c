/**
 * The person's account page (PROTOCOL §13), without HTTP: who is signed in to it, what they see for
 * their `me` only, and what they may end. Grants are listed and revoked through GrantService alone
 * (DESIGN "tokens/grants"), so a revoke ends access and refresh tokens at once, on every instance
 * (SECURITY D4, D9). Every query is scoped by the session's `me`: a grant id of another site is
 * refused, never revoked (E4). Forms carry a CSRF token bound to the account session (E4).
 */
import { createHmac } from 'node:crypto';
import type { Logger } from '../log.js';
import {
  deleteAccountSession,
  deleteAccountSessionsForMe,
  deleteIdentitiesForMe,
  findAccountSession,
  insertAccountSession,
  listIdentitiesForMe,
  listSigninLog,
} from '../store/account.js';
import type { Store } from '../store/db.js';
import { SIGNIN_LOG_KEEP_SECONDS } from '../store/purge.js';
import type { GrantService, GrantSummary } from '../tokens/grants.js';
import { constantTimeEqual, randomToken, sha256 } from '../tokens/secrets.js';

/** An account session lasts 12 hours (PROTOCOL §13); then the person proves their site again. */
export const ACCOUNT_SESSION_TTL = 12 * 3600;

export interface AccountSession {
  /** The secret id from the cookie; never stored or logged. */
  id: string;
  idHash: string;
  me: string;
  method: string;
  provenAt: number;
  /** False when the sign-in came from "Continue as" (passkey registration needs a fresh proof, E9). */
  fresh: boolean;
  expiresAt: number;
}

/** What proved the person's site when they signed in to the account page (from the code's redemption). */
export interface AccountProof {
  me: string;
  authMethod: string;
  proofFresh: boolean;
}

export interface AppGrant {
  id: string;
  clientId: string;
  /** Remote text as recorded at grant time (SECURITY E7); escaped by the view. */
  clientName: string | null;
  /** Only ever an `https:` URL (E7). */
  clientLogo: string | null;
  scope: string[];
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  /** How the site was proven when the grant was made; null for grants from before it was recorded. */
  authMethod: string | null;
}

export interface SignInEntry {
  at: number;
  clientId: string;
  clientName: string | null;
  method: string;
  evidence: string;
}

export interface BrowserEntry {
  method: string;
  authenticatedAt: number;
  expiresAt: number;
}

export interface AccountOverview {
  grants: AppGrant[];
  signIns: SignInEntry[];
  browsers: BrowserEntry[];
}

export type RevokeOutcome = 'revoked' | 'unknown';

export interface AccountServiceOptions {
  store: Store;
  grants: GrantService;
  logger: Logger;
  secrets: readonly string[];
  clock: () => number;
  /** Latchkey's own client_id: its sign-ins are named as the account page's. */
  issuer: string;
}

/** How many recent sign-ins the page lists. */
const SIGN_IN_ROWS = 50;

export class AccountService {
  constructor(private readonly options: AccountServiceOptions) {}

  /** Starts an account session after Latchkey's own sign-in; returns the secret id for the cookie. */
  async start(proof: AccountProof): Promise<AccountSession> {
    const { store, clock, logger } = this.options;
    const id = randomToken();
    const at = clock();
    const session: AccountSession = {
      id,
      idHash: sha256(id),
      me: proof.me,
      method: proof.authMethod,
      provenAt: at,
      fresh: proof.proofFresh,
      expiresAt: at + ACCOUNT_SESSION_TTL,
    };
    await insertAccountSession(store.db, {
      id_hash: session.idHash,
      me: session.me,
      method: session.method,
      proven_at: at,
      fresh: session.fresh ? 1 : 0,
      created_at: at,
      expires_at: session.expiresAt,
    });
    logger.info(
      { event: 'account.signed_in', me: session.me, method: session.method, fresh: session.fresh },
      'signed in to the account page',
    );
    return session;
  }

  /** The live session for a cookie's id, or undefined (unknown, expired, signed out). */
  async open(id: string | undefined): Promise<AccountSession | undefined> {
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const row = await findAccountSession(this.options.store.db, sha256(id), this.options.clock());
    if (!row) return undefined;
    return {
      id,
      idHash: row.id_hash,
      me: row.me,
      method: row.method,
      provenAt: Number(row.proven_at),
      fresh: row.fresh === 1,
      expiresAt: Number(row.expires_at),
    };
  }

  /** The CSRF token of every form on the page: an HMAC of the session, so it dies with it (E4). */
  csrfToken(session: AccountSession): string {
    const key = this.options.secrets[0];
    if (!key) throw new Error('no secret to sign with');
    return csrfMac(key, session.idHash);
  }

  /** True when `token` is this session's CSRF token under any configured key (SECURITY R7). */
  checkCsrf(session: AccountSession, token: string | undefined): boolean {
    if (!token) return false;
    let valid = false;
    for (const key of this.options.secrets)
      valid = constantTimeEqual(token, csrfMac(key, session.idHash)) || valid;
    return valid;
  }

  /** Everything the page shows, for the session's `me` only. */
  async overview(session: AccountSession): Promise<AccountOverview> {
    const { store, grants, clock } = this.options;
    const at = clock();
    const [live, log, browsers] = await Promise.all([
      grants.list({ me: session.me }),
      listSigninLog(store.db, session.me, at - SIGNIN_LOG_KEEP_SECONDS, SIGN_IN_ROWS),
      listIdentitiesForMe(store.db, session.me, at),
    ]);
    return {
      grants: live.map(toAppGrant),
      signIns: log.map((row) => ({
        at: Number(row.created_at),
        clientId: row.client_id,
        clientName: row.client_id === this.options.issuer ? 'Latchkey (this account page)' : row.client_name,
        method: row.method,
        evidence: row.evidence,
      })),
      browsers,
    };
  }

  /**
   * Revokes one grant of the session's `me`. A grant of another site, an unknown id and an already
   * ended grant all answer 'unknown', so the page reveals nothing about other people's grants.
   */
  async revoke(session: AccountSession, grantId: string): Promise<RevokeOutcome> {
    const { grants, logger } = this.options;
    const grant = await grants.get(grantId);
    if (!grant || grant.me !== session.me || grant.revokedAt !== null) return 'unknown';
    if (!(await grants.revoke(grant.id))) return 'unknown';
    logger.info(
      { event: 'account.grant_revoked', me: session.me, grant_id: grant.id, client_id: grant.clientId },
      'grant revoked on the account page',
    );
    return 'revoked';
  }

  /** "Revoke all": every grant of the session's `me`; returns how many ended. */
  async revokeAll(session: AccountSession): Promise<number> {
    const count = await this.options.grants.revokeForMe(session.me);
    this.options.logger.info(
      { event: 'account.grants_revoked_all', me: session.me, grants: count },
      'all grants revoked on the account page',
    );
    return count;
  }

  /**
   * "Sign out everywhere": every browser forgets this `me` (no more "Continue as" for it) and every
   * account session of it ends, this one included. Grants are not touched: apps keep their access
   * until revoked.
   */
  async signOutEverywhere(session: AccountSession): Promise<{ browsers: number; sessions: number }> {
    const { store, logger } = this.options;
    const outcome = await store.write(async (tx) => ({
      browsers: await deleteIdentitiesForMe(tx, session.me),
      sessions: await deleteAccountSessionsForMe(tx, session.me),
    }));
    logger.info(
      { event: 'account.signed_out_everywhere', me: session.me, ...outcome },
      'signed out everywhere',
    );
    return outcome;
  }

  /** Ends this account session only. */
  async signOut(session: AccountSession): Promise<void> {
    await deleteAccountSession(this.options.store.db, session.idHash);
  }
}

function csrfMac(key: string, idHash: string): string {
  return createHmac('sha256', key).update(`account-csrf:${idHash}`).digest('base64url');
}

function toAppGrant(grant: GrantSummary): AppGrant {
  return {
    id: grant.id,
    clientId: grant.clientId,
    clientName: grant.clientName,
    clientLogo: grant.clientLogo?.startsWith('https:') ? grant.clientLogo : null,
    scope: grant.scope.split(' ').filter(Boolean),
    createdAt: grant.createdAt,
    lastUsedAt: grant.lastUsedAt,
    expiresAt: grant.expiresAt,
    authMethod: grant.authMethod,
  };
}
