/**
 * The operator's client policy as a decision (PROTOCOL §6, `latchkey clients allow|deny`): the rule
 * lives here, the store only keeps the rows (`src/store/clients.ts`).
 */
import { allowListMode, clientPolicy, policyKey } from '../store/clients.js';
import type { Store } from '../store/db.js';

/**
 * Whether the operator lets this client start a sign-in: 'deny' always refuses; with any 'allow'
 * row present only allowed clients pass; otherwise everyone does. Reasons are plain words for the
 * client's developer (shown on an error page, never as a redirect: PROTOCOL §3).
 */
export async function isClientPermitted(
  store: Store,
  clientId: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const decision = await clientPolicy(store, clientId);
  if (decision === 'deny') {
    return {
      ok: false,
      reason: `The operator of this server has blocked the client ${clientId}; it cannot be used to sign in here.`,
    };
  }
  if (decision === 'allow') return { ok: true };
  if (await allowListMode(store.db)) {
    return {
      ok: false,
      reason: `This server only accepts clients its operator has allowed, and ${clientId} is not one of them. Ask the operator to run \`latchkey clients allow ${policyKey(clientId)}\`.`,
    };
  }
  return { ok: true };
}
