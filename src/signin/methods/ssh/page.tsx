/**
 * The SSH method's page: which keys the site lists, the challenge, the exact command that signs it,
 * and a box for the `-----BEGIN SSH SIGNATURE-----` block. Works without JavaScript; every field is
 * labelled. Key comments are remote text and are escaped like all text here (SECURITY E7).
 */
import { MethodShell, Step } from '../../../views/sign-in-parts.js';
import type { MethodView } from '../../types.js';

interface ShownKey {
  fingerprint: string;
  type: string;
  comment: string;
}

function readKeys(lines: string | undefined): ShownKey[] {
  if (!lines) return [];
  return lines.split('\n').map((line) => {
    const [fingerprint = '', type = '', comment = ''] = line.split('\t');
    return { fingerprint, type, comment };
  });
}

const ChallengePage: MethodView = ({ client, me, page, action }) => {
  const { data } = page;
  const keys = readKeys(data.keys);
  const more = Number(data.moreKeys ?? '0');
  return (
    <MethodShell title="Sign in with SSH" client={client} me={me} problem={page.problem}>
      <p>
        Your site links to SSH public keys at <code>{data.keyUrl}</code>. Latchkey found:
      </p>
      <ul id="keys">
        {keys.map((key) => (
          <li>
            <code>{key.fingerprint}</code> {key.type}
            {key.comment ? <span class="muted"> ({key.comment})</span> : null}
          </li>
        ))}
        {more > 0 ? <li>and {more} more</li> : null}
      </ul>
      <p>Sign this challenge with one of those keys:</p>
      <pre id="challenge">{data.challenge}</pre>
      <p>
        Run this in a terminal and paste everything it prints. <code>-f</code> names your private key file:
        the one next to the <code>.pub</code> file your site lists, such as <code>{data.keyFile}</code>.{' '}
        <code>-n {data.namespace}</code> says the signature is for this service only.
      </p>
      <pre id="command">
        <code>{data.command}</code>
      </pre>
      <details>
        <summary>Other ways to sign</summary>
        <p>
          If your key lives in <code>ssh-agent</code> or on a security key, <code>-f</code> may name its{' '}
          <code>.pub</code> file instead.
        </p>
        <p>
          Or save the challenge as <code>challenge.txt</code> and run <code>{data.fileCommand}</code>; paste
          the contents of <code>challenge.txt.sig</code> it writes.
        </p>
      </details>
      <form method="post" action={action} class="stack">
        <Step token={page.step} />
        <label for="signature">SSH signature</label>
        <p id="signature-hint" class="muted">
          From <code>-----BEGIN SSH SIGNATURE-----</code> to <code>-----END SSH SIGNATURE-----</code>. The
          challenge works once, for 10 minutes.
        </p>
        <textarea
          id="signature"
          name="signed"
          rows={8}
          spellcheck={false}
          autocomplete="off"
          aria-describedby="signature-hint"
          required
        ></textarea>
        <button type="submit">Verify signature</button>
      </form>
    </MethodShell>
  );
};

export const sshViews = { ssh: ChallengePage } as const;
