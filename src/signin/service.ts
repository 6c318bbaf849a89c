/**
 * A sign-in attempt as an explicit state machine (PROTOCOL §7, §9; DESIGN "The sign-in core"):
 *
 *   requested → discovered → proving → proven → done | denied
 *
 * Every browser step carries a typed, single-use step token bound to the browser session; the
 * attempt it names moves only along the transitions above (one conditional UPDATE each), so a token
 * from another method, another session or an earlier page cannot finish someone's sign-in (SECURITY
 * E4, E5, F9). This module decides; routes only parse and render its `Screen`s.
 */
import type { Config } from '../config.js';
import {
  type AuthorizationRequest,
  authorizationResponseUrl,
  checkAuthorizationRequest,
} from '../indieauth/authorization-request.js';
import { type ClientInfo, type ClientInfoService, checkRedirectUri } from '../indieauth/client-info.js';
import { isClientPermitted } from '../indieauth/client-policy.js';
import { DiscoveryError, type SiteDiscovery } from '../indieauth/discovery.js';
import { normaliseSignInInput, validateProfileUrl } from '../indieauth/urls.js';
import type { Logger } from '../log.js';
import type { Link } from '../net/links.js';
import type { Store } from '../store/db.js';
import {
  type AttemptRow,
  consumeStep,
  findAttempt,
  forgetIdentities,
  insertAttempt,
  insertStep,
  listIdentities,
  moveIdentities,
  rebindAttempts,
  transitionAttempt,
  upsertIdentity,
} from '../store/signin.js';
import type { CodeService, Profile } from '../tokens/codes.js';
import { randomToken, sha256 } from '../tokens/secrets.js';
import { findCandidates } from './candidates.js';
import { profileFromSite } from './profile.js';
import type { RateLimiter } from './rate-limit.js';
import { newSession, SESSION_TTL, type Session } from './session.js';
import type {
  Attempt,
  AttemptClient,
  AttemptRequest,
  AttemptState,
  Candidate,
  Method,
  MethodContext,
  Proof,
  StepOutcome,
  StepPage,
} from './types.js';

/** An attempt (and its step tokens) lives this long; a person may take a while to find a code. */
export const ATTEMPT_TTL = 30 * 60;

/** The browser's session for one request; the service replaces it when the id rotates. */
export interface SessionHandle {
  current: Session;
  /** True when the cookie must be (re)sent. */
  changed: boolean;
}

/** What the client looks like on pages (remote text: escaped by the views, SECURITY E7). */
export interface ClientView extends AttemptClient {
  clientId: string;
  redirectUri: string;
}

export interface IdentityView {
  me: string;
  method: string;
}

/** What the browser is shown next. */
export type Screen =
  | {
      kind: 'signin';
      step: string;
      client: ClientView;
      identities: IdentityView[];
      continueStep?: string;
      problem?: string;
      value?: string;
      /** This authorization request again (where "Sign out" returns to). */
      startAgain: string;
    }
  | { kind: 'chooser'; step: string; client: ClientView; me: string; candidates: Candidate[] }
  | { kind: 'continue'; step: string; client: ClientView; me: string; method: string; otherStep: string }
  | { kind: 'method'; client: ClientView; me: string; page: StepPage }
  | {
      kind: 'consent';
      step: string;
      client: ClientView;
      me: string;
      proof: Proof;
      scope: string[];
      noPkce: boolean;
    }
  | { kind: 'no-methods'; me: string; links: Link[]; notes: string[]; startAgain: string }
  | {
      kind: 'problem';
      title: string;
      message: string;
      next?: string;
      startAgain?: string;
      /** 400 developer or stale-page errors, 403 policy, 429 limits, 502 the person's site. */
      status: 400 | 403 | 429 | 502;
      /** Addressed to the developer of the client (PROTOCOL §12). */
      developer?: boolean;
    }
  | { kind: 'redirect'; url: string };

export interface SignInDeps {
  config: Config;
  store: Store;
  logger: Logger;
  clientInfo: ClientInfoService;
  codes: CodeService;
  methods: readonly Method[];
  limits: RateLimiter;
  clock: () => number;
  discover(me: string): Promise<SiteDiscovery>;
  /** Operator switch for clients without PKCE (SECURITY B6). */
  allowNoPkce: boolean;
}

