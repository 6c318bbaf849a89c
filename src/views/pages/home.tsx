/** The home page: what Latchkey is, a "try it" box that signs you in to Latchkey's own demo, and the three roles. */
import { Layout } from '../layout.js';

export interface HomeProps {
  issuer: string;
}

export function HomePage({ issuer }: HomeProps) {
  const at = (path: string) => new URL(path, issuer).href;
  return (
    <Layout title="Sign in with your own website">
      <h1>Sign in with your own website</h1>
      <p>
        Latchkey lets people prove they own a website and use it to sign in anywhere, and gives IndieWeb apps
        such as Micropub clients the access tokens they need.
      </p>
      <section aria-labelledby="try" class="try">
        <h2 id="try">Try it</h2>
        <form method="get" action="/demo/start" class="stack">
          <label for="try-me">Your web address</label>
          <input
            id="try-me"
            name="me"
            type="text"
            inputmode="url"
            autocomplete="url"
            autocapitalize="none"
            spellcheck={false}
            placeholder="alice.example"
            required
          />
          <button type="submit">Sign in to the demo</button>
        </form>
        <p class="muted">
          Your site needs a link Latchkey can check: see <a href="/setup">how to set up your site</a>.
        </p>
      </section>
      <p>
        Signed in with Latchkey before? <a href="/account">Your sign-ins and apps</a>: see which apps can act
        for your site and revoke them.
      </p>
      <h2>Three ways to use it</h2>
      <ul>
        <li>
          <strong>Websites</strong> add "sign in with your domain" with one form:{' '}
          <a href="/docs">developer docs</a>.
        </li>
        <li>
          <strong>People</strong> point their homepage at Latchkey to use Micropub and other IndieWeb apps:{' '}
          <a href="/setup#latchkey-as-server">use Latchkey as your IndieAuth server</a>.
        </li>
        <li>
          <strong>People with their own authorization endpoint</strong> (for example selfauth) use Latchkey's
          token endpoint, <code>{at('token')}</code>: <a href="/setup#token-endpoint">how</a>.
        </li>
      </ul>
      <h2>For developers</h2>
      <ul>
        <li>
          Server metadata:{' '}
          <a href="/.well-known/oauth-authorization-server">/.well-known/oauth-authorization-server</a>
        </li>
        <li>
          Health: <a href="/health">/health</a>
        </li>
      </ul>
      <div class="h-app" hidden>
        <a class="u-url p-name" href={issuer}>
          Latchkey
        </a>
      </div>
    </Layout>
  );
}
