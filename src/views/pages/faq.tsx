/** Frequently asked questions: short, honest answers about what Latchkey does today. */
import { Layout } from '../layout.js';

export interface FaqProps {
  /** Lifetimes on this server, in words ("60 seconds", "7 days"). */
  codeLifetime: string;
  tokenLifetime: string;
  /** Undefined when this server issues no refresh tokens. */
  refreshTokenLifetime: string | undefined;
}

export function FaqPage({ codeLifetime, tokenLifetime, refreshTokenLifetime }: FaqProps) {
  return (
    <Layout title="Questions and answers">
      <h1>Questions and answers</h1>

      <h2 id="what">What is Latchkey?</h2>
      <p>
        A self-hosted <a href="https://indieauth.spec.indieweb.org/">IndieAuth</a> server. It lets people sign
        in to websites with their own web address, and gives IndieWeb apps, such as Micropub clients, the
        access tokens they need to act for a person's site. Anyone can run one; this is one of them.
      </p>

      <h2 id="register">Do websites need to register?</h2>
      <p>
        No. A website's <code>client_id</code> is its own URL, usually its home page. Latchkey fetches that
        URL to learn the app's name and logo: from a JSON metadata document (<code>client_id</code>,{' '}
        <code>client_name</code>, <code>logo_uri</code>, <code>redirect_uris</code>), or from an{' '}
        <code>h-app</code> in its HTML. If your <code>redirect_uri</code> is on another host, scheme or port
        than your <code>client_id</code>, list it there (<code>redirect_uris</code> in JSON, or{' '}
        <code>&lt;link rel="redirect_uri" href="…"&gt;</code> in HTML). See the{' '}
        <a href="/docs">developer docs</a>.
      </p>

      <h2 id="store">What does Latchkey store?</h2>
      <p>
        Your site's address and how you proved it; the apps you signed in to (their <code>client_id</code> and
        name) and the scopes you granted; and hashes of the codes and tokens it issues, never the codes or
        tokens themselves. Your browser keeps one session cookie. The <a href="/privacy">privacy page</a> has
        the details.
      </p>

      <h2 id="lifetimes">How long do codes and tokens last?</h2>
      <p>
        On this server: authorization codes {codeLifetime}, access tokens {tokenLifetime}
        {refreshTokenLifetime ? `, refresh tokens ${refreshTokenLifetime}` : ''}.
        {refreshTokenLifetime ? '' : ' This server does not issue refresh tokens.'} The defaults are 60
        seconds, 7 days and 30 days; the operator can change them.
      </p>

      <h2 id="pkce">Why PKCE?</h2>
      <p>
        The authorization code travels through the browser, where it can leak: into history, logs, or another
        app on the same device. With PKCE the website that started the sign-in keeps a secret{' '}
        <code>code_verifier</code> and sends only its hash, so a stolen code is useless without it. Latchkey
        requires PKCE with S256 by default, as current OAuth security advice (RFC 9700) recommends. The
        operator can allow older clients without it; the consent page then says so.
      </p>

      <h2 id="github">Why doesn't it find my GitHub (or Mastodon, GitLab, Codeberg)?</h2>
      <p>
        Latchkey needs two links: one on your site to the profile, marked <code>rel="me"</code>, and one back
        from the profile to your site (GitHub's website field, bio or social accounts; a Mastodon profile
        field or bio; GitLab's or Codeberg's website field). The address must be your site itself:{' '}
        <code>you.example</code> and <code>https://you.example/</code> count, a longer address that only
        contains it does not. GitHub, GitLab and Codeberg also need this server's operator to have set them
        up; Mastodon and SSH keys work everywhere. <a href="/setup">Set up your site</a> shows each one, and
        the sign-in page says which link is missing.
      </p>

      <h2 id="passkeys">Can I sign in with a passkey?</h2>
      <p>
        Yes, once you have proved your site another way. On <a href="/account">your sign-ins and apps</a>,
        right after signing in by email, a provider or a key, choose "Add a passkey"; later sign-ins for your
        site offer the passkey first. A passkey only works for the site it was added for, and only while that
        site still names this server as its IndieAuth server or keeps the link that proved it when you added
        the passkey, so a domain that changes hands does not keep working for its old owner. Passkey pages
        need JavaScript; every other page works without it.
      </p>

      <h2 id="signout">How do I sign out?</h2>
      <p>
        When you sign in, Latchkey remembers you in this browser with a session cookie that lasts 30 days, so
        next time it can offer to continue as you. To end that session, clear the cookie or use the Sign out
        button on the sign-in pages. Signing out of Latchkey does not sign you out of the websites you signed
        in to: each keeps its own session.
      </p>

      <h2 id="account">How do I see or revoke what I allowed?</h2>
      <p>
        Open <a href="/account">your sign-ins and apps</a> and sign in with your site. It lists every app that
        can act for your site, with what it may do and when it last did; "Revoke" cuts one off at once, access
        and refresh tokens alike, and "Revoke all" cuts them all off. It also shows your recent sign-ins with
        what proved each one, and the browsers that can "Continue as" your site, with "Sign out everywhere".
      </p>
    </Layout>
  );
}
