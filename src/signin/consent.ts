/**
 * Reading the consent form (PROTOCOL §7, SECURITY E4): only the step token, the decision and the
 * scope boxes the page offered may be in it; anything else means the form was tampered with. The
 * granted scopes keep the order the client asked for, and never exceed it.
 */
import { isLoopbackHost } from '../indieauth/urls.js';

export type ConsentDecision =
  | { kind: 'approve'; scope: string[] }
  | { kind: 'deny' }
  | { kind: 'tampered'; field: string };

export function readConsent(
  requested: readonly string[],
  form: ReadonlyMap<string, string>,
): ConsentDecision {
  const offered = new Set(requested);
  const ticked = new Set<string>();
  for (const [key] of form) {
    if (key === 'step' || key === 'decision') continue;
    const scope = key.startsWith('scope.') ? key.slice('scope.'.length) : undefined;
    if (scope === undefined || !offered.has(scope)) return { kind: 'tampered', field: key };
    ticked.add(scope);
  }
  if (form.get('decision') !== 'approve') return { kind: 'deny' };
  return { kind: 'approve', scope: requested.filter((scope) => ticked.has(scope)) };
}

/**
 * How an app's address is reached, for the consent page's warning (PROTOCOL §7): plain `http:` on
 * a real host can be read and changed by others on the network; `http:` on a loopback host
 * (localhost, 127.0.0.1, [::1]) stays on the person's own computer, as native and dev apps do.
 */
export type Transport = 'https' | 'loopback' | 'http';

export function transportOf(url: string): Transport {
  const parsed = new URL(url);
  if (parsed.protocol === 'https:') return 'https';
  return isLoopbackHost(parsed.hostname) ? 'loopback' : 'http';
}