export type ProblemScreen = Extract<Screen, { kind: 'problem' }>;

const STALE: ProblemScreen = {
  kind: 'problem',
  title: 'This sign-in page has expired',
  message: 'The page was already used, is more than 30 minutes old, or belongs to another browser.',
  next: 'Go back to the website you were signing in to and start again.',
  status: 400,
};

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
    methodState: parseJson<Record<string, unknown>>(row.method_state),
    proof: parseJson<Proof>(row.proof),
    expiresAt: row.expires_at,
  };
}

function hostOf(url: string): string {
  return new URL(url).hostname.toLowerCase();
}

export class SignInService {
  private readonly methods: Map<string, Method>;
  private readonly stepKinds: Map<string, Method>;

  constructor(private readonly deps: SignInDeps) {
    this.methods = new Map(deps.methods.map((method) => [method.id, method]));
    this.stepKinds = new Map(deps.methods.flatMap((method) => method.steps.map((kind) => [kind, method])));
  }

  /** What sign-in would offer for a discovered site, in order (PROTOCOL §9); `latchkey doctor` shows it. */
  candidatesFor(site: SiteDiscovery): Candidate[] {
    return findCandidates(site, this.deps.methods, this.deps.config.publicUrl);
  }

  /** Step kinds a method accepts from the browser (routes refuse any other). */
  isMethodStep(kind: string): boolean {
    return this.stepKinds.has(kind);
  }

  // -------------------------------------------------------------------------------------------------
  // requested

  /** `GET /authorize` (PROTOCOL §7). */
  async authorize(session: SessionHandle, query: URLSearchParams, clientIp: string): Promise<Screen> {
    const { config } = this.deps;
    const check = checkAuthorizationRequest(query, { allowNoPkce: this.deps.allowNoPkce });
    if (check.kind === 'error_page') return this.developerProblem(check.reason);
    // R5: from here on the client_id may be fetched, error redirects included, so every request counts.
    const limited = await this.deps.limits.check([{ name: 'signin-ip', key: clientIp }]);
    if (!limited.ok) return this.tooMany(limited.retryAfterMinutes);
    if (check.kind === 'redirect_error') {
      // The syntax is valid, but a cross-origin redirect_uri must still be published before we send
      // anyone there (PROTOCOL §3, SECURITY A2).
      const client = await this.checkClient(query.get('client_id') ?? '', check.redirectUri);
      if (client.kind === 'problem') return client;
      return {
        kind: 'redirect',
        url: authorizationResponseUrl(check.redirectUri, config.publicUrl, {
          ...check.error,
          state: check.state,
        }),
      };
    }
    const request = check.request;

    // The client document and the person's site are fetched at the same time (DESIGN: sign-in
    // fetches run concurrently); the site is only used once the client checks pass.
    const identities = await listIdentities(this.deps.store.db, session.current.hash, this.deps.clock());
    const known = request.me ? identities.find((identity) => identity.me === request.me) : undefined;
    const discovery =
      request.me && !(known && !request.forceLogin) ? this.discoverSafely(request.me) : undefined;
    const client = await this.checkClient(request.clientId, request.redirectUri);
    if (client.kind === 'problem') return client;
    const permitted = await isClientPermitted(this.deps.store, request.clientId);
    if (!permitted.ok) {
      return {
        kind: 'problem',
        title: 'This app is not allowed here',
        message: permitted.reason,
        status: 403,
      };
    }

    const attempt = await this.createAttempt(session, request, client.info, query);
    if (known && !request.forceLogin) return this.continueScreen(attempt, known.me, known.method);
    if (discovery) return this.afterDiscovery(session, attempt, await discovery);
    return this.signInForm(session, attempt);
  }

  /**
   * The client's information, and whether it may send people to `redirectUri` (PROTOCOL §3, §6). Checked
   * before any redirect, error redirects included (SECURITY A2). Loopback client_ids are never fetched;
   * a same-origin redirect_uri needs no document, but the consent page wants the name, so it is read
   * anyway (cached and coalesced; failures are not fatal).
   */
  private async checkClient(
    clientId: string,
    redirectUri: string,
  ): Promise<{ kind: 'ok'; info: ClientInfo } | ProblemScreen> {
    const info = await this.deps.clientInfo.get(clientId);
    const allowed = checkRedirectUri(clientId, redirectUri, info);
    return allowed.ok ? { kind: 'ok', info } : this.developerProblem(allowed.reason);
  }

