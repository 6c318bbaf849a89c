/** Privacy: what this server stores, the one cookie, what it fetches, and for how long. */
import { Layout } from '../layout.js';

export function PrivacyPage() {
  return (
    <Layout title="Privacy">
      <h1>Privacy</h1>
      <p>
        Latchkey keeps only what it needs to sign you in and to let the apps you approve act for your site.
      </p>

      <h2 id="stored">What is stored</h2>
      <ul>
        <li>
          Your site's address, and the method you used to prove it (your own IndieAuth server, email or PGP).
        </li>
        <li>
          The apps you sign in to: their <code>client_id</code> (a URL), the name they publish, and the scopes
          you grant them.
        </li>
        <li>
          Codes and tokens only as SHA-256 hashes. The codes and tokens themselves are never stored, so
          whoever reads the database cannot use them.
        </li>
        <li>
          If you sign in by email: the address the one-time code is sent to, with a hash of that code, until
          the code expires. An app receives your email address only when it asks for the <code>email</code>{' '}
          scope and you approve.
        </li>
        <li>
          Your name, photo and URL as your site publishes them, given to an app only when it asks for the{' '}
          <code>profile</code> scope and you approve.
        </li>
      </ul>

      <h2 id="cookies">Cookies</h2>
      <p>
        One cookie: a signed, HttpOnly, SameSite=Lax session cookie that remembers who you proved to be in
        this browser. (The demo on the home page sets a second, short-lived cookie of its own while you try
        it.) There is no tracking, no analytics and no advertising. Pages load no scripts or fonts from other
        sites; the only outside image is an app's logo on the consent page, when the app publishes one over
        https.
      </p>

      <h2 id="logs">Logs</h2>
      <p>
        The server writes structured logs of what happened (for example "code redeemed" with the site and app
        involved). Logs never contain tokens, codes, secrets or email codes.
      </p>

      <h2 id="fetches">What Latchkey fetches</h2>
      <p>To do its job, Latchkey itself requests these pages, from its own server (not from your browser):</p>
      <ul>
        <li>your site's home page, to find how you can sign in;</li>
        <li>
          the app's <code>client_id</code> URL, to show you its name and logo;
        </li>
        <li>your PGP key, when you sign in with PGP;</li>
        <li>your own IndieAuth server, when your site names one.</li>
      </ul>

      <h2 id="retention">How long</h2>
      <p>
        Codes, tokens and email codes stop working when they expire, and expired entries are deleted from the
        database automatically. Revoking a token ends it at once.
      </p>

      <h2 id="contact">Questions and requests</h2>
      <p>
        Latchkey is software that anyone can run. To see or delete what this server holds about you, ask the
        operator of this server.
      </p>
    </Layout>
  );
}
