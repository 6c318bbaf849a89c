/**
 * The sign-in flow (PROTOCOL §7, §9; DESIGN "The sign-in core"): a declared walk through the states
 *
 *   requested → discovered → proving → proven → done | denied
 *
 * where every browser step carries a typed, single-use step token bound to the browser session
 * (attempts.ts), so a token from another method, another session or an earlier page cannot finish
 * someone's sign-in (SECURITY E4, E5, F9). This module decides; routes only parse and render its
 * Screens (screens.ts); the words of every problem are in problems.ts.
 */
import type { Config } from '../config.js';
import type { Events } from '../events.js';
import { authorizationResponseUrl, checkAuthorizationRequest } from '../indieauth/authorization-request.js';
import { type ClientInfo, type ClientInfoService, checkRedirectUri } from '../indieauth/client-info.js';
import { isClientPermitted } from '../indieauth/client-policy.js';
import { DiscoveryError, type SiteDiscovery } from '../indieauth/discovery.js';
import {
  internationalHost,
  normaliseSignInInput,
  plainHttpOf,
  typedWithoutScheme,
  validateProfileUrl,
} from '../indieauth/urls.js';
import type { Logger } from '../log.js';
import { FetchError } from '../net/types.js';
import { insertSigninLog } from '../store/account.js';
import type { Store } from '../store/db.js';
import {
  forgetIdentities,
  listIdentities,
  moveIdentities,
  rebindAttempts,
  upsertIdentity,
} from '../store/signin.js';
import type { CodeService, Profile } from '../tokens/codes.js';
import { randomId } from '../tokens/secrets.js';
import { Attempts, parseJson } from './attempts.js';
import { findCandidates } from './candidates.js';
import { readConsent, transportOf } from './consent.js';
import {
  badCertificate,
  clientNotAllowed,
  consentTampered,
  developerProblem,
  noSecureConnection,
  notOffered,
  STALE,
  stepFailed,
  tooManySignIns,
} from './problems.js';
import { profileFromSite } from './profile.js';
import type { RateLimiter } from './rate-limit.js';
import type { ClientView, IdentityView, ProblemScreen, Screen, SessionHandle } from './screens.js';
import { newSession, SESSION_TTL, type Session } from './session.js';
import type {
  AnyMethod,
  Attempt,
  Candidate,
  Method,
  MethodContext,
  MethodSetup,
  Proof,
  StepOutcome,
} from './types.js';

export type { ClientView, IdentityView, ProblemScreen, Screen, SessionHandle } from './screens.js';

export interface SignInDeps {
  config: Config;
  store: Store;
  logger: Logger;
  clientInfo: ClientInfoService;
  codes: CodeService;
  methods: readonly AnyMethod[];
  limits: RateLimiter;
  clock: () => number;
  discover(me: string): Promise<SiteDiscovery>;
  /** Operator switch for clients without PKCE (SECURITY B6). */
  allowNoPkce: boolean;
  events?: Events;
}

/**
 * The identity this browser already proved for an address. A bare domain (`alice.example`, tried as
 * https) also finds the same site proved over plain http: the person named no scheme, and without
 * this a returning visitor would be sent to discover an https site that may not exist, ending on an
 * error instead of "Continue as". Exact matches win.
 */
function knownIdentity<T extends { me: string }>(
  identities: readonly T[],
  me: string,
  bare: boolean,
): T | undefined {
  const exact = identities.find((identity) => identity.me === me);
  if (exact || !bare) return exact;
  const http = plainHttpOf(me);
  return http ? identities.find((identity) => identity.me === http) : undefined;
}

export class SignInService {
  private readonly methods: Map<string, AnyMethod>;
  private readonly stepKinds: Map<string, AnyMethod>;
  private readonly attempts: Attempts;

  constructor(private readonly deps: SignInDeps) {
    this.methods = new Map(deps.methods.map((method) => [method.id, method]));
    this.stepKinds = new Map(deps.methods.flatMap((method) => method.steps.map((kind) => [kind, method])));
    this.attempts = new Attempts(deps.store, deps.clock);
  }

  /** What sign-in would offer for a discovered site, in order (PROTOCOL §9); `latchkey doctor` shows it. */
  candidatesFor(site: SiteDiscovery): Promise<Candidate[]> {
    return findCandidates(site, this.deps.methods, this.deps.config.publicUrl);
  }

