/**
 * Passkeys for site owners (PROTOCOL §13, SECURITY E9), without HTTP. RP ID = the issuer's host,
 * origin = the issuer's origin, user verification required. Registering needs a fresh proof by
 * another method (an account session that did not come from "Continue as" or a passkey, made within
 * 10 minutes); the passkey remembers what proved the site then (`registered_via`). Signing in with
 * it works only for that `me`, and only while the site still names this server as its authorization
 * server or still shows that link. Challenges are stored hashed, single-use, bound to the account
 * session (register) or the sign-in attempt (authenticate), and live 5 minutes.
 */
import { createHash } from 'node:crypto';
import type * as WebAuthn from '@simplewebauthn/server';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { SiteDiscovery } from '../indieauth/discovery.js';
import { displayUrl, urlEquivalent } from '../indieauth/urls.js';
import type { Logger } from '../log.js';
import { namesThisServer, usableLinks } from '../signin/candidates.js';
import type { Candidate } from '../signin/types.js';
import type { Store } from '../store/db.js';
import {
  deletePasskey,
  findPasskey,
  insertChallenge,
  insertPasskey,
  listPasskeys,
  markPasskeyUsed,
  type PasskeyRow,
  renamePasskey,
  takeChallenge,
} from '../store/passkeys.js';
import { sha256 } from '../tokens/secrets.js';
import type { AccountSession } from './service.js';

/** A proof older than this cannot add a passkey (PROTOCOL §13). */
export const PASSKEY_FRESH_SECONDS = 10 * 60;
/**
 * @simplewebauthn/server and its ASN.1 stack cost ~250 ms and ~25 MB to import: loaded by the first
 * passkey operation, not at start (DESIGN "Performance targets").
 */
const webauthn = () => import('@simplewebauthn/server');

/** A WebAuthn challenge lives 5 minutes. */
export const CHALLENGE_TTL = 5 * 60;
const NAME_MAX = 60;

export const SIGN_IN_AGAIN = 'Sign in again with email, a provider or a key to add a passkey.';

/** What proved the site when a passkey was registered; `link` null: the site named this server. */
export interface RegisteredVia {
  method: string;
  link: string | null;
}

export interface PasskeyView {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  registeredVia: RegisteredVia;
}

export type Gate = { ok: true } | { ok: false; reason: string };
export type Outcome<T> = ({ ok: true } & T) | { ok: false; reason: string };

export interface PasskeyServiceOptions {
  store: Store;
  logger: Logger;
  clock: () => number;
  issuer: string;
  discover(me: string): Promise<SiteDiscovery>;
  /** Sign-in's candidates for a site: the link that proved it is the one of the session's method. */
  candidatesFor(site: SiteDiscovery): Promise<Candidate[]>;
}

export class PasskeyService {
  readonly rpId: string;
  readonly origin: string;

  constructor(private readonly options: PasskeyServiceOptions) {
    const url = new URL(options.issuer);
    this.rpId = url.hostname;
    this.origin = url.origin;
  }

  /** May this account session add a passkey now? (E9: fresh, by another method, within 10 minutes.) */
  canRegister(session: AccountSession): Gate {
    if (!session.fresh)
      return {
        ok: false,
        reason: `You came in with "Continue as", which proves nothing new. ${SIGN_IN_AGAIN}`,
      };
    if (session.method === 'passkey')
      return { ok: false, reason: `You signed in with a passkey. ${SIGN_IN_AGAIN}` };
    if (this.options.clock() - session.provenAt > PASSKEY_FRESH_SECONDS)
      return { ok: false, reason: `You proved your site more than 10 minutes ago. ${SIGN_IN_AGAIN}` };
    return { ok: true };
  }

  async list(me: string): Promise<PasskeyView[]> {
    return (await listPasskeys(this.options.store.db, me)).map(toView);
  }

