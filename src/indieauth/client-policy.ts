/**
 * The operator's client policy as a decision (PROTOCOL §6, `latchkey clients allow|deny`; SECURITY
 * A10): the rule is `decideClient` (client-rules.ts), the store only keeps the rows
 * (`src/store/clients.ts`).
 *
 * Where it is enforced, and why this way:
 * - sign-in start (`isClientPermitted`), code redemption at `/token` and `/authorize`, refresh, and
 *   every access-token verification (`GET /token`, `/introspect`, `/userinfo`, fast path or not) ask
 *   `ClientPolicy`, so a denied client's codes, access and refresh tokens stop working everywhere,
 *   and so do those of clients left out once allow-list mode is on;
 * - verification is the hot path, so `ClientPolicy` keeps the (tiny) rule list in memory, stamped
 *   with `settings.client_policy_version`. Every policy write changes that stamp in its transaction;
 *   the token lookup reads it in the same statement as the token, so a change made by the CLI or by
 *   another instance is seen on the very next request, with no extra round trip (SECURITY D4);
 * - `deny` also revokes the live grants it covers, in the same transaction. Those stay revoked if the
 *   rule is later removed: a deny is the operator cutting an app off, not pausing it. Allow-list mode
 *   only refuses, so removing the last `allow` lets unlisted clients' tokens work again.
 */
import { after, type MaybePromise } from '../maybe-promise.js';
import {
  listClientPolicies,
  policyKey,
  readPolicyVersion,
  removeClientPolicy,
  setClientPolicy,
} from '../store/clients.js';
import type { Store } from '../store/db.js';
import type { GrantService } from '../tokens/grants.js';
import {
  type ClientDecision,
  type ClientRule,
  type DecidedRule,
  decideClient,
  locateClient,
  ownClientsRule,
  parseClientRule,
  ruleMatches,
  type Verdict,
} from './client-rules.js';

/** Reasons are plain words for the client's developer (an error page or an OAuth error). */
export type Permission = { ok: true } | { ok: false; reason: string };

/**
 * Whether the operator lets this client start a sign-in, read fresh from the store. `issuer` is
 * Latchkey's own URL: its own clients (the demo, the account page) are always allowed; the sign-in
 * service always passes it (without it, no client is exempt).
 */
export async function isClientPermitted(
  store: Store,
  clientId: string,
  issuer?: string,
): Promise<Permission> {
  const rules = toRules(await listClientPolicies(store.db));
  return explain(decideClient(rules, ownClientsRule(issuer ?? ''), clientId), clientId);
}

function explain(verdict: Verdict, clientId: string): Permission {
  if (verdict.ok) return verdict;
  if (verdict.why === 'denied') {
    return {
      ok: false,
      reason: `The operator of this server has blocked the client ${clientId}; it cannot be used to sign in here.`,
    };
  }
  return {
    ok: false,
    reason: `This server only accepts clients its operator has allowed, and ${clientId} is not one of them. Ask the operator to run \`latchkey clients allow ${policyKey(clientId)}\`.`,
  };
}

function toRules(rows: readonly { clientId: string; decision: ClientDecision }[]): DecidedRule[] {
  return rows.flatMap((row) => {
    const parsed = parseClientRule(row.clientId);
    return parsed.ok ? [{ ...parsed.rule, decision: row.decision }] : [];
  });
}

interface Snapshot {
  version: string | null;
  rules: DecidedRule[];
  /** Verdicts per client_id under these rules; dropped with the snapshot. */
  verdicts: Map<string, Verdict>;
}

const ALLOWED: Verdict = Object.freeze({ ok: true });
const isPermitted = (verdict: Verdict): boolean => verdict.ok;

/** Verdicts remembered per snapshot before the memo starts over (client_ids are few in practice). */
const MAX_VERDICTS = 10_000;

export interface ClientPolicyOptions {
  store: Store;
  /** Latchkey's own URL (`LATCHKEY_URL`). */
  issuer: string;
  grants: GrantService;
}