  /**
   * What sign-in would offer, each with the outcome of its method's check before the person
   * leaves (the public back-link of a provider profile, PROTOCOL §9.1) — `latchkey doctor`.
   */
  async diagnose(site: SiteDiscovery): Promise<Array<Candidate & { check?: { ok: boolean; text: string } }>> {
    const candidates = await this.candidatesFor(site);
    return Promise.all(
      candidates.map(async (candidate) => {
        const method = this.methods.get(candidate.method);
        if (!method?.precheck) return candidate;
        const result = await method.precheck(candidate, site.me);
        const text = result.ok ? result.evidence : result.outcome.message;
        return { ...candidate, check: { ok: result.ok, text } };
      }),
    );
  }

  /** Step kinds a method accepts from the browser (routes refuse any other). */
  isMethodStep(kind: string): boolean {
    return this.stepKinds.has(kind);
  }

  /** Every method's multi-line form fields: the only fields where a browser form may carry line breaks. */
  multilineFields(): ReadonlySet<string> {
    return new Set(this.deps.methods.flatMap((method) => method.multilineFields ?? []));
  }

  /** The methods this server offers, in registry order (`latchkey status`, `/setup`). */
  async offeredMethods(): Promise<Array<{ id: string; name: string; setup?: MethodSetup }>> {
    const available = await Promise.all(this.deps.methods.map((method) => method.available?.() ?? true));
    return this.deps.methods
      .filter((_, i) => available[i])
      .map((method) => ({
        id: method.id,
        name: method.name,
        ...(method.setup ? { setup: method.setup } : {}),
      }));
  }

  /** A method's name for people; the id when the method is gone (an identity from before an upgrade). */
  methodName(id: string): string {
    return this.methods.get(id)?.name ?? id;
  }

  // ------------------------------------------------------------------------------------- requested

  /** `GET /authorize` (PROTOCOL §7). */
  async authorize(session: SessionHandle, query: URLSearchParams, clientIp: string): Promise<Screen> {
    const { config } = this.deps;
    const check = checkAuthorizationRequest(query, { allowNoPkce: this.deps.allowNoPkce });
    if (check.kind === 'error_page') return developerProblem(check.reason);
    // R5: from here on the client_id may be fetched, error redirects included, so every request counts.
    const limited = await this.deps.limits.check([{ name: 'signin-ip', key: clientIp }]);
    if (!limited.ok) return tooManySignIns(limited.retryAfterMinutes);
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
    const known = request.me
      ? knownIdentity(identities, request.me, typedWithoutScheme(query.get('me') ?? ''))
      : undefined;
    const discovery =
      request.me && !(known && !request.forceLogin) ? this.discoverSafely(request.me) : undefined;
    const client = await this.checkClient(request.clientId, request.redirectUri);
    if (client.kind === 'problem') return client;
    const permitted = await isClientPermitted(this.deps.store, request.clientId, config.publicUrl);
    if (!permitted.ok) return clientNotAllowed(permitted.reason);

    const attempt = await this.attempts.create(session.current.hash, request, client.info, query);
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
    return allowed.ok ? { kind: 'ok', info } : developerProblem(allowed.reason);
  }

  private async signInForm(
    session: SessionHandle,
    attempt: Attempt,
    problem?: string,
    value?: string,
    plainHttp?: string,
  ): Promise<Screen> {
    const identities = await listIdentities(this.deps.store.db, session.current.hash, this.deps.clock());
    const views = identities.map((identity) => ({ me: identity.me, method: identity.method }));
    return {
      kind: 'signin',
      step: await this.attempts.issueStep(attempt, 'site'),
      client: this.clientView(attempt),
      identities: views,
      startAgain: this.startAgain(attempt),
      ...(views.length > 0 ? { continueStep: await this.attempts.issueStep(attempt, 'continue') } : {}),
      ...(problem ? { problem } : {}),
      ...(value ? { value } : {}),
      ...(plainHttp ? { plainHttp } : {}),
    };
  }

  private async continueScreen(attempt: Attempt, me: string, method: string): Promise<Screen> {
    return {
      kind: 'continue',
      step: await this.attempts.issueStep(attempt, 'continue'),
      otherStep: await this.attempts.issueStep(attempt, 'site'),
      client: this.clientView(attempt),
      me,
      methodName: this.methodName(method),
    };
  }

