/**
 * The sign-in pages (PROTOCOL §9): the form, the chooser, "Continue as …", each method's step, the
 * "no way to sign in" page and the consent page. Views render what the service decided; every
 * remote string (client name, link text, addresses) is escaped by JSX (SECURITY E7), only `https:`
 * logos are shown, and every form works without JavaScript.
 */
import { raw } from 'hono/html';
import { displayUrl, internationalHost } from '../../indieauth/urls.js';
import type { Link } from '../../net/links.js';
import type { ChooserOption } from '../../signin/screens.js';
import type { ClientView, IdentityView } from '../../signin/service.js';
import type { MethodView, Proof, StepPage } from '../../signin/types.js';
import { Layout } from '../layout.js';
import { ClientSummary, Problem, Step } from '../sign-in-parts.js';

/** A domain named in the client's display name that is not the client's own host (SECURITY E8). */
export function lookalikeName(client: ClientView): string | undefined {
  if (!client.name) return undefined;
  const host = new URL(client.clientId).hostname.toLowerCase();
  for (const match of client.name.toLowerCase().matchAll(/[a-z0-9-]+(?:\.[a-z0-9-]+)+/g)) {
    const named = match[0];
    if (named !== host && !host.endsWith(`.${named}`)) return named;
  }
  return undefined;
}

function SiteForm({
  step,
  value,
  label,
  secondary,
}: {
  step: string;
  value?: string | undefined;
  label: string;
  /** Shown under another main action ("Continue as …"): the button steps back visually. */
  secondary?: boolean;
}) {
  return (
    <form method="post" action="/signin/site" class="stack">
      <Step token={step} />
      <label for="me">{label}</label>
      <input
        id="me"
        name="me"
        type="text"
        inputmode="url"
        autocomplete="url"
        autocapitalize="none"
        spellcheck={false}
        placeholder="alice.example"
        value={value ?? ''}
        required
      />
      <button type="submit" class={secondary ? 'secondary' : undefined}>
        Sign in
      </button>
    </form>
  );
}

export function SignInFormPage(props: {
  step: string;
  client: ClientView;
  identities: IdentityView[];
  continueStep?: string | undefined;
  problem?: string | undefined;
  value?: string | undefined;
  startAgain: string;
}) {
  return (
    <Layout title="Sign in">
      <h1>Sign in with your website</h1>
      <ClientSummary client={props.client} verb="You are signing in to" />
      <Problem text={props.problem} />
      {props.identities.length > 0 && props.continueStep ? (
        <form method="post" action="/signin/continue" class="stack">
          <Step token={props.continueStep} />
          <p>This browser is signed in as:</p>
          {props.identities.map((identity) => (
            <button type="submit" name="me" value={identity.me} class="secondary">
              Continue as {displayUrl(identity.me)}
            </button>
          ))}
        </form>
      ) : null}
      <SiteForm
        step={props.step}
        value={props.value}
        label={props.identities.length > 0 ? 'Or type another web address' : 'Your web address'}
      />
      <p class="muted">
        Latchkey reads your site to find how you can prove it is yours. <a href="/setup">Set up your site</a>
      </p>
      {props.identities.length > 0 ? (
        <form method="post" action="/signout">
          <input type="hidden" name="next" value={props.startAgain} />
          <button type="submit" class="secondary">
            Sign out of Latchkey in this browser
          </button>
        </form>
      ) : null}
    </Layout>
  );
}

export function ContinuePage(props: {
  step: string;
  otherStep: string;
  client: ClientView;
  me: string;
  methodName: string;
}) {
  return (
    <Layout title={`Continue as ${displayUrl(props.me)}`}>
      <h1>Continue as {displayUrl(props.me)}?</h1>
      <ClientSummary client={props.client} verb="You are signing in to" />
      <p>
        This browser already proved <strong>{displayUrl(props.me)}</strong> with {props.methodName}.
      </p>
      <form method="post" action="/signin/continue" class="stack">
        <Step token={props.step} />
        <button type="submit" name="me" value={props.me}>
          Continue as {displayUrl(props.me)}
        </button>
      </form>
      <h2>Not you?</h2>
      <SiteForm step={props.otherStep} label="Sign in with another web address" secondary />
    </Layout>
  );
}

export function ChooserPage(props: {
  step: string;
  client: ClientView;
  me: string;
  options: ChooserOption[];
}) {
  return (
    <Layout title="Choose how to sign in">
      <h1>How do you want to prove {displayUrl(props.me)}?</h1>
      <ClientSummary client={props.client} verb="You are signing in to" />
      <p>Your site links to several ways of proving it is yours. Pick one:</p>
      <form method="post" action="/signin/choose" class="stack choices">
        <Step token={props.step} />
        {props.options.map((option) => (
          <button
            type="submit"
            name="candidate"
            value={String(option.index)}
            class="secondary choice"
            aria-describedby={`choice-hint-${option.index}`}
          >
            {option.icon ? (
              <span class="choice-icon" aria-hidden="true">
                {raw(option.icon)}
              </span>
            ) : null}
            <span class="choice-text">
              <span class="choice-label">{option.candidate.label}</span>
              <span class="choice-hint muted" id={`choice-hint-${option.index}`}>
                {option.candidate.hint ?? `${option.methodName}: ${option.candidate.link}`}
              </span>
            </span>
          </button>
        ))}
      </form>
    </Layout>
  );
}

