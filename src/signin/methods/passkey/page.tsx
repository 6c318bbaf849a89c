/**
 * The passkey method's page. It needs JavaScript (WebAuthn has no form-only way) and says so plainly
 * when it is off, with a way back to choose another method; the form stays hidden until the script runs.
 */
import { PASSKEY_SCRIPT_PATH } from '../../../http/passkey-script.js';
import { MethodShell, Step } from '../../../views/sign-in-parts.js';
import type { MethodView } from '../../types.js';

const PasskeyPage: MethodView = ({ client, me, page, action }) => (
  <MethodShell title="Sign in with a passkey" client={client} me={me} problem={page.problem}>
    <p>Your device asks for your fingerprint, face, or PIN, then signs you in as your site.</p>
    <noscript>
      <p class="problem">
        Passkeys need JavaScript, and it is off in this browser. Turn it on, or{' '}
        <a href={page.data.startAgain}>choose another way to sign in</a>.
      </p>
    </noscript>
    <form
      method="post"
      action={action}
      class="stack"
      data-passkey="authenticate"
      data-options={page.data.options}
      hidden
    >
      <Step token={page.step} />
      <input type="hidden" name="response" value="" />
      <p data-status role="status" hidden></p>
      <button type="submit">Use my passkey</button>
    </form>
    <p>
      <a href={page.data.startAgain}>Sign in another way</a>
    </p>
    <script src={PASSKEY_SCRIPT_PATH} defer></script>
  </MethodShell>
);

export const passkeyViews = { passkey: PasskeyPage } as const;
