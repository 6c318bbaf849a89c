/**
 * The sign-in pages (PROTOCOL §9): the form, the chooser, "Continue as …", each method's step, the
 * "no way to sign in" page and the consent page. Views render what the service decided; every
 * remote string (client name, link text, addresses) is escaped by JSX (SECURITY E7), only `https:`
 * logos are shown, and every form works without JavaScript.
 */
import { raw } from 'hono/html';
import { displayUrl, internationalHost, isLoopbackHost } from '../../indieauth/urls.js';
import type { Link } from '../../net/links.js';
import type { Transport } from '../../signin/consent.js';
import type { ChooserOption } from '../../signin/screens.js';
import type { ClientView, IdentityView } from '../../signin/service.js';
import type { MethodView, Proof, StepPage } from '../../signin/types.js';
import { Layout } from '../layout.js';
import { ClientSummary, clientLabel, Problem, Step } from '../sign-in-parts.js';

function SiteForm({
  step,
  value,
  label,
  secondary,
  problemId,
}: {
  step: string;
  value?: string | undefined;
  label: string;
  /**
   * Shown under another main action ("Continue as …"): the button steps back visually and says
   * what it does instead, so the page has one clear primary action.
   */
  secondary?: boolean;
  /** The problem above the form that is about what was typed here. */
  problemId?: string | undefined;
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
        aria-describedby={problemId}
        aria-invalid={problemId ? 'true' : undefined}
        required
      />
      <button type="submit" class={secondary ? 'secondary' : undefined}>
        {secondary ? 'Sign in with a different site' : 'Sign in'}
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
  /** The plain-http address to offer when the typed site has no https at all (an explicit choice). */
  plainHttp?: string | undefined;
  startAgain: string;
}) {
  const returning = props.identities.length > 0 && props.continueStep !== undefined;
  return (
    <Layout title="Sign in">
      <h1>Sign in with your website</h1>
      <ClientSummary client={props.client} after="wants you to sign in with your website." />
      {returning ? (
        <form method="post" action="/signin/continue" class="stack">
          <Step token={props.continueStep ?? ''} />
          <p>This browser is signed in as:</p>
          {/* One clear primary action: the most recent identity; any others step back. */}
          {props.identities.map((identity, index) => (
            <button type="submit" name="me" value={identity.me} class={index === 0 ? undefined : 'secondary'}>
              Continue as {displayUrl(identity.me)}
            </button>
          ))}
        </form>
      ) : null}
      {returning ? <h2>Not you?</h2> : null}
      <Problem text={props.problem} id="site-problem" />
      {props.plainHttp ? <PlainHttpOffer step={props.step} url={props.plainHttp} /> : null}
      <SiteForm
        step={props.step}
        value={props.value}
        label={returning ? 'Or type another web address' : 'Your web address'}
        secondary={returning}
        problemId={props.problem ? 'site-problem' : undefined}
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

/**
 * The way on when a site has no https at all (PROTOCOL §3): the person chooses plain http with a
 * button, knowing what it means; Latchkey never falls back on its own.
 */
function PlainHttpOffer({ step, url }: { step: string; url: string }) {
  return (
    <form method="post" action="/signin/site" class="stack">
      <Step token={step} />
      <input type="hidden" name="me" value={url} />
      <p>
        If the address is right and your site only works over plain http, Latchkey can read it that way. Your
        site is then signed in as <code>{displayUrl(url)}</code>, and others on the network between Latchkey
        and your site could see or change what it sends.
      </p>
      <button type="submit" class="secondary">
        Try {displayUrl(url)} instead
      </button>
    </form>
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
      <ClientSummary client={props.client} after="wants you to sign in with your website." />
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
      <SiteForm step={props.otherStep} label="Or type another web address" secondary />
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

/** The loopback host the app is on, as written in its address (localhost, 127.0.0.1, [::1]). */
function loopbackHost(client: ClientView): string {
  const app = new URL(client.clientId);
  return isLoopbackHost(app.hostname) ? app.hostname : new URL(client.redirectUri).hostname;
}

export function ConsentPage(props: {
  step: string;
  client: ClientView;
  me: string;
  proof: Proof;
  methodName: string;
  scope: string[];
  noPkce: boolean;
  /** How the client_id and redirect_uri are reached (consent.ts decides). */
  transport: { clientId: Transport; redirectUri: Transport };
  describe: (scope: string) => string;
  /** The account page (PROTOCOL §13), where this access can be revoked later. */
  accountUrl?: string;
}) {
  const { client } = props;
  const { clientId: appTransport, redirectUri: backTransport } = props.transport;
  return (
    <Layout title="Allow access?">
      <h1>Allow {clientLabel(client)} to act for you?</h1>
      <ClientSummary client={client} verb="An app wants access to your site:" address={false} />
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
        <dt>Sends you back to (redirect_uri)</dt>
        <dd>
          <code>{client.redirectUri}</code>
          {client.redirectHostDiffers ? (
            <p class="problem">
              This address is on a different host from the app's own address. Make sure you trust it.
            </p>
          ) : null}
        </dd>
        <dt>Signed in as</dt>
        <dd>
          <strong>{displayUrl(props.me)}</strong> <span class="muted">({props.methodName})</span>
        </dd>
      </dl>
      {appTransport === 'http' || backTransport === 'http' ? (
        <p class="problem" role="alert">
          This app does not use a secure connection:{' '}
          {appTransport === 'http' && backTransport === 'http'
            ? 'its address and the address you are sent back to start'
            : appTransport === 'http'
              ? 'its address starts'
              : 'the address you are sent back to starts'}{' '}
          with plain <code>http:</code>. Others on the network could see what passes between you and the app,
          including the code that lets it act for you, or change it. Allow it only if you trust the app and
          the network you are on.
        </p>
      ) : appTransport === 'loopback' || backTransport === 'loopback' ? (
        <p class="notice">
          This app runs on this computer (its address is on <code>{loopbackHost(client)}</code>): a desktop
          app, or one its developer is trying out. Its plain <code>http:</code> address does not leave this
          machine.
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