  /** Options for the browser's `navigator.credentials.create`, with a fresh challenge bound to the session. */
  async registrationOptions(
    session: AccountSession,
  ): Promise<Outcome<{ options: PublicKeyCredentialCreationOptionsJSON }>> {
    const gate = this.canRegister(session);
    if (!gate.ok) return gate;
    const existing = await listPasskeys(this.options.store.db, session.me);
    const options = await (await webauthn()).generateRegistrationOptions({
      rpName: 'Latchkey',
      rpID: this.rpId,
      userName: session.me,
      userDisplayName: displayUrl(session.me),
      // The WebAuthn user handle: a hash of `me`, never the URL cut short (two long sites would share
      // one handle and an authenticator could overwrite one's passkey with the other's).
      userID: new Uint8Array(createHash('sha256').update(`latchkey-passkey-user:${session.me}`).digest()),
      attestationType: 'none',
      excludeCredentials: existing.map((row) => ({ id: row.id, transports: transportsOf(row) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      timeout: CHALLENGE_TTL * 1000,
    });
    await this.saveChallenge(options.challenge, 'register', session.idHash, session.me);
    return { ok: true, options };
  }

  /** Checks the browser's answer and stores the passkey for the session's `me`. */
  async register(
    session: AccountSession,
    responseJson: string,
    requestedName: string,
  ): Promise<Outcome<{ passkey: PasskeyView }>> {
    const { store, clock, logger } = this.options;
    const gate = this.canRegister(session);
    if (!gate.ok) return gate;
    const response = parseResponse<RegistrationResponseJSON>(responseJson);
    if (!response) return { ok: false, reason: 'Your browser sent no passkey. Try again.' };
    let verified: Awaited<ReturnType<typeof WebAuthn.verifyRegistrationResponse>>;
    try {
      verified = await (await webauthn()).verifyRegistrationResponse({
        response,
        expectedChallenge: (challenge) => this.take(challenge, 'register', session.idHash, session.me),
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        requireUserVerification: true,
      });
    } catch (error) {
      return { ok: false, reason: refusal(error) };
    }
    if (!verified.verified) return { ok: false, reason: 'The passkey’s answer did not verify.' };
    const via = await this.provenance(session);
    if (!via.ok) return via;
    const { credential } = verified.registrationInfo;
    const at = clock();
    const count = (await listPasskeys(store.db, session.me)).length;
    const row: PasskeyRow = {
      id: credential.id,
      me: session.me,
      public_key: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: JSON.stringify(credential.transports ?? []),
      name: cleanName(requestedName) || `Passkey ${count + 1}`,
      registered_via: JSON.stringify(via.via),
      created_at: at,
      last_used_at: null,
    };
    try {
      await insertPasskey(store.db, row);
    } catch {
      return { ok: false, reason: 'That passkey is registered already.' };
    }
    logger.info(
      { event: 'account.passkey_added', me: session.me, via: via.via.link ?? 'names this server' },
      'passkey registered',
    );
    return { ok: true, passkey: toView(row) };
  }

  async rename(session: AccountSession, id: string, name: string): Promise<boolean> {
    const clean = cleanName(name);
    if (!clean) return false;
    return renamePasskey(this.options.store.db, session.me, id, clean);
  }

  async remove(session: AccountSession, id: string): Promise<boolean> {
    const removed = await deletePasskey(this.options.store.db, session.me, id);
    if (removed)
      this.options.logger.info({ event: 'account.passkey_removed', me: session.me }, 'passkey removed');
    return removed;
  }

  /**
   * The passkey candidate for a discovered site, or none when `me` has no passkey. Only passkeys
   * whose registration still holds on this discovery are usable; when none is, the candidate says
   * why in plain words (E9).
   */
  async candidate(site: SiteDiscovery): Promise<Candidate | undefined> {
    const rows = await listPasskeys(this.options.store.db, site.me);
    if (rows.length === 0) return undefined;
    const usable = rows.filter((row) => this.stillHolds(site, readVia(row)));
    const details: Record<string, string> = { usable: usable.map((row) => row.id).join(' ') };
    if (usable.length === 0) {
      const links = [...new Set(rows.map((row) => readVia(row).link).filter((l): l is string => !!l))];
      details.refused =
        `Your passkeys were registered while ${displayUrl(site.me)} ` +
        (links.length > 0
          ? `linked to ${links.join(', ')}, and it no longer does`
          : 'named this server as its authorization server, and it no longer does') +
        ', so they cannot sign you in. Put the link back, or sign in another way and add a new passkey.';
    }
    return {
      method: 'passkey',
      target: site.me,
      label: 'Sign in with a passkey',
      link: site.me,
      hint: 'Your device asks for your fingerprint, face, or PIN.',
      details,
    };
  }

  /** True while the site names this server, or still shows the link that proved it at registration. */
  stillHolds(site: SiteDiscovery, via: RegisteredVia): boolean {
    if (namesThisServer(site, this.options.issuer)) return true;
    if (!via.link) return false;
    const link = via.link;
    return usableLinks(site).some((l) => l.url === link || safeEquivalent(l.url, link));
  }

  /** Options for `navigator.credentials.get`, with a challenge bound to one sign-in attempt. */
  async authenticationOptions(
    me: string,
    binding: string,
    allowed: readonly string[],
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const rows = (await listPasskeys(this.options.store.db, me)).filter((row) => allowed.includes(row.id));
    const options = await (await webauthn()).generateAuthenticationOptions({
      rpID: this.rpId,
      allowCredentials: rows.map((row) => ({ id: row.id, transports: transportsOf(row) })),
      userVerification: 'required',
      timeout: CHALLENGE_TTL * 1000,
    });
    await this.saveChallenge(options.challenge, 'authenticate', binding, me);
    return options;
  }

  /** Verifies a sign-in with a passkey of `me` (one of `allowed`), taking the attempt's challenge once. */
  async authenticate(input: {
    me: string;
    binding: string;
    allowed: readonly string[];
    response: string;
  }): Promise<Outcome<{ passkey: PasskeyView }>> {
    const { store, clock } = this.options;
    const response = parseResponse<AuthenticationResponseJSON>(input.response);
    if (!response) return { ok: false, reason: 'Your browser sent no passkey answer.' };
    const row = await findPasskey(store.db, input.me, response.id);
    if (!row)
      return {
        ok: false,
        reason: `That passkey is not registered for ${displayUrl(input.me)}. A passkey signs in only the site it was added for.`,
      };
    if (!input.allowed.includes(row.id))
      return {
        ok: false,
        reason: `That passkey no longer proves ${displayUrl(input.me)}: the site does not show what proved it when it was added.`,
      };
    let verified: Awaited<ReturnType<typeof WebAuthn.verifyAuthenticationResponse>>;
    try {
      verified = await (await webauthn()).verifyAuthenticationResponse({
        response,
        expectedChallenge: (challenge) => this.take(challenge, 'authenticate', input.binding, input.me),
        expectedOrigin: this.origin,
        expectedRPID: this.rpId,
        requireUserVerification: true,
        credential: {
          id: row.id,
          publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64url')),
          counter: Number(row.counter),
          transports: transportsOf(row),
        },
      });
    } catch (error) {
      return { ok: false, reason: refusal(error) };
    }
    if (!verified.verified) return { ok: false, reason: 'The passkey’s signature did not verify.' };
    const at = clock();
    await markPasskeyUsed(store.db, input.me, row.id, verified.authenticationInfo.newCounter, at);
    return { ok: true, passkey: { ...toView(row), lastUsedAt: at } };
  }

  private async saveChallenge(
    challenge: string,
    kind: 'register' | 'authenticate',
    binding: string,
    me: string,
  ): Promise<void> {
    await insertChallenge(this.options.store.db, {
      challenge_hash: sha256(challenge),
      kind,
      binding,
      me,
      expires_at: this.options.clock() + CHALLENGE_TTL,
      used_at: null,
    });
  }

  private take(challenge: string, kind: 'register' | 'authenticate', binding: string, me: string) {
    return takeChallenge(
      this.options.store.db,
      { hash: sha256(challenge), kind, binding, me },
      this.options.clock(),
    );
  }

  /** What proves the session's site right now: it names this server, or the link of the session's method. */
  private async provenance(session: AccountSession): Promise<Outcome<{ via: RegisteredVia }>> {
    let site: SiteDiscovery;
    try {
      site = await this.options.discover(session.me);
    } catch {
      return {
        ok: false,
        reason: `Latchkey could not read ${displayUrl(session.me)} to see what proves it. Try again.`,
      };
    }
    if (namesThisServer(site, this.options.issuer))
      return { ok: true, via: { method: session.method, link: null } };
    const candidates = await this.options.candidatesFor(site);
    const found = candidates.filter((candidate) => candidate.method === session.method);
    const [only] = found;
    if (only === undefined)
      return {
        ok: false,
        reason: `${displayUrl(session.me)} no longer shows the link you signed in with. ${SIGN_IN_AGAIN}`,
      };
    // The passkey stays tied to the link that proved the site, and the sign-in does not say which of
    // several links of its method that was: tying it to the wrong one would let a passkey made by
    // the holder of one link outlive that link's removal (E9).
    if (found.length > 1)
      return {
        ok: false,
        reason: `${displayUrl(session.me)} shows ${found.length} links for the way you signed in, so Latchkey cannot tell which one is yours, and a passkey must stay tied to it. Sign in with a way your site shows only once, then add the passkey.`,
      };
    return { ok: true, via: { method: session.method, link: only.link } };
  }
}

export function readVia(row: PasskeyRow): RegisteredVia {
  try {
    const via = JSON.parse(row.registered_via) as Partial<RegisteredVia>;
    return { method: String(via.method ?? ''), link: typeof via.link === 'string' ? via.link : null };
  } catch {
    return { method: '', link: null };
  }
}

function toView(row: PasskeyRow): PasskeyView {
  return {
    id: row.id,
    name: row.name,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    registeredVia: readVia(row),
  };
}

function transportsOf(row: PasskeyRow): AuthenticatorTransport[] {
  try {
    const list = JSON.parse(row.transports);
    return Array.isArray(list) ? list.filter((t): t is AuthenticatorTransport => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

function cleanName(name: string): string {
  return [...name]
    .filter((ch) => ch >= ' ' && ch !== '\u007f')
    .join('')
    .trim()
    .slice(0, NAME_MAX);
}

function parseResponse<T extends { id: string }>(text: string): T | undefined {
  if (!text || text.length > 32 * 1024) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const id = (value as { id?: unknown }).id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,1400}$/.test(id)) return undefined;
    return value as T;
  } catch {
    return undefined;
  }
}

function safeEquivalent(a: string, b: string): boolean {
  try {
    return urlEquivalent(a, b);
  } catch {
    return false;
  }
}

/** The library's refusal in plain words (wrong origin, RP ID, used or foreign challenge, no UV). */
function refusal(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/challenge/i.test(message))
    return 'This passkey answer belongs to another or an earlier try (its challenge was used already, expired, or was issued elsewhere). Start again.';
  if (/origin/i.test(message))
    return 'The passkey answer was made on another website (its origin is not this server’s).';
  if (/rp ?id/i.test(message))
    return 'The passkey answer was made for another website (its RP ID is not this server’s).';
  if (/verif/i.test(message)) return 'Your device did not verify you (fingerprint, face or PIN); it has to.';
  if (/counter/i.test(message))
    return 'This passkey answer is older than one already used (its counter went backwards), so it was refused.';
  return 'The passkey answer did not check out, so it was refused. Try again, or sign in another way.';
}
