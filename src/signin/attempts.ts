/**
 * Sign-in attempts in the store: rows ↔ Attempt, the single-use step tokens bound to a browser
 * session, and the one table of transitions (DESIGN "The sign-in core"). Every move is one
 * conditional UPDATE on the states the transition may leave, so two requests racing on one attempt
 * cannot both move it (SECURITY E4, E5, F9).
 */
import type { AuthorizationRequest } from '../indieauth/authorization-request.js';
import type { ClientInfo } from '../indieauth/client-info.js';
import type { Store } from '../store/db.js';
import {
  type AttemptRow,
  consumeStep,
  findAttempt,
  insertAttempt,
  insertStep,
  transitionAttempt,
} from '../store/signin.js';
import type { Profile } from '../tokens/codes.js';
import { randomToken, sha256 } from '../tokens/secrets.js';
import type { Attempt, AttemptClient, AttemptRequest, AttemptState, Candidate, Proof } from './types.js';

/** An attempt (and its step tokens) lives this long; a person may take a while to find a code. */
export const ATTEMPT_TTL = 30 * 60;

/**
 * requested → discovered → proving → proven → done | denied. Each transition names the states it
 * may leave and the state it enters (`undefined`: it stays, e.g. a method saving its state).
 */
export const TRANSITIONS = {
  discover: { from: ['requested', 'discovered'], to: 'discovered' },
  start: { from: ['discovered'], to: 'proving' },
  saveState: { from: ['proving'], to: undefined },
  prove: { from: ['proving'], to: 'proven' },
  continueAs: { from: ['requested', 'discovered'], to: 'proven' },
  approve: { from: ['proven'], to: 'done' },
  deny: { from: ['proven'], to: 'denied' },
} as const satisfies Record<string, { from: readonly AttemptState[]; to: AttemptState | undefined }>;

export type Transition = keyof typeof TRANSITIONS;

/** What a transition may write besides the state. */
export type AttemptPatch = Partial<
  Pick<AttemptRow, 'me' | 'candidates' | 'method' | 'method_state' | 'proof'>
>;

function parseJson<T>(text: string | null): T | undefined {
  return text === null ? undefined : (JSON.parse(text) as T);
}

function toAttempt(row: AttemptRow): Attempt {
  const candidates = parseJson<{ list: Candidate[]; profile?: Profile }>(row.candidates);
  return {
    id: row.id,
    sessionHash: row.session_hash,
    state: row.state as AttemptState,
    request: JSON.parse(row.request) as AttemptRequest,
    client: JSON.parse(row.client) as AttemptClient,
    me: row.me ?? undefined,
    candidates: candidates?.list ?? [],
    ...(candidates?.profile ? { siteProfile: candidates.profile } : {}),
    method: row.method ?? undefined,
    methodState: parseJson<unknown>(row.method_state),
    proof: parseJson<Proof>(row.proof),
    expiresAt: row.expires_at,
  };
}

function hostOf(url: string): string {
  return new URL(url).hostname.toLowerCase();
}

export class Attempts {
  constructor(
    private readonly store: Store,
    private readonly clock: () => number,
  ) {}

  /** A new attempt for a validated authorization request (state `requested`). */
  async create(
    sessionHash: string,
    request: AuthorizationRequest,
    info: ClientInfo,
    query: URLSearchParams,
  ): Promise<Attempt> {
    const at = this.clock();
    const row: AttemptRow = {
      id: randomToken(18),
      session_hash: sessionHash,
      state: 'requested',
      request: JSON.stringify({
        responseType: request.responseType,
        clientId: request.clientId,
        redirectUri: request.redirectUri,
        state: request.state,
        codeChallenge: request.codeChallenge,
        scope: request.scope,
        forceLogin: request.forceLogin,
        query: query.toString(),
      } satisfies AttemptRequest),
      client: JSON.stringify({
        ...(info.name ? { name: info.name } : {}),
        ...(info.logoUri ? { logoUri: info.logoUri } : {}),
        ...(info.clientUri ? { clientUri: info.clientUri } : {}),
        redirectHostDiffers: hostOf(request.redirectUri) !== hostOf(request.clientId),
      } satisfies AttemptClient),
      me: null,
      candidates: null,
      method: null,
      method_state: null,
      proof: null,
      created_at: at,
      updated_at: at,
      expires_at: at + ATTEMPT_TTL,
    };
    await insertAttempt(this.store.db, row);
    return toAttempt(row);
  }

  /** Moves an attempt along one transition; false when it was no longer in a state it may leave. */
  async move(attempt: Attempt, transition: Transition, patch: AttemptPatch = {}): Promise<boolean> {
    const { from, to } = TRANSITIONS[transition];
    return transitionAttempt(
      this.store.db,
      attempt.id,
      from,
      to === undefined ? patch : { ...patch, state: to },
      this.clock(),
    );
  }

  /** A single-use step token of `kind` for this attempt's session. */
  async issueStep(attempt: Attempt, kind: string): Promise<string> {
    const token = randomToken();
    await insertStep(this.store.db, {
      token_hash: sha256(token),
      kind,
      attempt_id: attempt.id,
      session_hash: attempt.sessionHash,
      created_at: this.clock(),
      expires_at: attempt.expiresAt,
      used_at: null,
    });
    return token;
  }

  /** Uses a step token of `kind` from this session, and loads its attempt if it is in one of `states`. */
  async takeStep(
    sessionHash: string,
    kind: string,
    token: string,
    states: readonly AttemptState[],
  ): Promise<Attempt | undefined> {
    if (!token) return undefined;
    const at = this.clock();
    const attemptId = await consumeStep(this.store.db, { tokenHash: sha256(token), kind, sessionHash }, at);
    if (!attemptId) return undefined;
    const row = await findAttempt(this.store.db, attemptId);
    if (!row || row.expires_at <= at || row.session_hash !== sessionHash) return undefined;
    const attempt = toAttempt(row);
    return states.includes(attempt.state) ? attempt : undefined;
  }
}

/** Parses stored JSON that may be absent (identity profiles, for instance). */
export { parseJson };
