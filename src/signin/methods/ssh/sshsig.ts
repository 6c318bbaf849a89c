/**
 * SSH signatures as `ssh-keygen -Y sign` makes them (OpenSSH PROTOCOL.sshsig) and SSH public keys as
 * `.pub` / `authorized_keys` files and `https://github.com/<login>.keys` list them (RFC 4253 §6.6,
 * RFC 5656 §3.1, RFC 8709, RFC 8332; security keys: OpenSSH PROTOCOL.u2f). Verified with
 * node:crypto only: no SSH agent, no subprocess.
 *
 * What the signature covers is the SSHSIG "signed data" blob: the magic, the namespace, the hash
 * algorithm and the hash of the message. The namespace must be the one we asked for, so a
 * signature made for git or for another service cannot be replayed here (SECURITY F8).
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';

const MAGIC = Buffer.from('SSHSIG');
const ARMOR = /-----BEGIN SSH SIGNATURE-----([\s\S]*?)-----END SSH SIGNATURE-----/;

/** A key from a key list, with the exact wire blob SSHSIG names it by. */
export interface SshPublicKey {
  type: string;
  blob: Buffer;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
  comment: string;
}

export type SshVerifyResult = { ok: true; key: SshPublicKey } | { ok: false; reason: string };

const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/** Reads the SSH wire format: uint32 lengths, strings, mpints (RFC 4251 §5). */
class Reader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}

  uint32(): number {
    if (this.offset + 4 > this.data.length) throw new Error('truncated');
    const value = this.data.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  byte(): number {
    if (this.offset + 1 > this.data.length) throw new Error('truncated');
    return this.data[this.offset++] as number;
  }

  bytes(length: number): Buffer {
    if (this.offset + length > this.data.length) throw new Error('truncated');
    const out = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(): Buffer {
    return this.bytes(this.uint32());
  }

  text(): string {
    return this.string().toString('latin1');
  }

  /** An mpint without its sign byte (all values here are positive). */
  mpint(): Buffer {
    const raw = this.string();
    let start = 0;
    while (start < raw.length - 1 && raw[start] === 0) start++;
    return raw.subarray(start);
  }

  get done(): boolean {
    return this.offset === this.data.length;
  }
}

function sshString(value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

const CURVES: Record<string, { crv: string; size: number; hash: string }> = {
  nistp256: { crv: 'P-256', size: 32, hash: 'sha256' },
  nistp384: { crv: 'P-384', size: 48, hash: 'sha384' },
  nistp521: { crv: 'P-521', size: 66, hash: 'sha512' },
};

function b64url(data: Buffer): string {
  return data.toString('base64url');
}

/** The key object and, for security keys, the application string they were made for. */
interface DecodedKey {
  type: string;
  key: KeyObject;
  curve?: (typeof CURVES)[string];
  application?: string;
}

function ecKey(reader: Reader, expectedCurve: string): { key: KeyObject; curve: (typeof CURVES)[string] } {
  const curveName = reader.text();
  const curve = CURVES[curveName];
  if (!curve || curveName !== expectedCurve) throw new Error('curve mismatch');
  const point = reader.string();
  if (point.length !== 1 + 2 * curve.size || point[0] !== 4) throw new Error('bad point');
  const key = createPublicKey({
    key: {
      kty: 'EC',
      crv: curve.crv,
      x: b64url(point.subarray(1, 1 + curve.size)),
      y: b64url(point.subarray(1 + curve.size)),
    },
    format: 'jwk',
  });
  return { key, curve };
}

/** Decodes a public key blob; throws on anything malformed or unsupported. */
function decodeKey(blob: Buffer): DecodedKey {
  const reader = new Reader(blob);
  const type = reader.text();
  let decoded: DecodedKey;
  switch (type) {
    case 'ssh-ed25519':
    case 'sk-ssh-ed25519@openssh.com': {
      const raw = reader.string();
      if (raw.length !== 32) throw new Error('bad ed25519 key');
      decoded = {
        type,
        key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' }),
      };
      break;
    }
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
    case 'sk-ecdsa-sha2-nistp256@openssh.com': {
      const expected = type.startsWith('sk-') ? 'nistp256' : type.slice('ecdsa-sha2-'.length);
      decoded = { type, ...ecKey(reader, expected) };
      break;
    }
    case 'ssh-rsa': {
      const e = reader.mpint();
      const n = reader.mpint();
      if (n.length * 8 < 2048 - 8) throw new Error('RSA keys under 2048 bits are refused');
      decoded = {
        type,
        key: createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' }),
      };
      break;
    }
    default:
      throw new Error(`unsupported key type ${type}`);
  }
  if (type.startsWith('sk-')) decoded.application = reader.text();
  if (!reader.done) throw new Error('trailing bytes');
  return decoded;
}

/**
 * Parses a key list: `.pub` files, `authorized_keys` (options before the type are skipped) and
 * GitHub's `.keys` answer. Lines that are not supported keys are ignored, not fatal.
 */
export function parseKeyList(text: string): SshPublicKey[] {
  const keys: SshPublicKey[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const at = fields.findIndex((field) => KEY_TYPES.has(field));
    const type = at >= 0 ? fields[at] : undefined;
    const encoded = at >= 0 ? fields[at + 1] : undefined;
    if (!type || !encoded || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) continue;
    const blob = Buffer.from(encoded, 'base64');
    try {
      if (decodeKey(blob).type !== type) continue;
    } catch {
      continue;
    }
    keys.push({
      type,
      blob,
      fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
      comment: fields.slice(at + 2).join(' '),
    });
  }
  return keys;
}

/** The signature algorithm each key type may sign with (SSHSIG refuses RSA with SHA-1). */
function signatureAlgorithmAllowed(keyType: string, sigType: string): boolean {
  if (keyType === 'ssh-rsa') return sigType === 'rsa-sha2-256' || sigType === 'rsa-sha2-512';
  return keyType === sigType;
}

/** ECDSA signature blob (two mpints) → IEEE P1363 (r‖s, fixed width) for node:crypto. */
function ecdsaSignature(blob: Buffer, size: number): Buffer {
  const reader = new Reader(blob);
  const r = reader.mpint();
  const s = reader.mpint();
  if (!reader.done || r.length > size || s.length > size) throw new Error('bad ecdsa signature');
  return Buffer.concat([Buffer.alloc(size - r.length), r, Buffer.alloc(size - s.length), s]);
}

function verifyRaw(decoded: DecodedKey, sigType: string, sigBlob: Buffer, data: Buffer): boolean {
  if (decoded.type === 'ssh-ed25519' || decoded.type === 'sk-ssh-ed25519@openssh.com') {
    return verify(null, data, decoded.key, sigBlob);
  }
  if (decoded.curve) {
    return verify(
      decoded.curve.hash,
      data,
      { key: decoded.key, dsaEncoding: 'ieee-p1363' },
      ecdsaSignature(sigBlob, decoded.curve.size),
    );
  }
  return verify(sigType === 'rsa-sha2-512' ? 'sha512' : 'sha256', data, decoded.key, sigBlob);
}

/**
 * Verifies an armored SSH signature over `message` in `namespace`, made by one of `keys`. The
 * reasons are plain words for the person.
 */
export function verifySshSignature(
  armored: string,
  message: string,
  namespace: string,
  keys: readonly SshPublicKey[],
): SshVerifyResult {
  const armor = ARMOR.exec(armored);
  if (!armor?.[1]) {
    return {
      ok: false,
      reason:
        'That is not an SSH signature: paste everything from -----BEGIN SSH SIGNATURE----- to -----END SSH SIGNATURE-----.',
    };
  }
  const body = armor[1].replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return { ok: false, reason: 'The signature block is damaged.' };
  try {
    const reader = new Reader(Buffer.from(body, 'base64'));
    if (!reader.bytes(6).equals(MAGIC) || reader.uint32() !== 1) {
      return { ok: false, reason: 'The signature block is not an SSHSIG version 1 signature.' };
    }
    const publicKey = reader.string();
    const signedNamespace = reader.text();
    const reserved = reader.string();
    const hashAlgorithm = reader.text();
    const signature = new Reader(reader.string());
    if (!reader.done) return { ok: false, reason: 'The signature block is damaged.' };
    if (signedNamespace !== namespace) {
      return {
        ok: false,
        reason: `The signature was made for "${signedNamespace.slice(0, 100)}", not for ${namespace}: sign with -n ${namespace}.`,
      };
    }
    if (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512') {
      return {
        ok: false,
        reason: `The signature uses the hash ${hashAlgorithm.slice(0, 20)}, which is not allowed.`,
      };
    }
    const key = keys.find((candidate) => candidate.blob.equals(publicKey));
    if (!key) {
      return { ok: false, reason: 'The signature was made with a key your site does not list.' };
    }
    const decoded = decodeKey(publicKey);
    const sigType = signature.text();
    const sigBlob = signature.string();
    if (!signatureAlgorithmAllowed(decoded.type, sigType)) {
      return { ok: false, reason: `A ${decoded.type} key cannot make a ${sigType.slice(0, 40)} signature.` };
    }
    const digest = createHash(hashAlgorithm).update(message, 'utf8').digest();
    let data = Buffer.concat([
      MAGIC,
      sshString(namespace),
      sshString(reserved),
      sshString(hashAlgorithm),
      sshString(digest),
    ]);
    if (decoded.application !== undefined) {
      // PROTOCOL.u2f: the authenticator signs H(application) ‖ flags ‖ counter ‖ H(data).
      const flags = signature.byte();
      const counter = signature.bytes(4);
      if ((flags & 0x01) === 0)
        return { ok: false, reason: 'The security key was not touched (no user presence).' };
      data = Buffer.concat([
        createHash('sha256').update(decoded.application, 'utf8').digest(),
        Buffer.from([flags]),
        counter,
        createHash('sha256').update(data).digest(),
      ]);
    }
    if (!signature.done) return { ok: false, reason: 'The signature block is damaged.' };
    if (!verifyRaw(decoded, sigType, sigBlob, data)) {
      return {
        ok: false,
        reason: 'The signature does not match the challenge text: sign exactly the text shown.',
      };
    }
    return { ok: true, key };
  } catch {
    return { ok: false, reason: 'The signature block is damaged or uses an unsupported key.' };
  }
}
