/**
 * Developer docs: how a website signs people in with Latchkey, and how apps get access tokens. The
 * IndieAuth.com developer page (seed 003) rewritten for Latchkey. Every URL shown is built from the
 * configured issuer; the demo form really works against this server.
 */
import { Layout } from '../layout.js';

/** RFC 7636 Appendix B: a verifier and its S256 challenge. Public, so only for the demo. */
export const DEMO_CODE_VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
export const DEMO_CODE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
export const DEMO_STATE = 'latchkey-docs-demo';

export interface DocsProps {
  /** The configured public base URL (the OAuth issuer), ending in `/`. */
  issuer: string;
  /** How long an authorization code lasts, in words ("60 seconds"). */
  codeLifetime: string;
  /** Access-token lifetime in seconds (the example's `expires_in`). */
  tokenTtl: number;
  /** Whether this server issues refresh tokens. */
  refreshTokens: boolean;
  /** The sign-in methods this server offers, by name. */
  offered?: ReadonlyArray<{ name: string }>;
}

const APP = 'https://app.example/';
const APP_CALLBACK = 'https://app.example/callback';
const ME = 'https://alice.example/';
const EXAMPLE_CODE = 'Wm9xbV8yc2Q4Q3JfVnA1dTFnSGZLQmN0TjZ5eEpsUWE';
const EXAMPLE_STATE = 'f3Xq9pZ1kR7tV0bN';

