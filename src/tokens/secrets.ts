/**
 * Random secrets and their stored form. Tokens, codes and resource-server secrets are 256-bit
 * CSPRNG values (PROTOCOL §7, §10); only their SHA-256 hashes reach the store (SECURITY D7).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

/** 32 random bytes, base64url: 43 characters, no padding. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A short random identifier for rows that are shown to operators (not a secret). */
export function randomId(): string {
  return randomBytes(9).toString('base64url');
}

/** One-shot `crypto.hash` (Node ≥ 20.12): no Hash object per call, on every token lookup. */
export function sha256(value: string): string {
  return hash('sha256', value, 'hex');
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A stored SHA-256 hex digest as its 32 bytes, for `matchesDigest`; undefined if it is not one. */
export function digestBytes(hex: string): Buffer | undefined {
  return SHA256_HEX.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/**
 * Whether `secret` hashes to `digest` (from `digestBytes`), compared as 32 bytes in constant time
 * (SECURITY D8). The stored side is converted once, when its row is read, not per request.
 */
export function matchesDigest(secret: string, digest: Buffer | undefined): boolean {
  if (digest === undefined) return false;
  // The digest as a latin1 ('binary') string, copied into node's shared buffer pool: a 'buffer' digest would
  // allocate a backing store of its own on every request (measured: ~1 µs of ~2 per check).
  return timingSafeEqual(Buffer.from(hash('sha256', secret, 'binary'), 'latin1'), digest);
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

/** An AES-256-GCM key for one purpose, derived from one LATCHKEY_SECRET key (RFC 5869 HKDF-SHA256). */
function sealingKey(purpose: string, secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'latchkey-sealed-v1', purpose, 32));
}

/**
 * Encrypts a secret of an upstream flow (a PKCE verifier, a provider client secret) so that the
 * database alone does not hold it (SECURITY D7). The first key seals; `purpose` binds the value to
 * its use, so one sealed value cannot be replayed as another.
 */
export function sealSecret(purpose: string, plaintext: string, secrets: readonly string[]): string {
  const key = secrets[0];
  if (key === undefined) throw new Error('sealSecret needs at least one key');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(purpose, key), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `v1.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/** Opens what sealSecret made with any of the keys (rotation, SECURITY R7); undefined if none fits. */
export function openSecret(purpose: string, sealed: string, secrets: readonly string[]): string | undefined {
  const [version, iv, body] = sealed.split('.');
  if (version !== 'v1' || !iv || !body) return undefined;
  const nonce = Buffer.from(iv, 'base64url');
  const data = Buffer.from(body, 'base64url');
  if (nonce.length !== 12 || data.length < 16) return undefined;
  for (const key of secrets) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', sealingKey(purpose, key), nonce);
      decipher.setAuthTag(data.subarray(data.length - 16));
      return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      // Not this key: try the next.
    }
  }
  return undefined;
}
