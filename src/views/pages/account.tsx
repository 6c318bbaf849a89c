/**
 * The person's account page (PROTOCOL §13): for the signed-in `me` only, the apps with access (name,
 * https logo and full client_id as recorded at grant time — remote text, escaped by hono/jsx, SECURITY
 * E7), the recent sign-ins with their evidence, and the browsers signed in as the site. No script;
 * every form is a plain POST with the session's CSRF token (E4), usable by keyboard, at phone width.
 */

import type { PasskeyView } from '../../account/passkeys.js';
import type { AppGrant, BrowserEntry, SignInEntry } from '../../account/service.js';
import { PASSKEY_SCRIPT_PATH } from '../../http/passkey-script.js';
import { displayUrl } from '../../indieauth/urls.js';
import { Layout } from '../layout.js';
import { Problem } from '../sign-in-parts.js';

export interface AccountPageProps {
  me: string;
  methodName: string;
  provenAt: number;
  csrf: string;
  grants: AppGrant[];
  signIns: SignInEntry[];
  browsers: BrowserEntry[];
  methodNames: (id: string) => string;
  passkeys: PasskeyView[];
  /** Undefined when this session may add a passkey; otherwise why not, in plain words (E9). */
  passkeyRefusal: string | undefined;
  notice?: string;
  problem?: string;
}

/** Times in UTC, to the minute: the page has no script to learn the reader's time zone. */
function When({ at }: { at: number }) {
  const iso = new Date(at * 1000).toISOString();
  return <time datetime={iso}>{`${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`}</time>;
}

function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="csrf" value={token} />;
}

function GrantCard({
  grant,
  csrf,
  methodNames,
}: {
  grant: AppGrant;
  csrf: string;
  methodNames: (id: string) => string;
}) {
  const name = grant.clientName ?? displayUrl(grant.clientId);
  const headingId = `app-${grant.id}`;
  return (
    <li class="card" aria-labelledby={headingId}>
      <div class="client">
        {grant.clientLogo?.startsWith('https:') ? (
          <img src={grant.clientLogo} alt="" width="48" height="48" />
        ) : null}
        <p>
          <strong id={headingId}>{name}</strong>
        </p>
      </div>
      <dl class="facts">
        <dt>App address (client_id)</dt>
        <dd>
          <code>{grant.clientId}</code>
        </dd>
        <dt>Allowed to</dt>
        <dd>
          {grant.scope.length > 0 ? grant.scope.map((s) => <code class="scope">{s}</code>) : 'sign you in'}
        </dd>
        <dt>Allowed on</dt>
        <dd>
          <When at={grant.createdAt} />
          {grant.authMethod ? (
            <span class="muted"> (you proved your site by {methodNames(grant.authMethod)})</span>
          ) : null}
        </dd>
        <dt>Last used</dt>
        <dd>{grant.lastUsedAt ? <When at={grant.lastUsedAt} /> : 'not yet'}</dd>
        <dt>Access ends</dt>
        <dd>{grant.expiresAt ? <When at={grant.expiresAt} /> : 'when its tokens run out'}</dd>
      </dl>
      <form method="post" action="/account/revoke">
        <Csrf token={csrf} />
        <input type="hidden" name="grant" value={grant.id} />
        <button type="submit" class="secondary" aria-label={`Revoke ${name}’s access`}>
          Revoke
        </button>
      </form>
    </li>
  );
}

