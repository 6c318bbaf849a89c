/**
 * Passkeys (PROTOCOL §13, SECURITY E9): offered first for a site whose `me` has passkeys. Discovery
 * runs on every sign-in, so the candidate knows which passkeys still hold (the site names this
 * server, or still shows the link that proved it at registration); the challenge is bound to this
 * attempt and used once; user verification, RP ID and origin are checked by the library.
 */
import * as z from 'zod/mini';
import type { PasskeyService } from '../../../account/passkeys.js';
import type { Method } from '../../types.js';
import { PASSKEY_ICON } from './icon.js';
import { passkeyViews } from './page.js';

const PasskeyState = z.object({
  credentials: z.array(z.string()).check(z.maxLength(100)),
  startAgain: z.string(),
});
type PasskeyState = z.infer<typeof PasskeyState>;

export function passkeyMethod(passkeys: PasskeyService): Method<PasskeyState> {
  return {
    id: 'passkey',
    name: 'a passkey',
    icon: PASSKEY_ICON,
    steps: ['passkey.verify'],
    state: PasskeyState,
    views: passkeyViews,

    recognise: () => undefined,
    offerFirst: (site) => passkeys.candidate(site),

    async start(ctx, candidate) {
      const me = ctx.attempt.me ?? '';
      const startAgain = `/authorize?${ctx.attempt.request.query}`;
      const refused = candidate.details?.refused;
      if (refused) return { kind: 'failed', title: 'Your passkey cannot sign you in', message: refused };
      const credentials = (candidate.details?.usable ?? '').split(' ').filter(Boolean);
      const options = await passkeys.authenticationOptions(me, ctx.attempt.id, credentials);
      await ctx.saveState({ credentials, startAgain });
      return {
        kind: 'page',
        view: 'passkey',
        stepKind: 'passkey.verify',
        step: await ctx.issueStep('passkey.verify'),
        data: { options: JSON.stringify(options), startAgain },
        script: true,
      };
    },

    async step(ctx, _kind, input) {
      const me = ctx.attempt.me ?? '';
      if (!ctx.state)
        return {
          kind: 'failed',
          title: 'This sign-in has no passkey challenge',
          message: 'Start the sign-in again.',
        };
      const outcome = await passkeys.authenticate({
        me,
        binding: ctx.attempt.id,
        allowed: ctx.state.credentials,
        response: input.get('response') ?? '',
      });
      if (!outcome.ok)
        return { kind: 'failed', title: 'The passkey did not sign you in', message: outcome.reason };
      const via = outcome.passkey.registeredVia.link;
      return {
        kind: 'proven',
        proof: {
          me,
          method: 'passkey',
          evidence: `The passkey “${outcome.passkey.name}” registered for ${me} signed the challenge; ${
            via ? `${me} still links to ${via}` : `${me} still names this server`
          }.`,
        },
      };
    },
  };
}
