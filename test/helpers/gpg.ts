/**
 * Real PGP keys and signatures from Debian's gnupg (SECURITY F8 tests): a throwaway GNUPGHOME with
 * one Ed25519 signing key, its armored public key, and `gpg --clearsign`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const gpgAvailable = existsSync('/usr/bin/gpg');

if (!gpgAvailable && process.env.CI === 'true') {
  throw new Error('CI=true but gpg is not installed: the PGP tests must run in CI.');
}

export interface GpgKey {
  armoredKey: string;
  clearsign(text: string): string;
  dispose(): void;
}

export function createGpgKey(uid = 'Test Person <test@example.com>'): GpgKey {
  const home = mkdtempSync(join(tmpdir(), 'latchkey-gpg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (args: string[], input?: string) =>
    execFileSync('gpg', ['--batch', '--yes', '--no-tty', ...args], { env, input, encoding: 'utf8' });
  gpg(['--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  const armoredKey = gpg(['--armor', '--export']);
  return {
    armoredKey,
    clearsign: (text) => gpg(['--clearsign'], text),
    dispose: () => {
      try {
        execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env });
      } catch {
        // no agent running
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}
