/**
 * Pieces every sign-in page shares, the method pages in src/signin/methods/<id>/page.tsx included:
 * the app summary (SECURITY E7, E8), the problem line, the step token field and the method shell.
 */
import type { Child } from 'hono/jsx';
import { displayUrl, internationalHost } from '../indieauth/urls.js';
import type { ClientView } from '../signin/service.js';
import { Layout } from './layout.js';

export function ClientSummary({ client, verb }: { client: ClientView; verb: string }) {
  const name = client.name ?? displayUrl(client.clientId);
  return (
    <section class="client" aria-label="The app">
      {client.logoUri?.startsWith('https:') ? (
        <img src={client.logoUri} alt="" width="48" height="48" />
      ) : null}
      <p>
        {verb} <strong>{name}</strong>
        {client.name ? (
          <>
            <br />
            <span class="muted">
              at <code>{displayUrl(client.clientId)}</code>
            </span>
          </>
        ) : null}
      </p>
      <InternationalHostWarning url={client.clientId} />
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

export function Problem({ text }: { text?: string | undefined }) {
  return text ? (
    <p class="problem" role="alert">
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
