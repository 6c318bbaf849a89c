/**
 * The rule every signed-challenge method shares (PGP, SSH; SECURITY F8): a challenge lives 10
 * minutes and allows 5 tries, and every post counts as a try before anything else is looked at.
 */
import type { StepOutcome } from './types.js';

export const CHALLENGE_TTL = 10 * 60;
export const MAX_TRIES = 5;

export interface ChallengeState {
  issuedAt: number;
  tries: number;
}

export function tooManyTries(last?: string): Extract<StepOutcome, { kind: 'failed' }> {
  return {
    kind: 'failed',
    title: 'Too many attempts',
    message: `${MAX_TRIES} signatures were refused for this challenge.${last ? ` The last problem: ${last}` : ''}`,
    next: 'Go back to the website you were signing in to and start again for a new challenge.',
  };
}

/** One more try of a challenge: the state with the try counted, or why the challenge is over. */
export function takeChallengeTry<S extends ChallengeState>(
  state: S | undefined,
  now: number,
): { ok: true; counted: S } | { ok: false; outcome: StepOutcome } {
  if (!state) {
    return {
      ok: false,
      outcome: {
        kind: 'failed',
        title: 'This sign-in has no challenge',
        message: 'Start the sign-in again.',
      },
    };
  }
  if (now - state.issuedAt > CHALLENGE_TTL) {
    return {
      ok: false,
      outcome: {
        kind: 'failed',
        title: 'The challenge has expired',
        message: 'Challenges work for 10 minutes.',
        next: 'Go back to the website you were signing in to and start again for a new challenge.',
      },
    };
  }
  if (state.tries >= MAX_TRIES) return { ok: false, outcome: tooManyTries() };
  return { ok: true, counted: { ...state, tries: state.tries + 1 } };
}
