/**
 * Which ways of proving a site are offered (PROTOCOL §9), in one place:
 * 1. the site's own IndieAuth server, unless it is this Latchkey — then it is the only option;
 * 2. otherwise, when the site has `rel="authn"` links, only those (SECURITY F6);
 * 3. otherwise its `rel="me"`, `rel="pgpkey"` and `rel="ssh-key"` links.
 * A link is a candidate only when a method recognises it (anchored patterns, SECURITY F5).
 */
import type { SiteDiscovery } from '../indieauth/discovery.js';
import { urlEquivalent } from '../indieauth/urls.js';
import type { Link } from '../net/links.js';
import type { AnyMethod, Candidate } from './types.js';

/** True when the site names this Latchkey as its authorization server (the indieauth.com behaviour). */
export function namesThisServer(site: SiteDiscovery, issuer: string): boolean {
  if (site.issuer && urlEquivalent(site.issuer, issuer)) return true;
  const endpoint = site.authorizationEndpoint;
  if (!endpoint) return false;
  return ['authorize', 'auth'].some((path) => endpoint === new URL(path, issuer).href);
}

/** The links sign-in may use, after the `rel="authn"` rule (F6). */
export function usableLinks(site: SiteDiscovery): Link[] {
  const pool = [...site.relMe, ...site.pgpkey, ...site.sshKey];
  if (site.authn.length === 0) return pool;
  const authn = new Set(site.authn.map((link) => link.url));
  const kept = pool.filter((link) => authn.has(link.url));
  const keptUrls = new Set(kept.map((link) => link.url));
  // An authn link that is not also a rel=me/pgpkey link (e.g. `rel="authn" href="mailto:…"`) is read as rel=me.
  const extra = site.authn.filter((link) => !keptUrls.has(link.url)).map((link) => ({ ...link, rel: 'me' }));
  return [...kept, ...extra];
}

/**
 * At most this many of a site's links are looked at for sign-in, in document order. Recognising a
 * link may cost an outbound request (a Mastodon probe), and the page is the visitor's to write: a
 * page with thousands of rel=me links must not make Latchkey send thousands of requests (SECURITY
 * R4: sign-in work per request is bounded). Twenty is far more than any real homepage lists.
 */
export const MAX_SIGNIN_LINKS = 20;

/**
 * The candidates for a site, in link order. A link goes to the first method (registry order) that
 * recognises it; recognitions that must ask a server (a Mastodon probe) run concurrently, all links
 * at once (DESIGN: sign-in fetches run concurrently).
 */
export async function findCandidates(
  site: SiteDiscovery,
  methods: readonly AnyMethod[],
  issuer: string,
): Promise<Candidate[]> {
  // Passkeys of this `me` come first (PROTOCOL §13); the method itself checks they still hold (E9).
  const first = (await Promise.all(methods.map((method) => method.offerFirst?.(site)))).filter(
    (candidate): candidate is Candidate => candidate !== undefined,
  );
  if (site.authorizationEndpoint && !namesThisServer(site, issuer)) {
    const delegation = methods.find((method) => method.id === 'indieauth');
    const candidate = delegation?.recogniseSite?.(site);
    return candidate ? [...first, candidate] : first;
  }
  const perLink = await Promise.all(
    usableLinks(site)
      .slice(0, MAX_SIGNIN_LINKS)
      .map(async (link) => {
        const answers = await Promise.all(methods.map((method) => method.recognise(link, site)));
        return answers.find((candidate) => candidate !== undefined);
      }),
  );
  const found: Candidate[] = [...first];
  const seen = new Set<string>();
  for (const candidate of perLink) {
    if (!candidate) continue;
    const key = `${candidate.method} ${candidate.target}`;
    if (seen.has(key)) continue;
    seen.add(key);
    found.push(candidate);
  }
  return found;
}
