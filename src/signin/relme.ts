/**
 * The back-link rule of PROTOCOL §9.1, in one place for every provider (SECURITY F4, F11): a
 * provider profile proves a site only when one of its links *is* the site under URL equivalence —
 * `http`/`https` alike, host case-insensitive (IDN as punycode), `/` for an empty path, one trailing
 * slash ignored, query and fragment exact, `https://` assumed when the scheme is missing — or
 * permanently redirects to it. Text fields (bio, note) are read for URLs as whole tokens: a bio
 * holding `https://alice.example.evil.example` does not prove `https://alice.example/`.
 */
import { domainToASCII } from 'node:url';
import { type Fetcher, LIMITS } from '../net/types.js';

/** One place a profile may link back from, e.g. `{ where: 'website field', value: 'alice.example' }`. */
export interface ProfileLink {
  where: string;
  value: string;
}

/** What linked back, and where: the evidence a Proof carries. */
export interface BackLink {
  where: string;
  url: string;
  /** Set when the link reached the site through permanent redirects. */
  via?: string;
}

/** A comparable form of a URL, or undefined when it is not an http(s) URL with a host. */
export function backLinkKey(raw: string): string | undefined {
  const trimmed = raw.trim();
  if (trimmed === '' || /\s/.test(trimmed)) return undefined;
  const hasScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(trimmed);
  if (!hasScheme && /^[A-Za-z][A-Za-z0-9+.-]*:/.test(trimmed) && !/^[^:/]+\.[^:/]*:\d/.test(trimmed)) {
    return undefined; // mailto:, javascript: and the like
  }
  let url: URL;
  try {
    url = new URL(hasScheme ? trimmed : `https://${trimmed.replace(/^\/\//, '')}`);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return undefined;
  if (url.username || url.password) return undefined;
  const host = domainToASCII(url.hostname.replace(/\.$/, '')) || url.hostname;
  const defaultPort = url.protocol === 'http:' ? '80' : '443';
  const port = url.port === '' || url.port === defaultPort ? '' : `:${url.port}`;
  let path = url.pathname || '/';
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return `${host}${port}${path}${url.search}${url.hash}`;
}

/** SECURITY F4: equal under the rule above, never by substring or prefix. */
export function sameSite(candidate: string, site: string): boolean {
  const a = backLinkKey(candidate);
  return a !== undefined && a === backLinkKey(site);
}

/** Characters that end a sentence or wrap a URL in prose, stripped from the ends of a token. */
const WRAPPING = /^[("'<[{]+|[)"'>\]},.;:!?]+$/g;

/**
 * URLs in free text as whole tokens (PROTOCOL §9.1). HTML (a Mastodon note) is read for its hrefs
 * and its text; tokens are separated by white space; only tokens that look like a URL or a domain
 * are kept.
 */
export function urlsInText(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/\bhref\s*=\s*("([^"]*)"|'([^']*)')/gi)) {
    found.push(decodeEntities(match[2] ?? match[3] ?? ''));
  }
  const plain = decodeEntities(text.replace(/<[^>]*>/g, ' '));
  for (const raw of plain.split(/\s+/)) {
    const token = raw.replace(WRAPPING, '');
    // A domain's last label starts with a letter, so `v1.2` and `3.14` are not links.
    if (
      /^(?:https?:\/\/)?(?:[a-z0-9\u00a1-\uffff-]+\.)+[a-z\u00a1-\uffff][a-z0-9\u00a1-\uffff-]*(?::\d+)?(?:[/?#]\S*)?$/i.test(
        token,
      )
    ) {
      found.push(token);
    }
  }
  return [...new Set(found)];
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The first profile link that is the site itself (all of them are tried). */
export function findDirectBackLink(site: string, links: readonly ProfileLink[]): BackLink | undefined {
  for (const link of links) {
    if (sameSite(link.value, site)) return { where: link.where, url: link.value };
  }
  return undefined;
}

/** At most this many profile URLs are followed looking for a permanent redirect to the site. */
const MAX_REDIRECT_CHECKS = 4;

/**
 * The back-link, directly or through permanent redirects (301, 308) from a profile URL to the site.
 * Temporary redirects do not count (as for identities, SECURITY F3). Fetches run concurrently.
 */
export async function findBackLink(
  site: string,
  links: readonly ProfileLink[],
  fetcher?: Fetcher,
): Promise<BackLink | undefined> {
  const direct = findDirectBackLink(site, links);
  if (direct || !fetcher) return direct;
  const siteKey = backLinkKey(site);
  const followable = links
    .filter((link) => backLinkKey(link.value) !== undefined && backLinkKey(link.value) !== siteKey)
    .slice(0, MAX_REDIRECT_CHECKS);
  const results = await Promise.all(
    followable.map(async (link): Promise<BackLink | undefined> => {
      const value = link.value.trim();
      try {
        const start = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`).href;
        const response = await fetcher(start, { accept: 'text/html', maxBytes: LIMITS.page });
        for (const hop of response.redirects) {
          if (hop.status !== 301 && hop.status !== 308) break;
          if (sameSite(hop.to, site)) return { where: link.where, url: link.value, via: hop.to };
        }
      } catch {
        // Unreachable profile URLs simply do not link back.
      }
      return undefined;
    }),
  );
  return results.find((found) => found !== undefined);
}
