/**
 * PKCE (RFC 7636), S256 only (PROTOCOL §7, SECURITY B1–B5). Framework-free.
 */
import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../tokens/secrets.js';

/** RFC 7636 §4.1: 43–128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** An S256 challenge is the base64url SHA-256 of the verifier: exactly 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export type ChallengeCheck = { ok: true; challenge: string } | { ok: false; reason: string };

/** Checks an authorization request's `code_challenge` + `code_challenge_method` (B1, B2). */
export function validateChallenge(challenge: string | undefined, method: string | undefined): ChallengeCheck {
  if (challenge === undefined || challenge === '') {
    return { ok: false, reason: 'code_challenge is missing; this server requires PKCE (S256).' };
  }
  if (method !== 'S256') {
    return {
      ok: false,
      reason:
        method === undefined || method === ''
          ? 'code_challenge_method is missing; send "S256".'
          : `code_challenge_method "${method.slice(0, 20)}" is not supported; only "S256" is.`,
    };
  }
  if (!S256_CHALLENGE.test(challenge)) {
    return {
      ok: false,
      reason: 'code_challenge must be 43 base64url characters (the S256 hash of the verifier).',
    };
  }
  return { ok: true, challenge };
}

export function isValidVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in constant time (D8). */
export function verifierMatches(verifier: string, challenge: string): boolean {
  return isValidVerifier(verifier) && constantTimeEqual(s256(verifier), challenge);
}
