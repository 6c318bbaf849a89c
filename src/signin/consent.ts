/**
 * Reading the consent form (PROTOCOL §7, SECURITY E4): only the step token, the decision and the
 * scope boxes the page offered may be in it; anything else means the form was tampered with. The
 * granted scopes keep the order the client asked for, and never exceed it.
 */
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
