/** The PGP method's page: the challenge to clear-sign, and a box for the signed text. */
import { MethodShell, Step } from '../../../views/sign-in-parts.js';
import type { MethodView } from '../../types.js';

const ChallengePage: MethodView = ({ client, me, page, action }) => (
  <MethodShell title="Sign in with PGP" client={client} me={me} problem={page.problem}>
    <p>
      Your site links to the PGP key <code>{page.data.keyUrl}</code>. Sign this text with it:
    </p>
    <pre id="challenge">{page.data.challenge}</pre>
    <p>
      For example, save the text as <code>challenge.txt</code>, run <code>gpg --clearsign challenge.txt</code>
      , and paste the whole of <code>challenge.txt.asc</code> below.
    </p>
    <form method="post" action={action} class="stack">
      <Step token={page.step} />
      <label for="signed">Signed challenge</label>
      <textarea id="signed" name="signed" rows={12} spellcheck={false} required></textarea>
      <button type="submit">Verify signature</button>
    </form>
  </MethodShell>
);

export const pgpViews = { pgp: ChallengePage } as const;
