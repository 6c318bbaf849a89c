/**
 * Pieces every sign-in page shares, the method pages in src/signin/methods/<id>/page.tsx included:
 * the app summary (SECURITY E7, E8), the problem line, the step token field and the method shell.
 */
import type { Child } from 'hono/jsx';
import { displayUrl, internationalHost } from '../indieauth/urls.js';
import type { ClientView } from '../signin/service.js';
import { Layout } from './layout.js';

/** Longest client name shown; a longer one could push the host, which proves who it is, out of sight. */
export const MAX_SHOWN_NAME = 60;

/** The client_id's host as people read it (Unicode for an international name), with its port if any. */
export function clientHost(clientId: string): string {
  const url = new URL(clientId);
  const host = internationalHost(clientId)?.unicode ?? url.hostname;
  return url.port ? `${host}:${url.port}` : host;
}

/** The client's own name, bounded (SECURITY E7: remote text; JSX escapes it), or undefined. */
export function shownClientName(client: ClientView): string | undefined {
  if (!client.name) return undefined;
  const letters = Array.from(client.name);
  return letters.length <= MAX_SHOWN_NAME ? client.name : `${letters.slice(0, MAX_SHOWN_NAME - 1).join('')}…`;
}

/** What pages call the app: its name when the client_id document gives one, else its host. */
export function clientLabel(client: ClientView): string {
  return shownClientName(client) ?? clientHost(client.clientId);
}

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

/**
 * Who is asking: the app's name with its host always beside it, so a name alone cannot pass for
 * another app (SECURITY E8), e.g. "Quill (quill.p3k.io) wants you to sign in". `before`/`after` make
 * the sentence around the name; the full client_id follows unless the page lists it itself.
 */
export function ClientSummary({
  client,
  verb = '',
  after,
  address = true,
}: {
  client: ClientView;
  verb?: string;
  after?: string;
  /** False where the page shows the full client_id elsewhere (the consent page's facts). */
  address?: boolean;
}) {
  const name = shownClientName(client);
  const host = clientHost(client.clientId);
  const lookalike = lookalikeName(client);
  return (
    <section class="client" aria-label="The app">
      {client.logoUri?.startsWith('https:') ? (
        <img src={client.logoUri} alt="" width="48" height="48" />
      ) : null}
      <div class="client-text">
        <p>
          {verb ? `${verb} ` : null}
          <strong>{name ?? host}</strong>
          {name ? <span class="muted"> ({host})</span> : null}
          {after ? ` ${after}` : null}
        </p>
        {address ? (
          <p class="muted client-address">
            App address: <code>{displayUrl(client.clientId)}</code>
          </p>
        ) : null}
        <InternationalHostWarning url={client.clientId} />
        {lookalike ? (
          <p class="problem" role="alert">
            The app calls itself "{name}", which names {lookalike}, but its address is{' '}
            {new URL(client.clientId).hostname}. It may not be who it says it is.
          </p>
        ) : null}
      </div>
    </section>
  );
}

/**
 * SECURITY E8: an internationalised host is shown in both spellings, with a warning, because
 * letters of other alphabets can pass for a familiar name (`аpple.example` with a Cyrillic а).
 */
function InternationalHostWarning({ url }: { url: string }) {
  const host = internationalHost(url);
  return host ? (
    <p class="problem" role="alert">
      The app's address uses international letters: <code>{host.unicode}</code>, spelled{' '}
      <code>{host.ascii}</code> in plain letters. Letters from other alphabets can imitate a familiar name;
      make sure this is the app you meant.
    </p>
  ) : null;
}

export function Problem({ text, id }: { text?: string | undefined; id?: string }) {
  return text ? (
    <p class="problem" role="alert" id={id}>
      {text}
    </p>
  ) : null;
}

export function Step({ token }: { token: string }) {
  return <input type="hidden" name="step" value={token} />;
}

export function MethodShell(props: {
  title: string;
  client: ClientView;
  me: string;
  problem?: string | undefined;
  children?: Child;
}) {
  return (
    <Layout title={props.title}>
      <h1>{props.title}</h1>
      <ClientSummary client={props.client} verb={`Signing in as ${displayUrl(props.me)} to`} />
      <Problem text={props.problem} />
      {props.children}
    </Layout>
  );
}