/** A method's own page (its view comes from the method's folder, src/signin/methods/<id>/page.tsx). */
export function MethodPage(props: { client: ClientView; me: string; page: StepPage; view: MethodView }) {
  const View = props.view;
  return (
    <View
      client={props.client}
      me={props.me}
      page={props.page}
      action={`/signin/step/${props.page.stepKind}`}
    />
  );
}

export function NoMethodsPage(props: { me: string; links: Link[]; notes: string[]; startAgain: string }) {
  return (
    <Layout title="No way to sign in">
      <h1>Latchkey found no way to sign you in</h1>
      <p class="problem">
        {displayUrl(props.me)} does not link to anything Latchkey can use to prove it is yours.
      </p>
      {props.links.length > 0 ? (
        <>
          <p>These are the links Latchkey found:</p>
          <ul>
            {props.links.map((link) => (
              <li>
                <code>rel="{link.rel}"</code> → <code>{link.url}</code>
                {link.text ? <span class="muted"> ({link.text})</span> : null}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <p>Latchkey found no rel="me", rel="authn" or rel="pgpkey" links at all.</p>
      )}
      <details>
        <summary>What Latchkey noticed</summary>
        <ul>
          {props.notes.map((note) => (
            <li>{note}</li>
          ))}
        </ul>
      </details>
      <p>
        Add one of the links on <a href="/setup">the setup page</a> to your site, then{' '}
        <a href={props.startAgain}>try again</a>.
      </p>
    </Layout>
  );
}

export function ConsentPage(props: {
  step: string;
  client: ClientView;
  me: string;
  proof: Proof;
  methodName: string;
  scope: string[];
  noPkce: boolean;
  describe: (scope: string) => string;
  /** The account page (PROTOCOL §13), where this access can be revoked later. */
  accountUrl?: string;
}) {
  const { client } = props;
  const lookalike = lookalikeName(client);
  return (
    <Layout title="Allow access?">
      <h1>Allow {client.name ?? displayUrl(client.clientId)} to act for you?</h1>
      <ClientSummary client={client} verb="An app wants access to your site:" />
      <dl class="facts">
        <dt>App address (client_id)</dt>
        <dd>
          <code>{client.clientId}</code>
          {internationalHost(client.clientId) ? (
            <>
              {' '}
              <span class="muted">
                (shown as <code>{displayUrl(client.clientId)}</code>)
              </span>
            </>
          ) : null}
        </dd>
        {client.redirectHostDiffers ? (
          <>
            <dt>Sends you back to</dt>
            <dd>
              <code>{client.redirectUri}</code>
              <p class="problem">
                This address is on a different host from the app's own address. Make sure you trust it.
              </p>
            </dd>
          </>
        ) : null}
        <dt>Signed in as</dt>
        <dd>
          <strong>{displayUrl(props.me)}</strong> <span class="muted">({props.methodName})</span>
        </dd>
      </dl>
      {lookalike ? (
        <p class="problem" role="alert">
          The app calls itself "{client.name}", which names {lookalike}, but its address is{' '}
          {new URL(client.clientId).hostname}. It may not be who it says it is.
        </p>
      ) : null}
      {props.noPkce ? (
        <p class="problem">
          This app does not use PKCE, which makes a stolen code easier to use. Allow it only if you trust it.
        </p>
      ) : null}
      <form method="post" action="/signin/consent" class="stack">
        <Step token={props.step} />
        <fieldset>
          <legend>It asks for permission to:</legend>
          {props.scope.map((scope) => (
            <div class="check">
              <input type="checkbox" id={`scope-${scope}`} name={`scope.${scope}`} checked />
              <label for={`scope-${scope}`}>
                <code>{scope}</code> — {props.describe(scope)}
              </label>
            </div>
          ))}
        </fieldset>
        <p class="muted">Untick anything you do not want to allow.</p>
        {props.accountUrl ? (
          <p class="muted">
            You can revoke this later at <a href={props.accountUrl}>{props.accountUrl}</a>.
          </p>
        ) : null}
        <div class="actions">
          <button type="submit" name="decision" value="approve">
            Allow
          </button>
          <button type="submit" name="decision" value="deny" class="secondary">
            Deny
          </button>
        </div>
      </form>
    </Layout>
  );
}