  /** `POST /signin/site`: the person typed their site (bare domains accepted, PROTOCOL §3). */
  async submitSite(session: SessionHandle, step: string, input: string, clientIp: string): Promise<Screen> {
    const attempt = await this.attempts.takeStep(session.current.hash, 'site', step, [
      'requested',
      'discovered',
    ]);
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
    if (!limited.ok) return tooManySignIns(limited.retryAfterMinutes);
    if (!attempt.request.forceLogin) {
      const identities = await listIdentities(this.deps.store.db, session.current.hash, this.deps.clock());
      const known = knownIdentity(identities, me.url, typedWithoutScheme(typed));
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

  // ------------------------------------------------------------------------------------ discovered

  private async afterDiscovery(
    session: SessionHandle,
    attempt: Attempt,
    site: SiteDiscovery | DiscoveryError,
  ): Promise<Screen> {
    if (site instanceof DiscoveryError) {
      // TLS trouble on the address itself (not a later redirect hop) gets its own words (PROTOCOL §3).
      const tls = site.cause instanceof FetchError && site.cause.url === site.url ? site.cause : undefined;
      const host = internationalHost(site.url)?.unicode ?? new URL(site.url).hostname;
      if (tls?.code === 'no_tls') {
        return this.signInForm(session, attempt, noSecureConnection(host), site.url, plainHttpOf(site.url));
      }
      if (tls?.code === 'bad_certificate') {
        return this.signInForm(session, attempt, badCertificate(host, tls.message), site.url);
      }
      const sentence = /[.!?]$/.test(site.message) ? site.message : `${site.message}.`;
      return this.signInForm(session, attempt, `${sentence} Check the address and try again.`, site.url);
    }
    const candidates = await this.candidatesFor(site);
    const profile = profileFromSite(site.links.items(), site.me);
    const moved = await this.attempts.move(attempt, 'discover', {
      me: site.me,
      candidates: JSON.stringify({ list: candidates, profile }),
      method: null,
      method_state: null,
    });
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
      step: await this.attempts.issueStep(discovered, 'choose'),
      client: this.clientView(discovered),
      me: site.me,
      options: candidates.map((candidate, index) => ({
        candidate,
        index,
        methodName: this.methodName(candidate.method),
        icon: this.methods.get(candidate.method)?.icon,
      })),
    };
  }

  /** `POST /signin/choose`: one of the offered candidates, by position. */
  async choose(session: SessionHandle, step: string, index: string): Promise<Screen> {
    const attempt = await this.attempts.takeStep(session.current.hash, 'choose', step, ['discovered']);
    if (!attempt) return STALE;
    const candidate = /^\d{1,3}$/.test(index) ? attempt.candidates[Number(index)] : undefined;
    if (!candidate) return notOffered();
    return this.startMethod(session, attempt, candidate);
  }

  private async startMethod(session: SessionHandle, attempt: Attempt, candidate: Candidate): Promise<Screen> {
    const method = this.methods.get(candidate.method);
    if (!method) return STALE;
    if (!(await this.attempts.move(attempt, 'start', { method: method.id, method_state: null })))
      return STALE;
    this.deps.events?.emit('signin.started', { method: method.id });
    const proving: Attempt = { ...attempt, state: 'proving', method: method.id, methodState: undefined };
    const outcome = await method.start(this.methodContext(method, proving, ''), candidate);
    return this.afterStep(session, proving, outcome);
  }

  // --------------------------------------------------------------------------------------- proving

  /** A method's own step: a form post, or the callback from an upstream server. */
  async methodStep(
    session: SessionHandle,
    kind: string,
    step: string,
    input: ReadonlyMap<string, string>,
    clientIp: string,
    callbackServer?: string,
  ): Promise<Screen> {
    const method = this.stepKinds.get(kind);
    if (!method) return STALE;
    const attempt = await this.attempts.takeStep(session.current.hash, kind, step, ['proving']);
    if (!attempt || attempt.method !== method.id) return STALE;
    const ctx = this.methodContext(method, attempt, clientIp, callbackServer);
    const outcome = await method.step(ctx, kind, input);
    return this.afterStep(session, attempt, outcome);
  }

  private methodContext<S>(
    method: Method<S>,
    attempt: Attempt,
    clientIp: string,
    callbackServer?: string,
  ): MethodContext<S> {
    const read = method.state.safeParse(attempt.methodState);
    const ctx: MethodContext<S> = {
      attempt,
      clientIp,
      callbackServer,
      state: read.success ? read.data : undefined,
      issueStep: (kind) => this.attempts.issueStep(attempt, kind),
      saveState: async (state) => {
        attempt.methodState = state;
        ctx.state = state;
        await this.attempts.move(attempt, 'saveState', { method_state: JSON.stringify(state) });
      },
    };
    return ctx;
  }

  private async afterStep(session: SessionHandle, attempt: Attempt, outcome: StepOutcome): Promise<Screen> {
    switch (outcome.kind) {
      case 'redirect':
        return { kind: 'redirect', url: outcome.url };
      case 'page': {
        const view = this.methods.get(attempt.method ?? '')?.views?.[outcome.view];
        if (!view) throw new Error(`method ${attempt.method} has no view ${outcome.view}`);
        return {
          kind: 'method',
          client: this.clientView(attempt),
          me: attempt.me ?? '',
          page: outcome,
          view,
        };
      }
      case 'failed':
        this.deps.logger.info(
          { event: 'signin.failed', method: attempt.method, me: attempt.me, reason: outcome.title },
          'sign-in step failed',
        );
        this.deps.events?.emit('signin.failed', { method: attempt.method ?? 'unknown', reason: 'refused' });
        return stepFailed(outcome, this.startAgain(attempt));
      case 'proven':
        return this.proven(session, attempt, outcome.proof);
    }
  }

  // ---------------------------------------------------------------------------------------- proven

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
    if (!(await this.attempts.move(attempt, 'prove', { me: proof.me, proof: JSON.stringify(proof) })))
      return STALE;
    this.deps.events?.emit('signin.finished', { method: attempt.method ?? proof.method });
    // PROTOCOL §9: the session id rotates at sign-in (no session fixation); the attempt follows it.
    await this.rotateSession(session);
    const at = clock();
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
    const attempt = await this.attempts.takeStep(session.current.hash, 'continue', step, [
      'requested',
      'discovered',
    ]);
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
      reused: true,
    };
    const moved = await this.attempts.move(attempt, 'continueAs', {
      me: identity.me,
      method: identity.method,
      proof: JSON.stringify(proof),
    });
    if (!moved) return STALE;
    return this.afterProof({ ...attempt, state: 'proven', me: identity.me, proof });
  }

  private async afterProof(attempt: Attempt): Promise<Screen> {
    const proof = attempt.proof as Proof;
    if (attempt.request.scope.length === 0) return this.finish(attempt, []);
    return {
      kind: 'consent',
      methodName: this.methodName(proof.method),
      step: await this.attempts.issueStep(attempt, 'consent'),
      client: this.clientView(attempt),
      me: proof.me,
      proof,
      scope: attempt.request.scope,
      noPkce: attempt.request.codeChallenge === null,
      transport: {
        clientId: transportOf(attempt.request.clientId),
        redirectUri: transportOf(attempt.request.redirectUri),
      },
    };
  }

  /** `POST /signin/consent` (PROTOCOL §7): approve with the ticked scopes, or deny (consent.ts reads it). */
  async consent(session: SessionHandle, step: string, form: ReadonlyMap<string, string>): Promise<Screen> {
    const attempt = await this.attempts.takeStep(session.current.hash, 'consent', step, ['proven']);
    if (!attempt) return STALE;
    const decision = readConsent(attempt.request.scope, form);
    if (decision.kind === 'tampered') return consentTampered(decision.field, this.startAgain(attempt));
    if (decision.kind === 'approve') return this.finish(attempt, decision.scope);
    if (!(await this.attempts.move(attempt, 'deny'))) return STALE;
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

  // ------------------------------------------------------------------------------------------ done

  private async finish(attempt: Attempt, scope: string[]): Promise<Screen> {
    const { codes, logger, config } = this.deps;
    const proof = attempt.proof as Proof;
    if (!(await this.attempts.move(attempt, 'approve'))) return STALE;
    const code = await codes.issue({
      clientId: attempt.request.clientId,
      redirectUri: attempt.request.redirectUri,
      codeChallenge: attempt.request.codeChallenge,
      me: proof.me,
      scope,
      profile: proof.profile,
      authMethod: proof.method,
      clientName: attempt.client.name,
      clientLogo: attempt.client.logoUri,
      proofFresh: proof.reused !== true,
    });
    // PROTOCOL §13: the account page lists each sign-in with its evidence (kept 90 days, R6).
    await insertSigninLog(this.deps.store.db, {
      id: randomId(),
      me: proof.me,
      client_id: attempt.request.clientId,
      client_name: attempt.client.name ?? null,
      method: proof.method,
      evidence: proof.evidence,
      created_at: this.deps.clock(),
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
}
