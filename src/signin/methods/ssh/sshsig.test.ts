/**
 * SSH signatures made by the real `ssh-keygen -Y sign` (Debian openssh-client) for each key type,
 * verified by our own parser (SECURITY F8: only the issued challenge, only our namespace).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKeyList, verifySshSignature } from './sshsig.js';

const sshKeygen = ['/usr/bin/ssh-keygen', '/bin/ssh-keygen'].find((path) => existsSync(path));
if (!sshKeygen && process.env.CI === 'true')
  throw new Error('CI=true but ssh-keygen is missing (openssh-client)');

const dir = mkdtempSync(join(tmpdir(), 'latchkey-ssh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NAMESPACE = 'login.example';
const CHALLENGE = 'login.example sign-in for https://alice.example/ nonce 3fGk2';

function key(type: string, bits?: number): { file: string; pub: string } {
  const file = join(dir, `${type}-${bits ?? 0}`);
  if (!existsSync(file)) {
    execFileSync(sshKeygen as string, [
      '-q',
      '-t',
      type,
      ...(bits ? ['-b', String(bits)] : []),
      '-N',
      '',
      '-C',
      'alice@laptop',
      '-f',
      file,
    ]);
  }
  return { file, pub: readFileSync(`${file}.pub`, 'utf8') };
}

function sign(file: string, message: string, namespace = NAMESPACE, extra: string[] = []): string {
  return execFileSync(sshKeygen as string, ['-Y', 'sign', '-f', file, '-n', namespace, ...extra], {
    input: message,
    stdio: ['pipe', 'pipe', 'ignore'],
  }).toString();
}

describe.skipIf(!sshKeygen)('SSH signatures (ssh-keygen -Y sign)', () => {
  it.each([
    ['ed25519', undefined],
    ['ecdsa', 256],
    ['ecdsa', 384],
    ['ecdsa', 521],
    ['rsa', 3072],
  ])('F8: a %s %s signature over the challenge verifies against the listed key', (type, bits) => {
    const { file, pub } = key(type, bits);
    const keys = parseKeyList(pub);
    expect(keys).toHaveLength(1);
    expect(keys[0]?.comment).toBe('alice@laptop');
    const fingerprint = execFileSync(sshKeygen as string, [
      '-l',
      '-E',
      'sha256',
      '-f',
      `${file}.pub`,
    ]).toString();
    expect(fingerprint).toContain(keys[0]?.fingerprint);
    const result = verifySshSignature(sign(file, CHALLENGE), CHALLENGE, NAMESPACE, keys);
    expect(result).toMatchObject({ ok: true });
  });

  it('F8: rsa-sha2-256 signatures verify too; both SSHSIG hashes are accepted', () => {
    const { file, pub } = key('rsa', 2048);
    const keys = parseKeyList(pub);
    const sha256 = sign(file, CHALLENGE, NAMESPACE, ['-O', 'hashalg=sha256']);
    expect(verifySshSignature(sha256, CHALLENGE, NAMESPACE, keys)).toMatchObject({ ok: true });
  });

  it('F8: a valid signature over other text, in another namespace, or by an unlisted key is refused', () => {
    const { file, pub } = key('ed25519');
    const other = key('ecdsa', 256);
    const keys = parseKeyList(pub);
    const good = sign(file, CHALLENGE);
    expect(verifySshSignature(good, `${CHALLENGE}x`, NAMESPACE, keys)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not match the challenge'),
    });
    expect(verifySshSignature(sign(file, CHALLENGE, 'git'), CHALLENGE, NAMESPACE, keys)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('-n login.example'),
    });
    expect(verifySshSignature(sign(other.file, CHALLENGE), CHALLENGE, NAMESPACE, keys)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('does not list'),
    });
    // A signature block with one byte changed in its body.
    const lines = good.split('\n');
    const line = lines[2] ?? '';
    lines[2] = `${line.slice(0, 10)}${line[10] === 'A' ? 'B' : 'A'}${line.slice(11)}`;
    expect(verifySshSignature(lines.join('\n'), CHALLENGE, NAMESPACE, keys).ok).toBe(false);
    expect(verifySshSignature('hello', CHALLENGE, NAMESPACE, keys)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('BEGIN SSH SIGNATURE'),
    });
  });

  it('reads authorized_keys (options, comments, unknown lines) and GitHub .keys lists', () => {
    const a = key('ed25519').pub.trim();
    const b = key('rsa', 3072).pub.trim();
    const text = [
      '# my keys',
      `from="192.0.2.0/24",no-pty ${a}`,
      'ssh-dss AAAAB3NzaC1kc3MAAACBAP== old',
      'garbage line',
      b.split(' ').slice(0, 2).join(' '),
      '',
    ].join('\n');
    const keys = parseKeyList(text);
    expect(keys.map((k) => k.type)).toEqual(['ssh-ed25519', 'ssh-rsa']);
    expect(keys[1]?.comment).toBe('');
  });
});
