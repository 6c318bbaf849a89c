/** The home page: what this server is and what it offers today. */
import { Layout } from '../layout.js';

export interface HomeProps {
  issuer: string;
}

export function HomePage({ issuer }: HomeProps) {
  const token = new URL('token', issuer).href;
  return (
    <Layout title="Sign in with your own website">
      <h1>Sign in with your own website</h1>
      <p>
        Latchkey lets people prove they own a website and use it to sign in anywhere, and gives IndieWeb apps
        such as Micropub clients the access tokens they need.
      </p>
      <h2>Use it as your token endpoint</h2>
      <p>
        If you run your own authorization endpoint (for example selfauth) and this server's operator trusts
        it, add this to the pages where you link your authorization endpoint:
      </p>
      <pre>
        <code>{`<link rel="token_endpoint" href="${token}">`}</code>
      </pre>
      <p>
        Apps then exchange the codes your authorization endpoint issues for access tokens here, and your
        Micropub endpoint checks them with <code>GET {token}</code>.
      </p>
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
    </Layout>
  );
}