  private async createAttempt(
    session: SessionHandle,
    request: AuthorizationRequest,
    info: ClientInfo,
    query: URLSearchParams,
  ): Promise<Attempt> {
    const at = this.deps.clock();
    const row: AttemptRow = {
      id: randomToken(18),
      session_hash: session.current.hash,
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
    await insertAttempt(this.deps.store.db, row);
    return toAttempt(row);
  }

  private async signInForm(
    session: SessionHandle,
    attempt: Attempt,
    problem?: string,
    value?: string,
  ): Promise<Screen> {
    const identities = await listIdentities(this.deps.store.db, session.current.hash, this.deps.clock());
    const views = identities.map((identity) => ({ me: identity.me, method: identity.method }));
    return {
      kind: 'signin',
      step: await this.issueStep(attempt, 'site'),
      client: this.clientView(attempt),
      identities: views,
      startAgain: this.startAgain(attempt),
      ...(views.length > 0 ? { continueStep: await this.issueStep(attempt, 'continue') } : {}),
      ...(problem ? { problem } : {}),
      ...(value ? { value } : {}),
    };
  }

  private async continueScreen(attempt: Attempt, me: string, method: string): Promise<Screen> {
    return {
      kind: 'continue',
      step: await this.issueStep(attempt, 'continue'),
      otherStep: await this.issueStep(attempt, 'site'),
      client: this.clientView(attempt),
      me,
      method,
    };
  }

  /** `POST /signin/site`: the person typed their site (bare domains accepted, PROTOCOL §3). */
  async submitSite(session: SessionHandle, step: string, input: string, clientIp: string): Promise<Screen> {
    const attempt = await this.takeStep(session, 'site', step, ['requested', 'discovered']);
    if (!attempt) return STALE;
    const typed = input.trim();
    const me = validateProfileUrl(normaliseSignInInput(typed));
    if (!me.ok) {
      return this.signInForm(
        session,
        attempt,
        `"${typed.slice(0, 200)}" is not a web address Latchkey can sign you in with: ${me.reason}. Type your site's address, e.g. alice.example.`,
        typed.slice(0, 200),
      );
    }
    const limited = await this.deps.limits.check([{ name: 'signin-ip', key: clientIp }]);
    if (!limited.ok) return this.tooMany(limited.retryAfterMinutes);
    if (!attempt.request.forceLogin) {
      const identities = await listIdentities(this.deps.store.db, session.current.hash, this.deps.clock());
      const known = identities.find((identity) => identity.me === me.url);
      if (known) return this.continueScreen(attempt, known.me, known.method);
    }
    return this.afterDiscovery(session, attempt, await this.discoverSafely(me.url));
  }

  private async discoverSafely(me: string): Promise<SiteDiscovery | DiscoveryError> {
    try {
      return await this.deps.discover(me);
    } catch (error) {
      if (error instanceof DiscoveryError) return error;
      return new DiscoveryError('fetch_failed', `Could not read ${me}.`, me, { cause: error });
    }
  }

  // -------------------------------------------------------------------------------------------------
  // discovered

  private async afterDiscovery(
    session: SessionHandle,
    attempt: Attempt,
    site: SiteDiscovery | DiscoveryError,
  ): Promise<Screen> {
    if (site instanceof DiscoveryError) {
      const sentence = /[.!?]$/.test(site.message) ? site.message : `${site.message}.`;
      return this.signInForm(session, attempt, `${sentence} Check the address and try again.`, site.url);
    }
    const candidates = this.candidatesFor(site);
    const profile = profileFromSite(site.links.items(), site.me);
    const at = this.deps.clock();
    const moved = await transitionAttempt(
      this.deps.store.db,
      attempt.id,
      ['requested', 'discovered'],
      {
        state: 'discovered',
        me: site.me,
        candidates: JSON.stringify({ list: candidates, profile }),
        method: null,
        method_state: null,
      },
      at,
    );
    if (!moved) return STALE;
    const discovered: Attempt = {
      ...attempt,
      state: 'discovered',
      me: site.me,
      candidates,
      siteProfile: profile,
    };
    if (candidates.length === 0) {
      this.deps.logger.info({ event: 'signin.no_methods', me: site.me }, 'no sign-in method on the site');
      return {
        kind: 'no-methods',
        me: site.me,
        links: site.links.all.filter((link) => ['me', 'authn', 'pgpkey', 'ssh-key'].includes(link.rel)),
        notes: site.notes,
        startAgain: this.startAgain(attempt),
      };
    }
    const only = candidates[0];
    if (candidates.length === 1 && only) return this.startMethod(session, discovered, only);
    return {
      kind: 'chooser',
      step: await this.issueStep(discovered, 'choose'),
      client: this.clientView(discovered),
      me: site.me,
      candidates,
    };
  }

  /** `POST /signin/choose`: one of the offered candidates, by position. */
  async choose(session: SessionHandle, step: string, index: string): Promise<Screen> {
    const attempt = await this.takeStep(session, 'choose', step, ['discovered']);
    if (!attempt) return STALE;
    const candidate = /^\d{1,3}$/.test(index) ? attempt.candidates[Number(index)] : undefined;
    if (!candidate) {
      return {
        ...STALE,
        title: 'Choose one of the offered ways',
        message: 'That choice was not on the page.',
      };
    }
    return this.startMethod(session, attempt, candidate);
  }

  private async startMethod(session: SessionHandle, attempt: Attempt, candidate: Candidate): Promise<Screen> {
    const method = this.methods.get(candidate.method);
    if (!method) return STALE;
    const moved = await transitionAttempt(
      this.deps.store.db,
      attempt.id,
      ['discovered'],
      { state: 'proving', method: method.id, method_state: null },
      this.deps.clock(),
    );
    if (!moved) return STALE;
    const proving: Attempt = { ...attempt, state: 'proving', method: method.id };
    const outcome = await method.start(this.methodContext(proving, ''), candidate);
    return this.afterStep(session, proving, outcome);
  }

  // -------------------------------------------------------------------------------------------------
  // proving

  /** A method's own step: a form post, or the callback from the person's IndieAuth server. */
  async methodStep(
    session: SessionHandle,
    kind: string,
    step: string,
    input: ReadonlyMap<string, string>,
    clientIp: string,
  ): Promise<Screen> {
    const method = this.stepKinds.get(kind);
    if (!method) return STALE;
    const attempt = await this.takeStep(session, kind, step, ['proving']);
    if (!attempt || attempt.method !== method.id) return STALE;
    const outcome = await method.step(this.methodContext(attempt, clientIp), kind, input);
    return this.afterStep(session, attempt, outcome);
  }

  private methodContext(attempt: Attempt, clientIp: string): MethodContext {
    return {
      attempt,
      clientIp,
      issueStep: (kind) => this.issueStep(attempt, kind),
      saveState: async (state) => {
        attempt.methodState = state;
        await transitionAttempt(
          this.deps.store.db,
          attempt.id,
          ['proving'],
          { method_state: JSON.stringify(state) },
          this.deps.clock(),
        );
      },
    };
  }

  private async afterStep(session: SessionHandle, attempt: Attempt, outcome: StepOutcome): Promise<Screen> {
    switch (outcome.kind) {
      case 'redirect':
        return { kind: 'redirect', url: outcome.url };
      case 'page':
        return { kind: 'method', client: this.clientView(attempt), me: attempt.me ?? '', page: outcome };
      case 'failed':
        this.deps.logger.info(
          { event: 'signin.failed', method: attempt.method, me: attempt.me, reason: outcome.title },
          'sign-in step failed',
        );
        return {
          kind: 'problem',
          title: outcome.title,
          message: outcome.message,
          next: outcome.next ?? 'Go back to the website you were signing in to and start again.',
          startAgain: this.startAgain(attempt),
          status: 400,
        };
      case 'proven':
        return this.proven(session, attempt, outcome.proof);
    }
  }

  // -------------------------------------------------------------------------------------------------
  // proven

  private async proven(
    session: SessionHandle,
    attempt: Attempt,
    found: Omit<Proof, 'profile'>,
  ): Promise<Screen> {
    const { store, clock, logger } = this.deps;
    // The h-card is the discovered site's; a delegated sign-in that proved another `me` gets its URL only.
    const profile: Profile =
      attempt.siteProfile?.url === found.me ? { ...attempt.siteProfile } : { url: found.me };
    if (found.email) profile.email = found.email;
    const proof: Proof = { ...found, profile };
    const at = clock();
    if (
      !(await transitionAttempt(
        store.db,
        attempt.id,
        ['proving'],
        { state: 'proven', me: proof.me, proof: JSON.stringify(proof) },
        at,
      ))
    ) {
      return STALE;
    }
    // PROTOCOL §9: the session id rotates at sign-in (no session fixation); the attempt follows it.
    await this.rotateSession(session);
    await upsertIdentity(store.db, {
      session_hash: session.current.hash,
      me: proof.me,
      method: proof.method,
      profile: JSON.stringify(profile),
      authenticated_at: at,
      expires_at: at + SESSION_TTL,
    });
    logger.info(
      { event: 'signin.proven', method: proof.method, me: proof.me, client_id: attempt.request.clientId },
      'identity proven',
    );
    return this.afterProof({
      ...attempt,
      state: 'proven',
      me: proof.me,
      proof,
      sessionHash: session.current.hash,
    });
  }

  private async rotateSession(session: SessionHandle): Promise<void> {
    const fresh = newSession();
    await this.deps.store.write(async (tx) => {
      await moveIdentities(tx, session.current.hash, fresh.hash);
      await rebindAttempts(tx, session.current.hash, fresh.hash);
    });
    session.current = fresh;
    session.changed = true;
  }

  /** `POST /signin/continue`: "Continue as …" with an identity this browser already proved. */
  async continueAs(session: SessionHandle, step: string, me: string): Promise<Screen> {
    const attempt = await this.takeStep(session, 'continue', step, ['requested', 'discovered']);
    if (!attempt || attempt.request.forceLogin) return STALE;
    const identities = await listIdentities(this.deps.store.db, session.current.hash, this.deps.clock());
    const identity = identities.find((candidate) => candidate.me === me);
    if (!identity) return STALE;
    const profile = parseJson<Profile>(identity.profile) ?? { url: identity.me };
    const proof: Proof = {
      me: identity.me,
      method: identity.method,
      evidence: `This browser signed in as ${identity.me} earlier (${identity.method}).`,
      profile,
      ...(profile.email ? { email: profile.email } : {}),
    };
    const moved = await transitionAttempt(
      this.deps.store.db,
      attempt.id,
      ['requested', 'discovered'],
      { state: 'proven', me: identity.me, method: identity.method, proof: JSON.stringify(proof) },
      this.deps.clock(),
    );
    if (!moved) return STALE;
    return this.afterProof({ ...attempt, state: 'proven', me: identity.me, proof });
  }

  private async afterProof(attempt: Attempt): Promise<Screen> {
    const proof = attempt.proof as Proof;
    if (attempt.request.scope.length === 0) return this.finish(attempt, []);
    return {
      kind: 'consent',
      step: await this.issueStep(attempt, 'consent'),
      client: this.clientView(attempt),
      me: proof.me,
      proof,
      scope: attempt.request.scope,
      noPkce: attempt.request.codeChallenge === null,
    };
  }

  /**
   * `POST /signin/consent` (PROTOCOL §7): approve with the ticked scopes (a subset of those asked
   * for), or deny. Only the step token, the decision and scope boxes are read; anything else in the
   * form means it was tampered with (SECURITY E4).
   */
  async consent(session: SessionHandle, step: string, form: ReadonlyMap<string, string>): Promise<Screen> {
    const attempt = await this.takeStep(session, 'consent', step, ['proven']);
    if (!attempt) return STALE;
    const requested = new Set(attempt.request.scope);
    const granted: string[] = [];
    for (const [key] of form) {
      if (key === 'step' || key === 'decision') continue;
      const scope = key.startsWith('scope.') ? key.slice('scope.'.length) : undefined;
      if (scope === undefined || !requested.has(scope)) {
        return {
          kind: 'problem',
          title: 'The consent form was changed',
          message: `The form carried "${key.slice(0, 60)}", which this page did not offer, so nothing was approved.`,
          next: 'Go back to the website you were signing in to and start again.',
          startAgain: this.startAgain(attempt),
          status: 400,
        };
      }
      granted.push(scope);
    }
    if (form.get('decision') !== 'approve') {
      const moved = await transitionAttempt(
        this.deps.store.db,
        attempt.id,
        ['proven'],
        { state: 'denied' },
        this.deps.clock(),
      );
      if (!moved) return STALE;
      this.deps.logger.info(
        { event: 'signin.denied', me: attempt.me, client_id: attempt.request.clientId },
        'consent denied',
      );
      return {
        kind: 'redirect',
        url: authorizationResponseUrl(attempt.request.redirectUri, this.deps.config.publicUrl, {
          error: 'access_denied',
          description: 'The person declined to give this app access.',
          state: attempt.request.state,
        }),
      };
    }
    // Keep the order the client asked for.
    return this.finish(
      attempt,
      attempt.request.scope.filter((scope) => granted.includes(scope)),
    );
  }

  // -------------------------------------------------------------------------------------------------
  // done

  private async finish(attempt: Attempt, scope: string[]): Promise<Screen> {
    const { store, clock, codes, logger, config } = this.deps;
    const proof = attempt.proof as Proof;
    if (!(await transitionAttempt(store.db, attempt.id, ['proven'], { state: 'done' }, clock())))
      return STALE;
    const code = await codes.issue({
      clientId: attempt.request.clientId,
      redirectUri: attempt.request.redirectUri,
      codeChallenge: attempt.request.codeChallenge,
      me: proof.me,
      scope,
      profile: proof.profile,
      authMethod: proof.method,
    });
    logger.info(
      {
        event: 'signin.code_issued',
        me: proof.me,
        client_id: attempt.request.clientId,
        scope: scope.join(' '),
      },
      'authorization code issued',
    );
    return {
      kind: 'redirect',
      url: authorizationResponseUrl(attempt.request.redirectUri, config.publicUrl, {
        code,
        state: attempt.request.state,
      }),
    };
  }

  /** `POST /signout`: forget every identity this browser proved. */
  async signOut(session: SessionHandle): Promise<void> {
    await forgetIdentities(this.deps.store.db, session.current.hash);
    session.current = newSession();
    session.changed = true;
  }

  async identities(session: Session): Promise<IdentityView[]> {
    const rows = await listIdentities(this.deps.store.db, session.hash, this.deps.clock());
    return rows.map((row) => ({ me: row.me, method: row.method }));
  }

  // -------------------------------------------------------------------------------------------------
  // steps and helpers

  private async issueStep(attempt: Attempt, kind: string): Promise<string> {
    const token = randomToken();
    const at = this.deps.clock();
    await insertStep(this.deps.store.db, {
      token_hash: sha256(token),
      kind,
      attempt_id: attempt.id,
      session_hash: attempt.sessionHash,
      created_at: at,
      expires_at: attempt.expiresAt,
      used_at: null,
    });
    return token;
  }

  /** Uses a step token of `kind` from this session, and loads its attempt if it is in one of `states`. */
  private async takeStep(
    session: SessionHandle,
    kind: string,
    token: string,
    states: readonly AttemptState[],
  ): Promise<Attempt | undefined> {
    if (!token) return undefined;
    const at = this.deps.clock();
    const attemptId = await consumeStep(
      this.deps.store.db,
      { tokenHash: sha256(token), kind, sessionHash: session.current.hash },
      at,
    );
    if (!attemptId) return undefined;
    const row = await findAttempt(this.deps.store.db, attemptId);
    if (!row || row.expires_at <= at || row.session_hash !== session.current.hash) return undefined;
    const attempt = toAttempt(row);
    return states.includes(attempt.state) ? attempt : undefined;
  }

  private clientView(attempt: Attempt): ClientView {
    return {
      ...attempt.client,
      clientId: attempt.request.clientId,
      redirectUri: attempt.request.redirectUri,
    };
  }

  private startAgain(attempt: Attempt): string {
    return `/authorize?${attempt.request.query}`;
  }

  private developerProblem(reason: string): ProblemScreen {
    return {
      kind: 'problem',
      title: 'This sign-in link is broken',
      message: reason,
      next:
        'The website that sent you here made a mistake in its sign-in request. If you run that website, ' +
        'see the developer documentation; otherwise, let its owner know.',
      status: 400,
      developer: true,
    };
  }

  private tooMany(minutes: number): Screen {
    return {
      kind: 'problem',
      title: 'Too many sign-ins',
      message: 'Too many sign-ins were started from your network in the last few minutes.',
      next: `Wait about ${minutes} minutes, then try again.`,
      status: 429,
    };
  }
}
