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
  next?: string;
}

export function ErrorPage({ title, message, next }: ErrorPageProps) {
  return (
    <Layout title={title}>
      <h1>{title}</h1>
      <p class="problem">{message}</p>
      {next ? <p>{next}</p> : null}
      <p>
        <a href="/">Go to the Latchkey home page</a>
      </p>
    </Layout>
  );
}
