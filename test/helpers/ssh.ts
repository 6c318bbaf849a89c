/**
 * Real SSH keys and signatures from Debian's openssh-client (SECURITY F8 tests): throwaway keys in
 * a temp directory, `ssh-keygen -Y sign` over exact bytes, and the page's own command run in a shell.
 * Without ssh-keygen the SSH suites skip locally; under CI=true they fail.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSH_KEYGEN = ['/usr/bin/ssh-keygen', '/bin/ssh-keygen'].find((path) => existsSync(path));
export const sshKeygenAvailable = SSH_KEYGEN !== undefined;

if (!sshKeygenAvailable && process.env.CI === 'true') {
  throw new Error('CI=true but ssh-keygen is missing (openssh-client): the SSH tests must run in CI.');
}

export interface SshKey {
  /** The private key file. */
  file: string;
  /** The `.pub` line: `<type> <base64> <comment>`. */
  pub: string;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** `ssh-keygen -Y sign -n <namespace>` over exactly `message`. */
  sign(message: string, namespace: string): string;
}

export interface SshKeys {
  /** A key of this type (and size), made once per directory and comment. */
  key(type: 'ed25519' | 'ecdsa' | 'rsa', bits?: number, comment?: string): SshKey;
  dir: string;
  /** Runs a shell command line (the page's own command) with `~` as the key directory's home. */
  shell(command: string): string;
  dispose(): void;
}

export function sshKeys(): SshKeys {
  const keygen = SSH_KEYGEN as string;
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-ssh-'));
  return {
    dir,
    key(type, bits, comment = 'alice@laptop') {
      const file = join(dir, `${type}-${bits ?? 0}-${Buffer.from(comment).toString('hex').slice(0, 40)}`);
      if (!existsSync(file)) {
        execFileSync(keygen, [
          '-q',
          '-t',
          type,
          ...(bits ? ['-b', String(bits)] : []),
          '-N',
          '',
          '-C',
          comment,
          '-f',
          file,
        ]);
      }
      const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(
        execFileSync(keygen, ['-l', '-E', 'sha256', '-f', `${file}.pub`]).toString(),
      )?.[0];
      return {
        file,
        pub: readFileSync(`${file}.pub`, 'utf8'),
        fingerprint: fingerprint ?? '',
        sign: (message, namespace) =>
          execFileSync(keygen, ['-Y', 'sign', '-f', file, '-n', namespace], {
            input: message,
            stdio: ['pipe', 'pipe', 'ignore'],
          }).toString(),
      };
    },
    shell(command) {
      return execFileSync('/bin/sh', ['-c', command], {
        env: { PATH: '/usr/bin:/bin', HOME: dir },
        stdio: ['ignore', 'pipe', 'ignore'],
      }).toString();
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