function Code({ children }: { children: string }) {
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

/** `POST <path> HTTP/1.1` with Host and form headers, for the issuer's host and path. */
function postRequest(
  issuer: string,
  path: string,
  body: Record<string, string>,
  extra: string[] = [],
): string {
  const url = new URL(path, issuer);
  return [
    `POST ${url.pathname} HTTP/1.1`,
    `Host: ${url.host}`,
    'Content-Type: application/x-www-form-urlencoded;charset=UTF-8',
    'Accept: application/json',
    ...extra,
    '',
    new URLSearchParams(body).toString(),
  ].join('\n');
}

function jsonResponse(status: string, body: unknown, noStore = true): string {
  return [
    `HTTP/1.1 ${status}`,
    'Content-Type: application/json',
    ...(noStore ? ['Cache-Control: no-store'] : []),
    '',
    JSON.stringify(body, null, 2),
  ].join('\n');
}

export function DocsPage({ issuer, codeLifetime, tokenTtl, refreshTokens, offered = [] }: DocsProps) {
  const at = (path: string) => new URL(path, issuer).href;
  const authorize = at('authorize');
  const token = at('token');
  const demoCallback = at('demo/callback');
  const host = new URL(issuer).host;

  const signInForm = `<form action="${authorize}" method="get">
  <label for="me">Your website</label>
  <input id="me" type="text" name="me" placeholder="https://alice.example/">
  <button type="submit">Sign in</button>
  <input type="hidden" name="client_id" value="${APP}">
  <input type="hidden" name="redirect_uri" value="${APP_CALLBACK}">
  <input type="hidden" name="state" value="${EXAMPLE_STATE}">
  <input type="hidden" name="code_challenge" value="${DEMO_CODE_CHALLENGE}">
  <input type="hidden" name="code_challenge_method" value="S256">
  <input type="hidden" name="response_type" value="code">
</form>`;

  const makePkce = `import { createHash, randomBytes } from 'node:crypto';

const state = randomBytes(16).toString('base64url');
const codeVerifier = randomBytes(32).toString('base64url'); // 43 characters
const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
// Keep state and codeVerifier in the visitor's session; put state and codeChallenge in the form.`;

  const redirectBack = `${APP_CALLBACK}?code=${EXAMPLE_CODE}&state=${EXAMPLE_STATE}&iss=${encodeURIComponent(issuer)}`;

  const redeemBody = {
    grant_type: 'authorization_code',
    code: EXAMPLE_CODE,
    client_id: APP,
    redirect_uri: APP_CALLBACK,
    code_verifier: DEMO_CODE_VERIFIER,
  };
  const { grant_type: _grantType, ...legacyBody } = redeemBody;

  const demoCurl = `curl ${token} \\
  -d grant_type=authorization_code \\
  -d code=THE_CODE \\
  -d client_id=${issuer} \\
  -d redirect_uri=${demoCallback} \\
  -d code_verifier=${DEMO_CODE_VERIFIER}`;

  const tokenAnswer = {
    access_token: 'mF4q3KzT8yW1xVb0sJ7dR2nL5cH9gP6aE4uQ0oZ1iYk',
    token_type: 'Bearer',
    scope: 'create update media',
    me: ME,
    expires_in: tokenTtl,
    ...(refreshTokens ? { refresh_token: 'r8Tn2WqX5vJ0cM7bK1yH4sL9dF3gA6eP2uZ0oQ5iNwE' } : {}),
  };

  return (
    <Layout title="Developer docs" wide>
      <h1>Sign people in with Latchkey</h1>
      <p>
        If you are building a website and need to sign people in, Latchkey can do it for you: people sign in
        with their own web address, and you get back that address as their identity. You do not write code for
        each sign-in method, and you do not need to register your website anywhere. Latchkey speaks{' '}
        <a href="https://indieauth.spec.indieweb.org/">IndieAuth</a>, which is OAuth 2.0 with web addresses as
        identities.
      </p>
      <p>
        This server's address (its OAuth issuer) is <code>{issuer}</code>. The examples below use it, with{' '}
        <code>{APP}</code> standing for your website and <code>{ME}</code> for the person signing in.
      </p>
      <nav aria-label="On this page">
        <ol>
          <li>
            <a href="#form">Create a sign-in form</a>
          </li>
          <li>
            <a href="#scan">Latchkey checks the person's site</a>
          </li>
          <li>
            <a href="#back">The person comes back to your site</a>
          </li>
          <li>
            <a href="#redeem">Redeem the code</a>
          </li>
          <li>
            <a href="#try">Try it here</a>
          </li>
          <li>
            <a href="#tokens">Apps that need access tokens (Micropub etc.)</a>
          </li>
        </ol>
      </nav>

      <h2 id="form">1. Create a sign-in form</h2>
      <p>
        Put a form on your site that sends the visitor to <code>{authorize}</code> with a GET request:
      </p>
      <Code>{signInForm}</Code>
      <ul>
        <li>
          <code>me</code>: the web address the person types, for example <code>{ME}</code>. Give the field a
          visible label.
        </li>
        <li>
          <code>client_id</code>: your website's home page URL. That is all the registration there is.
        </li>
        <li>
          <code>redirect_uri</code>: where Latchkey sends the person back. If its scheme, host or port differs
          from the <code>client_id</code>'s, the page or document at your <code>client_id</code> must list it
          (see the <a href="/faq#register">FAQ</a>).
        </li>
        <li>
          <code>state</code>: a new random value for every sign-in, kept in the visitor's session, so you can
          tell that the answer belongs to a sign-in you started.
        </li>
        <li>
          <code>code_challenge</code> and <code>code_challenge_method=S256</code>: PKCE, which this server
          requires by default. Make a new random <code>code_verifier</code> for every sign-in, keep it in the
          session, and send its SHA-256 hash, base64url-encoded without padding, as the challenge.
        </li>
        <li>
          <code>response_type=code</code>.
        </li>
      </ul>
      <p>For example, in Node.js:</p>
      <Code>{makePkce}</Code>

      <h2 id="scan">2. Latchkey checks the person's site</h2>
      <p>
        Latchkey fetches the address the person typed and reads the links on it (HTML{' '}
        <code>&lt;link&gt;</code> and <code>&lt;a&gt;</code> elements and HTTP <code>Link</code> headers). In
        this version it can sign the person in with:
      </p>
      <ul>
        <li>
          <strong>their own IndieAuth server</strong>, when the site names one; Latchkey sends them there and
          checks the answer;
        </li>
        <li>
          <strong>email</strong>, when the site links to an address with <code>rel="me"</code> and a{' '}
          <code>mailto:</code> link; Latchkey emails a one-time code (when its operator set up a mail server);
        </li>
        <li>
          <strong>PGP</strong> and <strong>SSH</strong> keys, when the site links to a public key with{' '}
          <code>rel="pgpkey"</code> or <code>rel="ssh-key"</code>; the person signs a challenge;
        </li>
        <li>
          <strong>GitHub, GitLab, Forgejo/Codeberg and Mastodon</strong> accounts linked with{' '}
          <code>rel="me"</code>, when that profile links back to the site; the person logs in there.
        </li>
      </ul>
      {offered.length > 0 ? (
        <p>This server offers: {offered.map((method) => method.name).join(', ')}.</p>
      ) : null}
      <p>
        If the site marks some links with <code>rel="authn"</code>, only those are offered. People can read
        how to set up their site on <a href="/setup">Set up your site</a>.
      </p>

      <h2 id="back">3. The person comes back to your site</h2>
      <p>
        When sign-in succeeds, Latchkey sends the person to your <code>redirect_uri</code> with{' '}
        <code>code</code>, <code>state</code> and <code>iss</code> added:
      </p>
      <Code>{`GET ${redirectBack}`}</Code>
      <p>
        Check that <code>state</code> is the value you stored for this visitor, and that <code>iss</code> is
        exactly <code>{issuer}</code>. If either is wrong, stop. If your request had a mistake Latchkey can
        report to you, or the person denied access, you get <code>error</code> and{' '}
        <code>error_description</code> (for example <code>error=access_denied</code>) instead of{' '}
        <code>code</code>, still with <code>state</code> and <code>iss</code>. A wrong <code>client_id</code>{' '}
        or <code>redirect_uri</code> is never redirected: the person sees an error page instead.
      </p>

      <h2 id="redeem">4. Redeem the code</h2>
      <p>
        Your server exchanges the code for the person's web address. The code works once and only for{' '}
        {codeLifetime}, so do this straight away. Send the same <code>client_id</code> and{' '}
        <code>redirect_uri</code> as in the form, and the <code>code_verifier</code> you kept.
      </p>
      <h3>The current form: POST to the token endpoint</h3>
      <Code>{postRequest(issuer, 'token', redeemBody)}</Code>
      <p>When no scope was asked for, the answer is the person's web address and no token:</p>
      <Code>{jsonResponse('200 OK', { me: ME })}</Code>
      <p>
        Errors are OAuth JSON with status 400, for example <code>{'{"error":"invalid_grant", …}'}</code> when
        the code is unknown, expired, already used, or the verifier does not match.
      </p>
      <h3>The IndieAuth.com form: POST to the authorization endpoint</h3>
      <p>
        The request IndieAuth.com documented also works: POST to <code>{at('auth')}</code> (or{' '}
        <code>{authorize}</code>) without <code>grant_type</code>. Send the <code>code_verifier</code> too:
        clients that use no PKCE at all work only if the operator of this server allows them.
      </p>
      <Code>{postRequest(issuer, 'auth', legacyBody)}</Code>
      <p>An example successful response:</p>
      <Code>{jsonResponse('200 OK', { me: ME })}</Code>
      <p>An example error response, for a code that is unknown or expired:</p>
      <Code>
        {jsonResponse('404 Not Found', {
          error: 'invalid_request',
          error_description: 'The code provided was not valid',
        })}
      </Code>
      <h3>Done</h3>
      <p>
        Use the <code>me</code> in the answer as the person's identity: it can differ from what they typed
        (Latchkey adds the trailing <code>/</code> and follows permanent redirects). Store it in your session
        and you are done. You do not need to care whether they proved it by email or PGP: their identity is
        their web address.
      </p>

      <h2 id="try">Try it here</h2>
      <p>
        This form is a working example, with this server playing the website: <code>client_id</code> is{' '}
        <code>{issuer}</code> and <code>redirect_uri</code> is <code>{demoCallback}</code>. It uses a fixed{' '}
        <code>state</code> (<code>{DEMO_STATE}</code>) and the example verifier from RFC 7636,{' '}
        <code>{DEMO_CODE_VERIFIER}</code>, whose challenge is <code>{DEMO_CODE_CHALLENGE}</code>. Both are
        public, which is fine for a demo and never acceptable in a real site.
      </p>
      <form method="get" action="/authorize" class="demo">
        <p>
          <label for="demo-me">Your website</label>
          <input
            id="demo-me"
            type="text"
            name="me"
            inputmode="url"
            autocomplete="url"
            autocapitalize="off"
            spellcheck={false}
            placeholder="https://you.example/"
            required
          />
        </p>
        <input type="hidden" name="client_id" value={issuer} />
        <input type="hidden" name="redirect_uri" value={demoCallback} />
        <input type="hidden" name="state" value={DEMO_STATE} />
        <input type="hidden" name="code_challenge" value={DEMO_CODE_CHALLENGE} />
        <input type="hidden" name="code_challenge_method" value="S256" />
        <input type="hidden" name="response_type" value="code" />
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
      <p>
        After you sign in, Latchkey sends you to <code>{demoCallback}</code> with <code>code</code>,{' '}
        <code>state</code> and <code>iss</code> in the address. Within {codeLifetime}, redeem the code:
      </p>
      <Code>{demoCurl}</Code>

      <h2 id="tokens">Apps that need access tokens (Micropub etc.)</h2>
      <p>
        Apps that post to a person's site or read from it need an access token, not only the person's address.
        Apps that follow the IndieAuth specification find this server from the person's site (see{' '}
        <a href="/setup#latchkey-as-server">Use Latchkey as your site's IndieAuth server</a>); the requests
        are the same as above, with these additions.
      </p>
      <h3>Ask for scope</h3>
      <p>
        Add <code>scope</code> to the form, for example{' '}
        <code>{'<input type="hidden" name="scope" value="create update media">'}</code> for Micropub, or{' '}
        <code>profile</code> and <code>email</code> for the person's name, photo and email address. After
        signing in, the person sees a consent page that names your app, its <code>client_id</code> and the
        scopes it asks for; they can untick scopes or deny. If they deny, you get{' '}
        <code>error=access_denied</code>.
      </p>
      <h3>Get the token</h3>
      <p>
        Redeem the code at <code>{token}</code> exactly as in step 4. Because the code has scope, the answer
        carries an access token:
      </p>
      <Code>{jsonResponse('200 OK', tokenAnswer)}</Code>
      <p>
        Read <code>scope</code> from the answer: it may be narrower than what you asked for.{' '}
        <code>expires_in</code> is in seconds. With the <code>profile</code> scope the answer also has a{' '}
        <code>profile</code> object (<code>name</code>, <code>url</code>, <code>photo</code>, and{' '}
        <code>email</code> with the <code>email</code> scope).
      </p>
      <h3>Refresh it</h3>
      {refreshTokens ? (
        <>
          <p>
            Before the access token expires, trade the refresh token for a new pair. The old refresh token
            stops working; using it again revokes the whole grant. You may ask for a narrower{' '}
            <code>scope</code>, never a wider one.
          </p>
          <Code>
            {postRequest(issuer, 'token', {
              grant_type: 'refresh_token',
              refresh_token: tokenAnswer.refresh_token ?? '',
              client_id: APP,
            })}
          </Code>
        </>
      ) : (
        <p>This server does not issue refresh tokens: when a token expires, the person signs in again.</p>
      )}
      <h3>Check a token (resource servers)</h3>
      <p>
        A Micropub endpoint or other resource server can ask Latchkey who a token belongs to by passing it on:
      </p>
      <Code>
        {[
          `GET ${new URL('token', issuer).pathname} HTTP/1.1`,
          `Host: ${host}`,
          'Authorization: Bearer mF4q3KzT8yW1xVb0sJ7dR2nL5cH9gP6aE4uQ0oZ1iYk',
          'Accept: application/json',
        ].join('\n')}
      </Code>
      <Code>{jsonResponse('200 OK', { me: ME, client_id: APP, scope: 'create update media' })}</Code>
      <p>
        A missing, expired or revoked token gets 401 with a <code>WWW-Authenticate: Bearer</code> header.
      </p>
      <p>
        Resource servers can also use token introspection (RFC 7662) at <code>{at('introspect')}</code>. It
        needs its own secret, which the operator of this server creates with{' '}
        <code>latchkey resource-server add NAME</code>:
      </p>
      <Code>
        {postRequest(issuer, 'introspect', { token: 'mF4q3KzT8yW1xVb0sJ7dR2nL5cH9gP6aE4uQ0oZ1iYk' }, [
          'Authorization: Bearer RESOURCE_SERVER_SECRET',
        ])}
      </Code>
      <Code>
        {jsonResponse('200 OK', {
          active: true,
          me: ME,
          client_id: APP,
          scope: 'create update media',
          exp: 1766620800 + tokenTtl,
          iat: 1766620800,
        })}
      </Code>
      <p>
        For any token that is not active the answer is exactly <code>{'{"active":false}'}</code>.
      </p>
      <h3>Revoke a token</h3>
      <p>
        When the person signs out of your app, POST <code>token=…</code> to <code>{at('revoke')}</code> (RFC
        7009). The answer is always 200. Revoking a refresh token also revokes the access tokens issued with
        it.
      </p>
      <h3>Read the person's profile</h3>
      <p>
        With a token that has the <code>profile</code> scope, <code>GET {at('userinfo')}</code> with{' '}
        <code>Authorization: Bearer …</code> returns <code>name</code>, <code>url</code> and{' '}
        <code>photo</code>; with the <code>email</code> scope also <code>email</code>.
      </p>
      <h3>Server metadata</h3>
      <p>
        Every endpoint and supported feature is listed in the metadata document at{' '}
        <a href="/.well-known/oauth-authorization-server">{at('.well-known/oauth-authorization-server')}</a>.
      </p>

      <h2 id="providers">For operators: provider callback URLs</h2>
      <p>
        To offer GitHub, GitLab or Forgejo sign-in, register an OAuth app with the provider using this
        callback (redirect) URL, then set its client ID and secret (README, "Configuration"):
      </p>
      <Code>
        {['github', 'gitlab', 'forgejo']
          .map((id) => `${id.padEnd(8)} ${at(`signin/${id}/callback`)}`)
          .join('\n')}
      </Code>
      <p>
        Mastodon and compatible servers need nothing: Latchkey registers itself with each server the first
        time someone signs in with it, using <code>{at('signin/mastodon/callback')}</code>. SSH keys need
        nothing either.
      </p>
    </Layout>
  );
}