export interface RuleChange {
  /** The rule as stored (`https://a.example/app/`). */
  rule: string;
  previous: ClientDecision | undefined;
  /** Grants ended by a `deny` (0 for `allow`). */
  revokedGrants: number;
}

export class ClientPolicy {
  private readonly own: ClientRule;
  private snapshot: Snapshot | undefined;
  private loading: { version: string | null; promise: Promise<Snapshot> } | undefined;

  constructor(private readonly options: ClientPolicyOptions) {
    this.own = ownClientsRule(options.issuer);
  }

  /**
   * Whether codes, access tokens and refresh tokens of this client may be used now. `version` is the
   * policy stamp when the caller already read it (token verification reads it with the token);
   * without it the stamp is read here, one primary-key lookup. Do not call inside a write
   * transaction: it may read the store.
   */
  async check(clientId: string, version?: string | null): Promise<Permission> {
    return explain(await this.verdict(clientId, version), clientId);
  }

  /**
   * `check` without building a reason: the verification hot path. Synchronous when the caller
   * passes the stamp and the rules for it are loaded (nearly always).
   */
  permits(clientId: string, version?: string | null): MaybePromise<boolean> {
    return after(this.verdict(clientId, version), isPermitted);
  }

  /**
   * Records an allow or deny rule (`latchkey clients allow|deny`). A deny revokes, in the same
   * transaction, every unrevoked grant of the clients it covers (Latchkey's own excepted).
   */
  async set(raw: string, decision: ClientDecision): Promise<RuleChange> {
    const parsed = parseClientRule(raw);
    if (!parsed.ok) throw new Error(`${raw} is not a valid client_id: ${parsed.reason}.`);
    const { rule } = parsed;
    return this.options.store.write(async (tx) => {
      const previous = await setClientPolicy(tx, rule.key, decision);
      if (decision === 'allow') return { rule: rule.key, previous, revokedGrants: 0 };
      const ended = await this.options.grants.revokeIn(tx, {
        clientsMatching: (clientId) => {
          const client = locateClient(clientId);
          return !!client && ruleMatches(rule, client) && !ruleMatches(this.own, client);
        },
      });
      return { rule: rule.key, previous, revokedGrants: ended.length };
    });
  }

  /** Forgets a rule (`latchkey clients remove`); false when there was none. */
  remove(raw: string): Promise<boolean> {
    return this.options.store.write((tx) => removeClientPolicy(tx, raw));
  }

  private verdict(clientId: string, version: string | null | undefined): MaybePromise<Verdict> {
    if (version === undefined) {
      return readPolicyVersion(this.options.store.db).then((stamp) => this.verdict(clientId, stamp));
    }
    const snapshot = this.snapshot?.version === version ? this.snapshot : this.load(version);
    return after(snapshot, (loaded) => this.decide(loaded, clientId));
  }

  private decide(snapshot: Snapshot, clientId: string): Verdict {
    if (snapshot.rules.length === 0) return ALLOWED;
    let verdict = snapshot.verdicts.get(clientId);
    if (!verdict) {
      verdict = decideClient(snapshot.rules, this.own, clientId);
      if (snapshot.verdicts.size >= MAX_VERDICTS) snapshot.verdicts.clear();
      snapshot.verdicts.set(clientId, verdict);
    }
    return verdict;
  }

  /**
   * Reads the rules for a stamp, once however many requests ask at the same time. The rows are read
   * after the stamp was, so they are at least as new as it: a snapshot is never older than its label.
   */
  private load(version: string | null): Promise<Snapshot> {
    if (this.loading?.version === version) return this.loading.promise;
    const promise = listClientPolicies(this.options.store.db).then(
      (rows) => {
        const snapshot: Snapshot = { version, rules: toRules(rows), verdicts: new Map() };
        this.snapshot = snapshot;
        if (this.loading?.promise === promise) this.loading = undefined;
        return snapshot;
      },
      (error: unknown) => {
        if (this.loading?.promise === promise) this.loading = undefined;
        throw error;
      },
    );
    this.loading = { version, promise };
    return promise;
  }
}
