/**
 * Authorization codes this server issues (PROTOCOL §7–8, SECURITY B3–B5, C1–C10, A10): 256-bit,
 * stored hashed, single-use, short-lived, bound to client_id, redirect_uri, PKCE challenge, me, scope
 * and the authentication method. Every check runs before the code is consumed, so a failed attempt
 * never burns it (C3); the one conditional UPDATE that consumes it runs in the transaction that
 * issues the tokens, so exactly one of many concurrent redemptions wins (C9).
 */
import type { Kysely } from 'kysely';
import type { Events } from '../events.js';
import type { ClientPolicy } from '../indieauth/client-policy.js';
import { InvalidGrant, InvalidRequest, type OAuthError } from '../indieauth/errors.js';
import { verifierMatches } from '../indieauth/pkce.js';
import { formatScope, parseScope } from '../indieauth/scopes.js';
import { type CodeRow, consumeCode, findCode, insertCode } from '../store/codes.js';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import type { AccessTokenService } from './access-tokens.js';
import type { GrantService } from './grants.js';
import type { RefreshTokenService, TokenPair } from './refresh-tokens.js';
import { randomId, randomToken, sha256 } from './secrets.js';

/** What the `profile` (and `email`) scopes reveal (IndieAuth §5.3.4). */
export interface Profile {
  name?: string;
  url?: string;
  photo?: string;
  email?: string;
}

export interface NewCode {
  clientId: string;
  redirectUri: string;
  /** null only when the operator allows legacy clients without PKCE (SECURITY B6). */
  codeChallenge: string | null;
  me: string;
  scope: readonly string[];
  profile?: Profile | undefined;
  authMethod: string;
  /** The client's name and https logo as the person saw them; the grant keeps them (PROTOCOL §13). */
  clientName?: string | undefined;
  clientLogo?: string | undefined;
  /** False when the proof came from "Continue as" (passkey registration needs a fresh one, E9). */
  proofFresh?: boolean | undefined;
}

export interface RedeemRequest {
  code: string;
  clientId: string;
  redirectUri: string | undefined;
  codeVerifier: string | undefined;
}

export interface Redemption {
  me: string;
  scope: string[];
  profile?: Profile;
  /** Present when redeemed at the token endpoint for a code with scope. */
  tokens?: TokenPair;
  /** How the person proved `me` ('email', 'pgp', …). */
  authMethod: string;
  /** True when the proof was made for this sign-in, false for "Continue as" (PROTOCOL §13). */
  proofFresh: boolean;
}

export interface CodeServiceOptions {
  store: Store;
  tokens: AccessTokenService;
  refreshTokens: RefreshTokenService | undefined;
  grants: GrantService;
  policy: ClientPolicy;
  codeTtl: number;
  events?: Events;
}

export class CodeService {
  constructor(private readonly options: CodeServiceOptions) {}

  async issue(code: NewCode): Promise<string> {
    const value = randomToken();
    const at = this.options.tokens.now();
    await insertCode(this.options.store.db, {
      code_hash: sha256(value),
      client_id: code.clientId,
      redirect_uri: code.redirectUri,
      code_challenge: code.codeChallenge,
      me: code.me,
      scope: formatScope(code.scope),
      profile: code.profile ? JSON.stringify(code.profile) : null,
      auth_method: code.authMethod,
      client_name: code.clientName ?? null,
      client_logo: code.clientLogo?.startsWith('https:') ? code.clientLogo : null,
      proof_fresh: code.proofFresh === false ? 0 : 1,
      created_at: at,
      expires_at: at + this.options.codeTtl,
      used_at: null,
      used_by: null,
      grant_id: null,
    });
    this.options.events?.emit('code.issued', { method: code.authMethod });
    return value;
  }

