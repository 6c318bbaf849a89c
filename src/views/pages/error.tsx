/**
 * An error page for people (PROTOCOL §12): what went wrong in plain words and what to do next; never a
 * stack trace or a secret. All text is escaped by JSX (SECURITY E7).
 */
import { Layout } from '../layout.js';

export interface ErrorPageProps {
  title: string;
  /** What went wrong, in plain words. */
  message: string;
  /** What to do about it. */
  next?: string | undefined;
  /** Where to start the same sign-in again. */
  startAgain?: string | undefined;
  /** The mistake is the client developer's: point to the docs. */
  developer?: boolean | undefined;
}

export function ErrorPage({ title, message, next, startAgain, developer }: ErrorPageProps) {
  return (
    <Layout title={title}>
      <h1>{title}</h1>
      <p class="problem">{message}</p>
      {next ? <p>{next}</p> : null}
      {startAgain ? (
        <p>
          <a href={startAgain}>Start this sign-in again</a>
        </p>
      ) : null}
      {developer ? (
        <p>
          Developers: the <a href="/docs">developer documentation</a> lists every parameter and rule.
        </p>
      ) : null}
      <p>
        <a href="/">Go to the Latchkey home page</a>
      </p>
    </Layout>
  );
}
