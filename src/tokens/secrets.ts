/**
 * Random secrets and their stored form. Tokens, codes and resource-server secrets are 256-bit
 * CSPRNG values (PROTOCOL §7, §10); only their SHA-256 hashes reach the store (SECURITY D7).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes, base64url: 43 characters, no padding. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A short random identifier for rows that are shown to operators (not a secret). */
export function randomId(): string {
  return randomBytes(9).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/**
 * Constant-time string comparison (SECURITY D8). Both sides are hashed first so the comparison
 * also hides the length of the secret.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
