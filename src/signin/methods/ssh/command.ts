/**
 * What the person runs to answer the SSH challenge (PROTOCOL §9.1 `ssh`): the challenge text
 * itself, and the `ssh-keygen -Y sign` command lines the sign-in page and /setup#ssh show. The
 * challenge is built so these lines can be pasted into a shell as they are.
 */

export const SUPPORTED_TYPES =
  'ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa (2048 bits or more), ' +
  'sk-ssh-ed25519@openssh.com and sk-ecdsa-sha2-nistp256@openssh.com';

/**
 * The site's URL as the challenge spells it: characters a shell treats specially inside or around
 * single quotes (`'`, `"`, `$`, `` ` ``, `\`, `!`, spaces…) are percent-encoded, so the command the
 * page shows can quote the challenge with plain single quotes and nothing in it is ever expanded.
 */
function shellSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9._~:/?#[\]@&+,;=%-]/g, (char) =>
    [...Buffer.from(char, 'utf8')]
      .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  );
}

/**
 * One line naming this service, the site and a random nonce (PROTOCOL §9: like the PGP challenge),
 * e.g. `login.example sign-in for https://alice.example/ nonce 3fGk2…`. It is shell-safe: no quotes,
 * `$`, backslashes or newlines (the nonce is base64url), so `printf '%s' '<challenge>'` is exact.
 */
export function sshChallenge(serviceHost: string, me: string, nonce: string): string {
  return `${shellSafe(serviceHost)} sign-in for ${shellSafe(me)} nonce ${nonce}`;
}

/** The usual private key file for a key type, for the command the page suggests. */
export function keyFileFor(type: string | undefined): string {
  switch (type) {
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return '~/.ssh/id_ecdsa';
    case 'ssh-rsa':
      return '~/.ssh/id_rsa';
    case 'sk-ssh-ed25519@openssh.com':
      return '~/.ssh/id_ed25519_sk';
    case 'sk-ecdsa-sha2-nistp256@openssh.com':
      return '~/.ssh/id_ecdsa_sk';
    default:
      return '~/.ssh/id_ed25519';
  }
}

/** A namespace is a host (and maybe port); quoted only when it holds something a shell would glob. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9.:-]+$/.test(word) ? word : `'${word.replace(/'/g, '')}'`;
}

/** The command the page offers: signs exactly the challenge (`printf '%s'` adds no newline). */
export function signCommand(challenge: string, keyFile: string, namespace: string): string {
  return `printf '%s' '${challenge}' | ssh-keygen -Y sign -f ${keyFile} -n ${shellWord(namespace)}`;
}

/** The same for a saved file; ssh-keygen writes `<file>.sig` beside it. */
export function signFileCommand(keyFile: string, namespace: string, file = 'challenge.txt'): string {
  return `ssh-keygen -Y sign -f ${keyFile} -n ${shellWord(namespace)} ${file}`;
}
