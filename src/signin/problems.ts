/**
 * Every problem page of the sign-in flow, in plain words (PROTOCOL §12): what went wrong and what
 * to do next. Developer mistakes are addressed to the developer.
 */
import type { ProblemScreen } from './screens.js';

export const STALE: ProblemScreen = {
  kind: 'problem',
  title: 'This sign-in page has expired',
  message: 'The page was already used, is more than 30 minutes old, or belongs to another browser.',
  next: 'Go back to the website you were signing in to and start again.',
  status: 400,
};

export const START_AGAIN = 'Go back to the website you were signing in to and start again.';

export function developerProblem(reason: string): ProblemScreen {
  return {
    kind: 'problem',
    title: 'This sign-in link is broken',
    message: reason,
    next:
      'The website that sent you here made a mistake in its sign-in request. If you run that website, ' +
      'see the developer documentation; otherwise, let its owner know.',
    status: 400,
    developer: true,
  };
}

export function tooManySignIns(minutes: number): ProblemScreen {
  return {
    kind: 'problem',
    title: 'Too many sign-ins',
    message: 'Too many sign-ins were started from your network in the last few minutes.',
    next: `Wait about ${minutes} minutes, then try again.`,
    status: 429,
  };
}

export function clientNotAllowed(reason: string): ProblemScreen {
  return { kind: 'problem', title: 'This app is not allowed here', message: reason, status: 403 };
}

export function notOffered(): ProblemScreen {
  return { ...STALE, title: 'Choose one of the offered ways', message: 'That choice was not on the page.' };
}

export function consentTampered(field: string, startAgain: string): ProblemScreen {
  return {
    kind: 'problem',
    title: 'The consent form was changed',
    message: `The form carried "${field.slice(0, 60)}", which this page did not offer, so nothing was approved.`,
    next: START_AGAIN,
    startAgain,
    status: 400,
  };
}

export function stepFailed(
  outcome: { title: string; message: string; next?: string | undefined },
  startAgain: string,
): ProblemScreen {
  return {
    kind: 'problem',
    title: outcome.title,
    message: outcome.message,
    next: outcome.next ?? START_AGAIN,
    startAgain,
    status: 400,
  };
}

/**
 * The site has no https at all (nothing on its https port, or it does not speak TLS): said plainly,
 * with plain http left to the person's explicit choice (PROTOCOL §3), never taken automatically.
 */
export function noSecureConnection(host: string): string {
  return (
    `${host} doesn't answer over a secure connection (https). Check the address; if it is right ` +
    'and your site has no https yet, you can try plain http below.'
  );
}

/**
 * The site's certificate is wrong. Plain http is not offered here: a broken certificate can also
 * mean someone is intercepting the connection, and falling back would hand them the sign-in.
 */
export function badCertificate(host: string, reason: string): string {
  return (
    `${host} has a secure connection (https), but ${reason}. Latchkey does not sign in through a ` +
    'broken certificate, and does not switch to plain http instead, because a bad certificate can also ' +
    'mean someone is intercepting the connection. Fix the certificate (your host or certificate ' +
    'provider can renew or correct it), then try again.'
  );
}
