/** The email method's pages: send a code, then type it (works without JavaScript). */
import { MethodShell, Step } from '../../../views/sign-in-parts.js';
import type { MethodView } from '../../types.js';

const SendPage: MethodView = ({ client, me, page, action }) => (
  <MethodShell title="Sign in by email" client={client} me={me} problem={page.problem}>
    <p>
      Your site links to <strong>{page.data.address}</strong>. Latchkey will email a one-time code there.
    </p>
    <form method="post" action={action} class="stack">
      <Step token={page.step} />
      <button type="submit">Send me a code</button>
    </form>
  </MethodShell>
);

const CodePage: MethodView = ({ client, me, page, action }) => (
  <MethodShell title="Enter the code" client={client} me={me} problem={page.problem}>
    <p>
      A code is on its way to <strong>{page.data.address}</strong>. It works for 10 minutes, in this browser.
    </p>
    <form method="post" action={action} class="stack">
      <Step token={page.step} />
      <label for="code">Code from the email</label>
      <input
        id="code"
        name="code"
        type="text"
        autocomplete="one-time-code"
        autocapitalize="characters"
        spellcheck={false}
        required
      />
      <button type="submit">Sign in</button>
    </form>
  </MethodShell>
);

export const emailViews = { 'email-send': SendPage, 'email-code': CodePage } as const;