export function AccountPage(props: AccountPageProps) {
  const site = displayUrl(props.me);
  return (
    <Layout title="Your sign-ins and apps">
      <h1>Your sign-ins and apps</h1>
      <p>
        Signed in as <strong>{site}</strong> <span class="muted">({props.methodName})</span> since{' '}
        <When at={props.provenAt} />. Only what belongs to {site} is shown here.
      </p>
      {props.notice ? (
        <p class="notice" role="status">
          {props.notice}
        </p>
      ) : null}
      <Problem text={props.problem} />

      <section aria-labelledby="apps">
        <h2 id="apps">Apps with access to your site</h2>
        {props.grants.length === 0 ? (
          <p>No app holds access to {site} right now.</p>
        ) : (
          <>
            <p class="muted">
              Revoking ends the app’s access and refresh tokens at once; it has to ask you again to get back
              in.
            </p>
            <ul class="cards">
              {props.grants.map((grant) => (
                <GrantCard grant={grant} csrf={props.csrf} methodNames={props.methodNames} />
              ))}
            </ul>
            <form method="post" action="/account/revoke-all">
              <Csrf token={props.csrf} />
              <button type="submit" class="secondary">
                Revoke all ({props.grants.length})
              </button>
            </form>
          </>
        )}
      </section>

      <section aria-labelledby="signins">
        <h2 id="signins">Recent sign-ins</h2>
        {props.signIns.length === 0 ? (
          <p>No sign-ins in the last 90 days.</p>
        ) : (
          <ul class="cards">
            {props.signIns.map((entry) => (
              <li class="card">
                <p>
                  <When at={entry.at} /> — <strong>{entry.clientName ?? displayUrl(entry.clientId)}</strong>{' '}
                  <span class="muted">({props.methodNames(entry.method)})</span>
                </p>
                <p class="muted">
                  <code>{entry.clientId}</code>
                </p>
                <p>{entry.evidence}</p>
              </li>
            ))}
          </ul>
        )}
        <p class="muted">Sign-ins are kept for 90 days.</p>
      </section>

      <section aria-labelledby="browsers">
        <h2 id="browsers">Browsers signed in as {site}</h2>
        {props.browsers.length === 0 ? (
          <p>No browser can "Continue as" {site} right now.</p>
        ) : (
          <ul class="cards">
            {props.browsers.map((browser) => (
              <li class="card">
                <p>
                  Proved <When at={browser.authenticatedAt} /> by {props.methodNames(browser.method)}; can
                  "Continue as" until <When at={browser.expiresAt} />.
                </p>
              </li>
            ))}
          </ul>
        )}
        <form method="post" action="/account/signout-everywhere" class="stack">
          <Csrf token={props.csrf} />
          <p class="muted">
            Every browser forgets {site} and has to prove it again. Apps keep their access until you revoke
            it.
          </p>
          <button type="submit" class="secondary">
            Sign out everywhere
          </button>
        </form>
      </section>

      <section aria-labelledby="passkeys">
        <h2 id="passkeys">Passkeys</h2>
        <p class="muted">
          A passkey signs you in as {site} with your fingerprint, face or PIN — no email or provider needed.
          It keeps working while {site} names this server as its authorization server, or still shows the link
          that proved it when you added the passkey.
        </p>
        {props.passkeys.length === 0 ? (
          <p>No passkey for {site} yet.</p>
        ) : (
          <ul class="cards">
            {props.passkeys.map((passkey, i) => (
              <li class="card">
                <p>
                  <strong>{passkey.name}</strong>
                </p>
                <p class="muted">
                  Added <When at={passkey.createdAt} /> (proved by{' '}
                  {passkey.registeredVia.link ?? 'your site naming this server'}); last used{' '}
                  {passkey.lastUsedAt ? <When at={passkey.lastUsedAt} /> : 'never'}.
                </p>
                <form method="post" action="/account/passkeys/rename" class="stack">
                  <Csrf token={props.csrf} />
                  <input type="hidden" name="passkey" value={passkey.id} />
                  <label for={`passkey-name-${i}`}>New name for {passkey.name}</label>
                  <input
                    id={`passkey-name-${i}`}
                    name="name"
                    type="text"
                    maxlength={60}
                    required
                    value={passkey.name}
                  />
                  <button type="submit" class="secondary">
                    Rename
                  </button>
                </form>
                <form method="post" action="/account/passkeys/remove">
                  <Csrf token={props.csrf} />
                  <input type="hidden" name="passkey" value={passkey.id} />
                  <button type="submit" class="secondary" aria-label={`Remove the passkey ${passkey.name}`}>
                    Remove
                  </button>
                </form>
              </li>
            ))}
          </ul>
        )}
        {props.passkeyRefusal ? (
          <p>
            {props.passkeyRefusal} <a href="/account/signin-again">Sign in again</a>
          </p>
        ) : (
          <p>
            <a href="/account/passkeys/new">Add a passkey</a> (needs JavaScript)
          </p>
        )}
      </section>

      <form method="post" action="/account/signout" class="stack">
        <Csrf token={props.csrf} />
        <button type="submit" class="secondary">
          Sign out of this page
        </button>
      </form>
    </Layout>
  );
}

export function AccountSignedOutPage({ me, everywhere }: { me: string; everywhere: boolean }) {
  const site = displayUrl(me);
  return (
    <Layout title="Signed out">
      <h1>{everywhere ? 'Signed out everywhere' : 'Signed out'}</h1>
      <p role="status">
        {everywhere
          ? `Every browser has forgotten ${site}: the next sign-in anywhere asks you to prove it again. Apps keep their access until you revoke it.`
          : `This browser is signed out of the account page for ${site}.`}
      </p>
      <p>
        <a href="/account">Sign in to your account page again</a>
      </p>
    </Layout>
  );
}

export interface PasskeyAddPageProps {
  me: string;
  csrf: string;
  options: string;
}

/** Adding a passkey: the one account page with a script (WebAuthn has no form-only way). */
export function PasskeyAddPage(props: PasskeyAddPageProps) {
  const site = displayUrl(props.me);
  return (
    <Layout title="Add a passkey">
      <h1>Add a passkey</h1>
      <p>
        Your device makes a passkey for {site} and asks for your fingerprint, face, or PIN. Next time, choose
        "Sign in with a passkey".
      </p>
      <noscript>
        <p class="problem">
          Adding a passkey needs JavaScript, and it is off in this browser. Turn it on and reload this page,
          or <a href="/account">go back to your account page</a>.
        </p>
      </noscript>
      <form
        method="post"
        action="/account/passkeys/register"
        class="stack"
        data-passkey="register"
        data-options={props.options}
        hidden
      >
        <Csrf token={props.csrf} />
        <input type="hidden" name="response" value="" />
        <label for="passkey-name">Name it (e.g. "Laptop")</label>
        <input id="passkey-name" name="name" type="text" maxlength={60} autocomplete="off" />
        <p data-status role="status" hidden></p>
        <button type="submit">Create the passkey</button>
      </form>
      <p>
        <a href="/account">Back to your account page</a>
      </p>
      <script src={PASSKEY_SCRIPT_PATH} defer></script>
    </Layout>
  );
}
