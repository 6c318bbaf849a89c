import { describe, expect, it } from 'vitest';
import { isValidVerifier, s256, validateChallenge, verifierMatches } from '../../src/indieauth/pkce.js';

// RFC 7636 Appendix B.
const RFC_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('PKCE', () => {
  it('computes S256 as in RFC 7636 Appendix B', () => {
    expect(s256(RFC_VERIFIER)).toBe(RFC_CHALLENGE);
    expect(verifierMatches(RFC_VERIFIER, RFC_CHALLENGE)).toBe(true);
  });

  it('B1: plain or unknown methods are refused', () => {
    for (const method of ['plain', 'S512', 's256', '', undefined]) {
      expect(validateChallenge(RFC_CHALLENGE, method).ok, String(method)).toBe(false);
    }
    expect(validateChallenge(RFC_CHALLENGE, 'S256')).toEqual({ ok: true, challenge: RFC_CHALLENGE });
  });

  it('B2: malformed challenges and verifiers are refused', () => {
    for (const challenge of [
      '',
      'short',
      `${RFC_CHALLENGE}x`,
      `${RFC_CHALLENGE.slice(0, 42)}=`,
      RFC_CHALLENGE.replace('E', '+'),
    ]) {
      expect(validateChallenge(challenge, 'S256').ok, challenge).toBe(false);
    }
    expect(isValidVerifier('a'.repeat(42))).toBe(false);
    expect(isValidVerifier('a'.repeat(43))).toBe(true);
    expect(isValidVerifier('a'.repeat(128))).toBe(true);
    expect(isValidVerifier('a'.repeat(129))).toBe(false);
    expect(isValidVerifier(`${'a'.repeat(42)} `)).toBe(false);
    expect(isValidVerifier(`${'a'.repeat(42)}+`)).toBe(false);
  });

  it('B3: a wrong verifier does not match', () => {
    expect(verifierMatches(`${RFC_VERIFIER.slice(0, -1)}l`, RFC_CHALLENGE)).toBe(false);
    expect(verifierMatches(RFC_CHALLENGE, RFC_CHALLENGE)).toBe(false);
  });
});
