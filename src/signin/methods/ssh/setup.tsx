/**
 * The SSH method's section of /setup (anchor `#ssh`, which its error pages name): how to publish a
 * key list with `rel="ssh-key"` and what signing in then asks for (PROTOCOL §9.1 `ssh`).
 */
import { Code } from '../../../views/pages/setup.js';
import type { MethodSetup } from '../../types.js';
import { SUPPORTED_TYPES, signCommand, signFileCommand } from './command.js';

function Section({ serviceHost }: { issuer: string; serviceHost: string }) {
  return (
    <>
      <p>
        Link to a list of your SSH public keys with <code>rel="ssh-key"</code>. If your keys are on GitHub,
        its list of them will do:
      </p>
      <Code>{'<link rel="ssh-key" href="https://github.com/you.keys">'}</Code>
      <p>
        Or upload your public key (for example <code>~/.ssh/id_ed25519.pub</code>, never the file without{' '}
        <code>.pub</code>) next to your home page and link to it. A file in <code>authorized_keys</code>{' '}
        format with several keys works too; options before a key are ignored.
      </p>
      <Code>{'<link rel="ssh-key" href="/id_ed25519.pub">'}</Code>
      <p>
        When you sign in, Latchkey shows a one-line challenge that names {serviceHost}, your site and a random
        value, and the command that signs it with OpenSSH 8.1 or later, for example:
      </p>
      <Code>{signCommand('CHALLENGE', '~/.ssh/id_ed25519', serviceHost)}</Code>
      <p>
        <code>-f</code> names your private key file; <code>-n {serviceHost}</code> makes the signature good
        for this service only. You can also save the challenge as <code>challenge.txt</code> and run{' '}
        <code>{signFileCommand('~/.ssh/id_ed25519', serviceHost)}</code>. Paste the whole block, from{' '}
        <code>-----BEGIN SSH SIGNATURE-----</code> to <code>-----END SSH SIGNATURE-----</code>, into the
        sign-in page. A challenge works once, for 10 minutes and 5 tries. Latchkey reads your key list again
        when you paste the signature, so a key you take off the list stops working at once.
      </p>
      <p>Latchkey can use {SUPPORTED_TYPES} keys.</p>
    </>
  );
}

export const sshSetup: MethodSetup = { id: 'ssh', title: 'Sign in with an SSH key', Section };
