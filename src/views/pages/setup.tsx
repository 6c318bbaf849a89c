/**
 * Set up your site: the exact HTML each sign-in method needs, one section per method. Error pages
 * link to the anchors (/setup#email, /setup#pgp, …), so the ids are part of the contract.
 */
import type { MethodSetup } from '../../signin/types.js';
import { Layout } from '../layout.js';

export interface SetupProps {
  /** The configured public base URL (the OAuth issuer), ending in `/`. */
  issuer: string;
  /** The sections of the providers this server offers, from their folders, in registry order. */
  providers?: readonly MethodSetup[];
}

export function Code({ children }: { children: string }) {
  // Focusable, so a block wider than the screen can be scrolled from the keyboard (axe
  // scrollable-region-focusable, WCAG 2.1.1).
  // Not a named region: a page has dozens of these, and landmarks with one name would be noise
  // (axe landmark-unique); focused, a <pre> is read by its content.
  return (
    <pre tabindex={0}>
      <code>{children}</code>
    </pre>
  );
}

export function SetupPage({ issuer, providers = [] }: SetupProps) {
  const at = (path: string) => new URL(path, issuer).href;
  const serviceHost = new URL(issuer).host;
  return (
    <Layout title="Set up your site" wide>
      <h1>Set up your site</h1>
      <p>
        Latchkey signs you in with your own web address. When you type it, Latchkey fetches that page and
        reads its links: <code>&lt;link&gt;</code> and <code>&lt;a&gt;</code> elements in the HTML, and HTTP{' '}
        <code>Link</code> headers. It follows permanent redirects (301, 308) and treats the address it ends up
        at as you. Add one of the snippets below to your home page, inside <code>&lt;head&gt;</code> for{' '}
        <code>&lt;link&gt;</code> elements or anywhere in the page for <code>&lt;a&gt;</code> links.
      </p>
      <nav aria-label="Sign-in methods">
        <ul>
          <li>
            <a href="#indieauth">Use your own IndieAuth server</a>
          </li>
          <li>
            <a href="#email">Sign in by email</a>
          </li>
          <li>
            <a href="#pgp">Sign in with a PGP key</a>
          </li>
          {providers.map((provider) => (
            <li>
              <a href={`#${provider.id}`}>{provider.title}</a>
            </li>
          ))}
          <li>
            <a href="#authn">Choose which links are used: rel="authn"</a>
          </li>
          <li>
            <a href="#latchkey-as-server">Use Latchkey as your site's IndieAuth server</a>
          </li>
          <li>
            <a href="#token-endpoint">Use Latchkey only as your token endpoint</a>
          </li>
          <li>
            <a href="#passkeys">Sign in with a passkey</a>
          </li>
        </ul>
      </nav>

      <h2 id="indieauth">Use your own IndieAuth server</h2>
      <p>
        If you already run an IndieAuth server (for example selfauth, or one built into your website), point
        your home page at it with its metadata document:
      </p>
      <Code>{'<link rel="indieauth-metadata" href="https://auth.you.example/metadata">'}</Code>
      <p>or, for older servers, with its authorization endpoint:</p>
      <Code>{'<link rel="authorization_endpoint" href="https://auth.you.example/auth">'}</Code>
      <p>
        Latchkey then sends you to your server to sign in, and checks its answer: the returned address must be
        yours, or name the same authorization endpoint. When your site names its own IndieAuth server, that is
        the only way Latchkey signs you in; your other links are not used.
      </p>

      <h2 id="email">Sign in by email</h2>
      <p>
        Link to your email address with <code>rel="me"</code>, as a visible link:
      </p>
      <Code>{'<a rel="me" href="mailto:you@example.com">Email me</a>'}</Code>
      <p>or as a link element in the page's head:</p>
      <Code>{'<link rel="me" href="mailto:you@example.com">'}</Code>
      <p>
        Latchkey emails a one-time code to that address; type it into the sign-in page. The code expires after
        10 minutes and you have 5 tries. Either way, your address is in your page for anyone to read.
      </p>

      <h2 id="pgp">Sign in with a PGP key</h2>
      <p>Publish your public key on your site, for example:</p>
      <Code>{'gpg --armor --export you@example.com > key.asc'}</Code>
      <p>
        Upload <code>key.asc</code> next to your home page and link to it:
      </p>
      <Code>{'<link rel="pgpkey" href="/key.asc">'}</Code>
      <p>
        When you sign in, Latchkey shows a challenge: a short text that names {serviceHost}, your site and a
        random value. Copy it exactly and save it as <code>challenge.txt</code>, then sign it:
      </p>
      <Code>{'gpg --clearsign challenge.txt'}</Code>
      <p>
        This writes <code>challenge.txt.asc</code>. Paste its whole contents, from{' '}
        <code>-----BEGIN PGP SIGNED MESSAGE-----</code> to <code>-----END PGP SIGNATURE-----</code>, into the
        sign-in page. If you have several keys, choose the one you published with{' '}
        <code>gpg --local-user you@example.com --clearsign challenge.txt</code>. A challenge works once and
        for 10 minutes.
      </p>

      {providers.map(({ id, title, Section }) => (
        <section aria-labelledby={id}>
          <h2 id={id}>{title}</h2>
          <Section issuer={issuer} serviceHost={serviceHost} />
        </section>
      ))}

      <h2 id="authn">Choose which links are used: rel="authn"</h2>
      <p>
        Your page may have many <code>rel="me"</code> links. If any link carries <code>rel="authn"</code>,
        Latchkey offers only the <code>rel="authn"</code> links for signing in:
      </p>
      <Code>
        {
          '<a rel="me authn" href="mailto:you@example.com">Email me</a>\n<a rel="me" href="https://social.example/@you">Me elsewhere</a>'
        }
      </Code>
      <p>Here, only the email address is used to sign you in.</p>

      <h2 id="latchkey-as-server">Use Latchkey as your site's IndieAuth server</h2>
      <p>
        To sign in to IndieWeb apps (Micropub clients and others) with your site and give them access tokens
        through this server, add to your home page:
      </p>
      <Code>
        {[
          `<link rel="indieauth-metadata" href="${at('.well-known/oauth-authorization-server')}">`,
          `<link rel="authorization_endpoint" href="${at('authorize')}">`,
          `<link rel="token_endpoint" href="${at('token')}">`,
        ].join('\n')}
      </Code>
      <p>
        The first line is what current apps look for; the other two are for older apps. Keep at least one of
        the sign-in methods above (<a href="#email">email</a> or <a href="#pgp">PGP</a>) on your page as well:
        Latchkey proves it is you through them. When an app asks for access, Latchkey shows you which app it
        is and what it asks for, and you decide.
      </p>

      <h2 id="token-endpoint">Use Latchkey only as your token endpoint</h2>
      <p>
        If you run your own authorization endpoint and only want Latchkey to issue and check access tokens
        (what Mintoken did), add this next to your <code>authorization_endpoint</code> link:
      </p>
      <Code>{`<link rel="token_endpoint" href="${at('token')}">`}</Code>
      <p>
        Latchkey verifies the codes your authorization endpoint issues by asking it, and it only asks
        endpoints its operator trusts. Ask the operator of this server to run{' '}
        <code>latchkey trust add https://you.example/auth</code> with your authorization endpoint's address.
      </p>

      <h2 id="passkeys">Sign in with a passkey</h2>
      <p>
        A passkey lets you sign in with your device's screen lock instead of a code or a provider. Add one on{' '}
        <a href="/account">your sign-ins and apps</a> within ten minutes of signing in with one of the ways
        above (not with "Continue as"). Keep the link that proved your site (or keep naming this server as
        your IndieAuth server): a passkey stops working for a site that drops it. Adding and using a passkey
        needs JavaScript in the browser.
      </p>

      <h2 id="check">Check your setup</h2>
      <p>
        Operators can see what Latchkey finds on a site, and why, with{' '}
        <code>latchkey doctor https://your.site/</code>. Developers can read how websites use Latchkey in the{' '}
        <a href="/docs">developer docs</a>.
      </p>
    </Layout>
  );
}