  /**
   * Redeems a code at the authorization endpoint (`authorize`: identity only) or the token
   * endpoint (`token`: an access token when the code has scope, C8). Undefined when unknown.
   *
   * The order of the checks is the rule: a presentation that fails the request checks (client_id,
   * redirect_uri, PKCE) proves nothing and revokes nothing (C2); one that passes them for a code
   * already used is a replay, which revokes what the first redemption produced (C1) — also after
   * the code expired, so "used" is decided before "expired" (C10); then expiry (C4); then the
   * operator's client policy (A10).
   */
  async redeem(at: 'authorize' | 'token', request: RedeemRequest): Promise<Redemption | undefined> {
    const { store, tokens, refreshTokens, policy } = this.options;
    const codeHash = sha256(request.code);
    const row = await findCode(store.db, codeHash);
    if (!row) return undefined;
    const now = tokens.now();

    const mismatch = requestMismatch(row, request);
    if (row.used_at !== null) {
      if (mismatch) throw mismatch;
      await store.write((tx) => this.revokeFirstRedemption(tx, codeHash, now));
      throw alreadyUsed();
    }
    if (row.expires_at <= now)
      throw new InvalidGrant('The authorization code has expired; start the sign-in again.');
    if (mismatch) throw mismatch;
    const permitted = await policy.check(row.client_id);
    if (!permitted.ok) throw new InvalidGrant(permitted.reason);

    const scope = parseScope(row.scope) ?? [];
    const profile = selectProfile(row.profile, scope);
    const wantsTokens = at === 'token' && scope.length > 0;

    const outcome = await store.write(async (tx) => {
      const grantId = wantsTokens ? randomId() : null;
      if (!(await consumeCode(tx, codeHash, { at: now, by: at, grantId }))) {
        // Used concurrently: a second valid redemption, so the code leaked (C1). Commit, then refuse.
        await this.revokeFirstRedemption(tx, codeHash, now);
        return undefined;
      }
      if (!wantsTokens || !grantId) return { issued: undefined };
      const grant = { me: row.me, clientId: row.client_id, scope: formatScope(scope) };
      const issued = await tokens.issueForNewGrant(tx, {
        id: grantId,
        ...grant,
        source: 'code',
        authorizationEndpoint: null,
        profile: row.profile,
        clientName: row.client_name ?? null,
        clientLogo: row.client_logo ?? null,
        authMethod: row.auth_method,
      });
      const refreshToken = refreshTokens ? await refreshTokens.issue(tx, { grantId, ...grant }) : undefined;
      return { issued: { ...issued, refreshToken } };
    });
    if (!outcome) throw alreadyUsed();
    // After the commit: a redemption that rolled back issued nothing.
    const events = this.options.events;
    events?.emit('code.redeemed', { at });
    if (outcome.issued) events?.emit('token.issued', { kind: 'access', via: 'code' });
    if (outcome.issued?.refreshToken) events?.emit('token.issued', { kind: 'refresh', via: 'code' });
    return {
      me: row.me,
      scope,
      ...(profile ? { profile } : {}),
      ...(outcome.issued ? { tokens: outcome.issued } : {}),
      authMethod: row.auth_method,
      proofFresh: row.proof_fresh === 1,
    };
  }

  /** C1/C10: ends the grant the first redemption created (none for a sign-in-only code). */
  private async revokeFirstRedemption(tx: Kysely<Database>, codeHash: string, at: number): Promise<void> {
    const first = await findCode(tx, codeHash);
    if (first?.grant_id) await this.options.grants.revokeIn(tx, { id: first.grant_id }, at);
  }
}

function alreadyUsed(): InvalidGrant {
  return new InvalidGrant('The authorization code was already used; tokens issued for it have been revoked.');
}

/** What is wrong with the request for this code (PROTOCOL §8; B3–B5, C5, C6), if anything. */
function requestMismatch(row: CodeRow, request: RedeemRequest): OAuthError | undefined {
  if (request.clientId !== row.client_id)
    return new InvalidGrant('The code was issued to another client_id.');
  if (request.redirectUri === undefined)
    return new InvalidRequest('The "redirect_uri" parameter is missing.');
  if (request.redirectUri !== row.redirect_uri) {
    return new InvalidGrant('redirect_uri does not match the one the code was issued for.');
  }
  if (row.code_challenge !== null) {
    if (!request.codeVerifier) return new InvalidGrant('The code was issued with PKCE; send code_verifier.');
    if (!verifierMatches(request.codeVerifier, row.code_challenge)) {
      return new InvalidGrant('code_verifier does not match the code_challenge.');
    }
  } else if (request.codeVerifier !== undefined) {
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge signals a downgrade.
    return new InvalidGrant('The code was issued without PKCE, but a code_verifier was sent.');
  }
  return undefined;
}

/** `profile` reveals name, url and photo; `email` adds the proven email (IndieAuth §5.3.4). */
export function selectProfile(stored: string | null, scope: readonly string[]): Profile | undefined {
  if (!stored || !scope.includes('profile')) return undefined;
  const full = JSON.parse(stored) as Profile;
  const { email, ...rest } = full;
  return scope.includes('email') && email ? { ...rest, email } : rest;
}
