/** The demo relying party's result pages (see src/http/demo.ts). */
import { displayUrl } from '../../indieauth/urls.js';
import { Layout } from '../layout.js';
import { DEMO_CODE_VERIFIER } from './docs.js';

export function DemoResultPage({ me }: { me: string }) {
  return (
    <Layout title="Signed in">
      <h1>You are signed in as {displayUrl(me)}</h1>
      <p>
        Latchkey checked that you control <strong>{displayUrl(me)}</strong> and sent you back to this demo
        with a code, which the demo redeemed for your web address. A website using Latchkey does exactly this.
      </p>
      <p>
        <a href="/docs">Add sign-in to your own website</a>
      </p>
      <form method="post" action="/signout">
        <button type="submit" class="secondary">
          Sign out of Latchkey in this browser
        </button>
      </form>
    </Layout>
  );
}

export function DemoCodePage({ code, issuer, callback }: { code: string; issuer: string; callback: string }) {
  const curl = `curl ${new URL('token', issuer).href} \\
  -d grant_type=authorization_code \\
  -d code=${code} \\
  -d client_id=${issuer} \\
  -d redirect_uri=${callback} \\
  -d code_verifier=${DEMO_CODE_VERIFIER}`;
  return (
    <Layout title="Your code" wide>
      <h1>Here is your code</h1>
      <p>You came back from the example form in the docs. Redeem the code within a minute:</p>
      {/* Focusable: the command is wider than a phone and scrolls (axe scrollable-region-focusable). */}
      {/* biome-ignore lint/a11y/useSemanticElements: the scrolling <pre> itself is the named region */}
      <pre tabindex={0} role="region" aria-label="Command to redeem the code">
        <code>{curl}</code>
      </pre>
      <p>The answer is your web address as JSON. The code works once.</p>
    </Layout>
  );
}
