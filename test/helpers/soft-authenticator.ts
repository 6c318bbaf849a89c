/**
 * A software WebAuthn authenticator for SECURITY E9 tests: one ES256 (P-256) credential made with
 * node:crypto, answering `navigator.credentials.create` with a 'none' attestation and
 * `navigator.credentials.get` with an ECDSA-SHA256 (DER) assertion, as a browser would send them
 * (the JSON of @simplewebauthn/browser). Knobs let a test lie about the origin, the RP ID, the UV
 * flag and the signature counter, so the server's refusals can be shown to be real.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { cose, isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

export interface Knobs {
  /** clientDataJSON `origin`; defaults to the authenticator's origin. */
  origin?: string;
  /** The RP ID hashed into authData; defaults to the authenticator's RP ID. */
  rpId?: string;
  /** Set the UV flag (default true). */
  uv?: boolean;
  /** The signature counter; defaults to the last one plus one (registration: 0). */
  counter?: number;
}

export interface SoftAuthenticator {
  /** base64url credential ID. */
  readonly id: string;
  /** The last counter this authenticator put in an answer. */
  readonly counter: number;
  register(challenge: string, knobs?: Knobs): RegistrationResponseJSON;
  authenticate(challenge: string, knobs?: Knobs): AuthenticationResponseJSON;
}

function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function u32(n: number): Buffer {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(n >>> 0);
  return buf;
}

function b64u(data: Uint8Array): string {
  return isoBase64URL.fromBuffer(new Uint8Array(data));
}

/** The credential public key as COSE_Key (RFC 9053 §7.1.1): EC2, ES256, P-256, x, y. */
function coseKey(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: 'jwk' });
  const key = new Map<number, number | Uint8Array>([
    [cose.COSEKEYS.kty, cose.COSEKTY.EC2],
    [cose.COSEKEYS.alg, cose.COSEALG.ES256],
    [cose.COSEKEYS.crv, cose.COSECRV.P256],
    [cose.COSEKEYS.x, new Uint8Array(Buffer.from(jwk.x ?? '', 'base64url'))],
    [cose.COSEKEYS.y, new Uint8Array(Buffer.from(jwk.y ?? '', 'base64url'))],
  ]);
  return isoCBOR.encode(key);
}

/** A fresh authenticator holding one credential for `rpId`, used from `origin`. */
export function softAuthenticator(rpId: string, origin: string): SoftAuthenticator {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rawId = randomBytes(16);
  const id = b64u(rawId);
  let counter = 0;

  const clientData = (type: 'webauthn.create' | 'webauthn.get', challenge: string, knobs: Knobs) =>
    Buffer.from(
      JSON.stringify({ type, challenge, origin: knobs.origin ?? origin, crossOrigin: false }),
      'utf8',
    );
  const flags = (knobs: Knobs, extra: number) => Buffer.from([UP | (knobs.uv === false ? 0 : UV) | extra]);

  return {
    id,
    get counter() {
      return counter;
    },
    register(challenge, knobs = {}) {
      counter = knobs.counter ?? 0;
      const credIdLen = Buffer.alloc(2);
      credIdLen.writeUInt16BE(rawId.length);
      const authData = Buffer.concat([
        sha256(knobs.rpId ?? rpId),
        flags(knobs, AT),
        u32(counter),
        Buffer.alloc(16), // AAGUID: none
        credIdLen,
        rawId,
        coseKey(publicKey),
      ]);
      const attestationObject = isoCBOR.encode(
        new Map<string, string | Uint8Array | Map<string, never>>([
          ['fmt', 'none'],
          ['attStmt', new Map<string, never>()],
          ['authData', new Uint8Array(authData)],
        ]),
      );
      return {
        id,
        rawId: id,
        type: 'public-key',
        response: {
          clientDataJSON: b64u(clientData('webauthn.create', challenge, knobs)),
          attestationObject: b64u(attestationObject),
          transports: ['internal'],
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },
    authenticate(challenge, knobs = {}) {
      counter = knobs.counter ?? counter + 1;
      const authData = Buffer.concat([sha256(knobs.rpId ?? rpId), flags(knobs, 0), u32(counter)]);
      const clientDataJSON = clientData('webauthn.get', challenge, knobs);
      const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), privateKey);
      return {
        id,
        rawId: id,
        type: 'public-key',
        response: {
          clientDataJSON: b64u(clientDataJSON),
          authenticatorData: b64u(authData),
          signature: b64u(signature),
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },
  };
}
