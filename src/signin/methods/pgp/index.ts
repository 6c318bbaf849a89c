/**
 * PGP (`rel="pgpkey"`, PROTOCOL §9, SECURITY F8): the person clear-signs a challenge naming this
 * service, their site and a nonce; the signed text must equal the challenge exactly and the signature
 * must verify with the key their site links to. A challenge lives 10 minutes and is used once (the
 * attempt moves on when it verifies; a new attempt gets a new nonce).
 */
import type * as OpenPgp from 'openpgp';
import * as z from 'zod/mini';
import { type Fetcher, LIMITS } from '../../../net/types.js';
import { randomToken } from '../../../tokens/secrets.js';
import { takeChallengeTry } from '../../challenge.js';
import type { Candidate, Method, MethodContext, StepOutcome } from '../../types.js';
import { PGP_ICON } from './icon.js';
import { pgpViews } from './page.js';

/** Challenges live 10 minutes and allow 5 tries (signin/challenge.ts, shared with SSH). */
export { CHALLENGE_TTL } from '../../challenge.js';

const MAX_SIGNED_BYTES = 64 * 1024;

export function pgpChallenge(serviceHost: string, me: string, nonce: string, issuedAt: number): string {
  return [
    `Sign in to ${serviceHost} as ${me}`,
    `Nonce: ${nonce}`,
    `Issued: ${new Date(issuedAt * 1000).toISOString()}`,
  ].join('\n');
}

/** Clear-signing normalises line ends and trailing spaces (RFC 4880 §7.1); compare the same way. */
function canonicalText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[ \t]+$/, ''))
    .join('\n')
    .replace(/\n+$/, '');
}

export type SignatureCheck = { ok: true; fingerprint: string } | { ok: false; reason: string };

/** Verifies a clear-signed message against an armored public key, and that it signs `expected`. */
export async function verifyClearSigned(
  armoredKey: string,
  signed: string,
  expected: string,
): Promise<SignatureCheck> {
  // openpgp (~60 ms, ~17 MB) is loaded by the first PGP sign-in, not at start (DESIGN "lean start").
  const openpgp = await import('openpgp');
  let keys: OpenPgp.Key[];
  try {
    keys = await openpgp.readKeys({ armoredKeys: armoredKey });
  } catch {
    return {
      ok: false,
      reason: 'The key your site links to could not be read as an armored PGP public key.',
    };
  }
  let message: OpenPgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: signed.trim() });
  } catch {
    return {
      ok: false,
      reason:
        'That is not a clear-signed message. Paste everything from "-----BEGIN PGP SIGNED MESSAGE-----" to "-----END PGP SIGNATURE-----".',
    };
  }
  if (canonicalText(message.getText()) !== canonicalText(expected)) {
    return {
      ok: false,
      reason: 'The signed text is not the challenge shown on this page. Sign exactly that text.',
    };
  }
  try {
    const result = await openpgp.verify({ message, verificationKeys: keys, expectSigned: true });
    for (const signature of result.signatures) {
      await signature.verified;
      const key = keys.find((k) => k.getKeys(signature.keyID).length > 0);
      return { ok: true, fingerprint: (key ?? keys[0])?.getFingerprint().toUpperCase() ?? '' };
    }
  } catch {
    // Falls through: not signed by the linked key, or a broken signature.
  }
  return { ok: false, reason: 'The signature does not verify with the PGP key your site links to.' };
}

export interface PgpMethodOptions {
  fetcher: Fetcher;
  clock: () => number;
  serviceHost: string;
}

const PgpState = z.object({
  keyUrl: z.string(),
  issuedAt: z.number(),
  tries: z.number(),
  challenge: z.string(),
});
type PgpState = z.infer<typeof PgpState>;

export function pgpMethod(options: PgpMethodOptions): Method<PgpState> {
  const { fetcher, clock, serviceHost } = options;

  const page = async (
    ctx: MethodContext<PgpState>,
    state: PgpState,
    problem?: string,
  ): Promise<StepOutcome> => ({
    kind: 'page',
    view: 'pgp',
    stepKind: 'pgp.verify',
    step: await ctx.issueStep('pgp.verify'),
    data: { challenge: state.challenge, keyUrl: state.keyUrl },
    ...(problem ? { problem } : {}),
  });

  return {
    id: 'pgp',
    name: 'PGP',
    icon: PGP_ICON,
    multilineFields: ['signed'],
    steps: ['pgp.verify'],
    state: PgpState,
    views: pgpViews,

    recognise(link): Candidate | undefined {
      if (link.rel !== 'pgpkey' || !/^https?:\/\//i.test(link.url)) return undefined;
      return {
        method: 'pgp',
        target: link.url,
        label: 'Sign a challenge with your PGP key',
        link: link.url,
        hint: `You clear-sign a short text with the key at ${link.url}.`,
      };
    },

    async start(ctx, candidate) {
      const issuedAt = clock();
      const state = {
        keyUrl: candidate.target,
        issuedAt,
        tries: 0,
        challenge: pgpChallenge(serviceHost, ctx.attempt.me ?? '', randomToken(18), issuedAt),
      };
      await ctx.saveState(state);
      return page(ctx, state);
    },

    async step(ctx, _kind, input) {
      const me = ctx.attempt.me ?? '';
      const taken = takeChallengeTry(ctx.state, clock());
      if (!taken.ok) return taken.outcome;
      const state = taken.counted;
      const next = state;
      await ctx.saveState(next);

      const signed = input.get('signed') ?? '';
      if (!signed.trim()) return page(ctx, next, 'Paste the signed challenge into the box.');
      if (signed.length > MAX_SIGNED_BYTES)
        return page(ctx, next, 'That is far too long to be a signed challenge.');

      let armoredKey: string;
      try {
        const response = await fetcher(state.keyUrl, {
          accept: 'application/pgp-keys, text/plain;q=0.9, */*;q=0.1',
          maxBytes: LIMITS.key,
        });
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
        armoredKey = response.body;
      } catch (error) {
        return page(
          ctx,
          next,
          `Latchkey could not fetch your key from ${state.keyUrl} (${error instanceof Error ? error.message : 'error'}).`,
        );
      }
      const check = await verifyClearSigned(armoredKey, signed, state.challenge);
      if (!check.ok) return page(ctx, next, check.reason);
      return {
        kind: 'proven',
        proof: {
          me,
          method: 'pgp',
          evidence: `${me} links to the PGP key ${state.keyUrl} (fingerprint ${check.fingerprint}), which signed the challenge.`,
        },
      };
    },
  };
}
