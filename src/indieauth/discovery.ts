/**
 * Discovering a person's site (IndieAuth §4.1, PROTOCOL §5): fetch the profile URL, work out the
 * canonical identity from the redirect chain, read the rels, and load the IndieAuth server metadata
 * when the site links one. The result carries plain-words `notes` so `latchkey doctor` and error pages
 * can say *why* something was (not) found.
 */
import { en } from 'zod/locales';
import * as z from 'zod/mini';
import { type Link, type LinkSet, type LinkSource, parseLinks } from '../net/links.js';
import { FetchError, type Fetcher, type FetchResult, LIMITS, type RedirectHop } from '../net/types.js';
import { validateProfileUrl } from './urls.js';

export type DiscoveryErrorCode = 'invalid_url' | 'fetch_failed' | 'http_status' | 'no_authorization_endpoint';

/** Discovery could not produce a usable answer; `message` is plain words, safe to show to the person. */
export class DiscoveryError extends Error {
  constructor(
    readonly code: DiscoveryErrorCode,
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DiscoveryError';
  }
}

/** Where an endpoint came from: the metadata document, a `Link` header, or the HTML. */
export type EndpointSource = 'metadata' | LinkSource;

/** One redirect hop, classified for the identity rule (PROTOCOL §5, SECURITY F3). */
export interface RedirectStep extends RedirectHop {
  permanent: boolean;
  /** Whether this hop moved the canonical identity. */
  movedIdentity: boolean;
}

const httpUrl = z.string().check(z.refine(isHttpUrl, { message: 'is not an http:// or https:// URL' }));
const optionalUrl = z.catch(z.optional(httpUrl), undefined);
const optionalList = z.catch(z.optional(z.array(z.string())), undefined);
/** zod/mini loads no locale; `zodProblem` words its answer from the English messages. */
const english = en().localeError;

/**
 * IndieAuth server metadata (IndieAuth §4.1.1, RFC 8414 §2). `issuer` and `authorization_endpoint`
 * are required, a broken `token_endpoint` spoils the document; the informational fields are dropped
 * when malformed rather than failing discovery.
 */
const MetadataSchema = z.object({
  issuer: httpUrl,
  authorization_endpoint: httpUrl,
  token_endpoint: z.optional(httpUrl),
  introspection_endpoint: optionalUrl,
  revocation_endpoint: optionalUrl,
  userinfo_endpoint: optionalUrl,
  scopes_supported: optionalList,
  response_types_supported: optionalList,
  grant_types_supported: optionalList,
  code_challenge_methods_supported: optionalList,
  authorization_response_iss_parameter_supported: z.catch(z.optional(z.boolean()), undefined),
});

export type IndieAuthMetadata = z.infer<typeof MetadataSchema>;

export interface SiteDiscovery {
  /** What was asked for, in canonical form. */
  requested: string;
  /** The canonical identity: follows permanent redirects up to the first temporary one. */
  me: string;
  /** The URL of the page that was read; the base for its links. */
  finalUrl: string;
  status: number;
  contentType: string | undefined;
  redirects: RedirectStep[];
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  endpointSources: { authorizationEndpoint?: EndpointSource; tokenEndpoint?: EndpointSource };
  /** The `rel="indieauth-metadata"` URL, when the site has one. */
  metadataUrl?: string;
  /** The metadata document, when it was fetched and valid. */
  metadata?: IndieAuthMetadata;
  /** Why a linked metadata document was not used. */
  metadataProblem?: string;
  issuer?: string;
  relMe: Link[];
  authn: Link[];
  pgpkey: Link[];
  sshKey: Link[];
  /** Every rel of the page, and its microformats, for later steps (h-card, client information). */
  links: LinkSet;
  /** Plain-words why-statements, in the order things were found. */
  notes: string[];
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function isPermanent(status: number): boolean {
  return status === 301 || status === 308;
}

/**
 * PROTOCOL §5 / SECURITY F3: the identity follows permanent redirects (301, 308) and stops changing at
 * the first temporary one (302, 303, 307), or at a permanent one that leads to an invalid profile URL.
 */
function followIdentity(
  requested: string,
  hops: RedirectHop[],
  notes: string[],
): { me: string; steps: RedirectStep[] } {
  let me = requested;
  let following = true;
  const steps: RedirectStep[] = [];
  for (const hop of hops) {
    const permanent = isPermanent(hop.status);
    let moved = false;
    if (following && permanent) {
      const check = validateProfileUrl(hop.to);
      if (check.ok) {
        me = check.url;
        moved = true;
        notes.push(
          `${hop.from} redirects permanently (${hop.status}) to ${hop.to}, so the identity becomes ${me}.`,
        );
      } else {
        following = false;
        notes.push(
          `${hop.from} redirects permanently (${hop.status}) to ${hop.to}, which is not a valid profile URL ` +
            `(${check.reason}), so the identity stays ${me}.`,
        );
      }
    } else if (following) {
      following = false;
      notes.push(
        `${hop.from} redirects temporarily (${hop.status}) to ${hop.to}; temporary redirects do not change ` +
          `the identity, which stays ${me}.`,
      );
    } else {
      notes.push(
        `${hop.from} redirects (${hop.status}) to ${hop.to}; after a temporary redirect the identity no longer ` +
          'changes.',
      );
    }
    steps.push({ ...hop, permanent, movedIdentity: moved });
  }
  return { me, steps };
}

function describeFetchError(error: unknown): string {
  if (error instanceof FetchError) return error.message;
  return error instanceof Error ? error.message : 'unknown error';
}

function zodProblem(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'it is not a valid metadata document';
  const field = issue.path.join('.');
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return `it has no "${field}"`;
  }
  if (!field) return 'it is not a JSON object';
  return `its "${field}" ${issue.message.replace(/^Invalid input: /, 'is invalid: ')}`;
}

/**
 * The metadata issuer rule (IndieAuth §4.1.1): an http(s) URL without query or fragment that is a
 * prefix of the metadata URL. The prefix is checked on the same origin, so `https://alice.example`
 * cannot claim `https://alice.example.evil.example/meta`.
 */
function issuerProblem(issuer: string, metadataUrl: string): string | undefined {
  const parsed = new URL(issuer);
  if (parsed.search !== '' || issuer.includes('?')) return `its issuer ${issuer} has a query string`;
  if (parsed.hash !== '' || issuer.includes('#')) return `its issuer ${issuer} has a fragment`;
  const meta = new URL(metadataUrl);
  if (parsed.origin !== meta.origin || !metadataUrl.startsWith(issuer)) {
    return `its issuer ${issuer} is not a prefix of the metadata URL ${metadataUrl}`;
  }
  return undefined;
}

type MetadataOutcome = { ok: true; metadata: IndieAuthMetadata } | { ok: false; problem: string };

async function loadMetadata(url: string, fetcher: Fetcher): Promise<MetadataOutcome> {
  let response: FetchResult;
  try {
    response = await fetcher(url, { accept: 'application/json', maxBytes: LIMITS.json });
  } catch (error) {
    return { ok: false, problem: `it could not be fetched (${describeFetchError(error)})` };
  }
  if (response.status < 200 || response.status > 299) {
    return { ok: false, problem: `it answered HTTP ${response.status}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    return { ok: false, problem: 'it is not JSON' };
  }
  const parsed = MetadataSchema.safeParse(json, { error: english });
  if (!parsed.success) return { ok: false, problem: zodProblem(parsed.error) };
  const problem = issuerProblem(parsed.data.issuer, url);
  if (problem) return { ok: false, problem };
  return { ok: true, metadata: parsed.data };
}

/** The first http(s) link for a rel, noting any that were skipped and any runner-up that lost. */
function legacyEndpoint(links: LinkSet, rel: string, notes: string[]): Link | undefined {
  const candidates = links.links(rel);
  const usable = candidates.filter((link) => isHttpUrl(link.url));
  for (const link of candidates) {
    if (!usable.includes(link))
      notes.push(`The rel="${rel}" link ${link.url} is not an http(s) URL and was ignored.`);
  }
  const [winner, ...rest] = usable;
  if (winner && rest.length > 0) {
    const why =
      winner.source === 'header' && rest.some((link) => link.source === 'html')
        ? 'HTTP Link headers win over the HTML'
        : 'the first one wins';
    notes.push(`There are ${usable.length} rel="${rel}" links; ${why}, so ${winner.url} is used.`);
  }
  return winner;
}

function whereFound(source: LinkSource): string {
  return source === 'header' ? 'an HTTP Link header' : 'the HTML';
}

/**
 * Discovers `me` (PROTOCOL §5). Throws DiscoveryError when `me` is not a valid profile URL, cannot be
 * fetched, or answers with a non-2xx status. A broken metadata document is not fatal: discovery falls
 * back to the legacy `authorization_endpoint` / `token_endpoint` rels and says so in `notes`.
 */
export async function discoverSite(me: string, fetcher: Fetcher): Promise<SiteDiscovery> {
  const check = validateProfileUrl(me);
  if (!check.ok) {
    throw new DiscoveryError('invalid_url', `${me} is not a valid profile URL: ${check.reason}.`, me);
  }
  const requested = check.url;

  let response: FetchResult;
  try {
    response = await fetcher(requested, {
      accept: 'text/html, application/xhtml+xml;q=0.9, */*;q=0.1',
      maxBytes: LIMITS.page,
    });
  } catch (error) {
    throw new DiscoveryError(
      'fetch_failed',
      `Could not fetch ${requested}: ${describeFetchError(error)}`,
      requested,
      {
        cause: error,
      },
    );
  }
  if (response.status < 200 || response.status > 299) {
    throw new DiscoveryError(
      'http_status',
      `${response.url} answered HTTP ${response.status}, so it cannot be read as a profile page.`,
      requested,
    );
  }

  const notes: string[] = [];
  const identity = followIdentity(requested, response.redirects, notes);
  const contentType = response.headers.get('content-type') ?? undefined;
  const links = await parseLinks({
    url: response.url,
    headers: response.headers,
    body: response.body,
    contentType,
  });
  if (!links.html) {
    notes.push(
      `The page is served as ${contentType ? `"${contentType}"` : 'an unknown type'}, not HTML, so only its ` +
        'HTTP Link headers were read; links in the body are ignored.',
    );
  }
  if (links.htmlProblem) notes.push(`The page's ${links.htmlProblem}; only its HTTP Link headers were read.`);
  if (links.baseUrl !== links.url)
    notes.push(`The page sets <base href>, so its links are resolved against ${links.baseUrl}.`);

  const result: SiteDiscovery = {
    requested,
    me: identity.me,
    finalUrl: response.url,
    status: response.status,
    contentType,
    redirects: identity.steps,
    endpointSources: {},
    relMe: links.links('me'),
    authn: links.links('authn'),
    pgpkey: links.links('pgpkey'),
    sshKey: links.links('ssh-key'),
    links,
    notes,
  };

  // IndieAuth §4.1: the metadata document, when linked, wins over the legacy rels.
  const metadataLink = legacyEndpoint(links, 'indieauth-metadata', notes);
  if (metadataLink) {
    result.metadataUrl = metadataLink.url;
    const outcome = await loadMetadata(metadataLink.url, fetcher);
    if (outcome.ok) {
      const { metadata } = outcome;
      result.metadata = metadata;
      result.issuer = metadata.issuer;
      result.authorizationEndpoint = metadata.authorization_endpoint;
      result.endpointSources.authorizationEndpoint = 'metadata';
      if (metadata.token_endpoint) {
        result.tokenEndpoint = metadata.token_endpoint;
        result.endpointSources.tokenEndpoint = 'metadata';
      }
      notes.push(
        `The endpoints come from the metadata document ${metadataLink.url} (found in ${whereFound(metadataLink.source)}; ` +
          `issuer ${metadata.issuer}), which wins over rel="authorization_endpoint" and rel="token_endpoint".`,
      );
    } else {
      result.metadataProblem = outcome.problem;
      notes.push(
        `The indieauth-metadata link points to ${metadataLink.url}, but ${outcome.problem}; falling back to the ` +
          'rel="authorization_endpoint" and rel="token_endpoint" links.',
      );
    }
  }

  if (!result.authorizationEndpoint) {
    const link = legacyEndpoint(links, 'authorization_endpoint', notes);
    if (link) {
      result.authorizationEndpoint = link.url;
      result.endpointSources.authorizationEndpoint = link.source;
    }
  }
  if (!result.tokenEndpoint) {
    const link = legacyEndpoint(links, 'token_endpoint', notes);
    if (link) {
      result.tokenEndpoint = link.url;
      result.endpointSources.tokenEndpoint = link.source;
      if (result.metadata) {
        notes.push(
          `The metadata document names no token endpoint, so the rel="token_endpoint" link ${link.url} is used.`,
        );
      }
    }
  }

  if (!result.authorizationEndpoint) {
    notes.push(
      'No authorization endpoint: the site has no usable indieauth-metadata link and no rel="authorization_endpoint" ' +
        'link, so sign-in uses its rel="authn" or rel="me" links (PROTOCOL §9).',
    );
  }
  if (result.authn.length > 0) {
    notes.push(
      'The site has rel="authn" links, so only those are offered for sign-in; its rel="me" links are not.',
    );
  } else if (
    !result.authorizationEndpoint &&
    result.relMe.length === 0 &&
    result.pgpkey.length === 0 &&
    result.sshKey.length === 0
  ) {
    notes.push(
      'The site has no rel="me", rel="authn", rel="pgpkey" or rel="ssh-key" links, so there is nothing to sign in with.',
    );
  }
  return result;
}

/**
 * What the token endpoint needs in Mintoken mode (PROTOCOL §1.3, §10): the authorization endpoint a
 * profile URL names, and the canonical identity. Throws DiscoveryError when there is none.
 */
export async function discoverAuthorizationEndpoint(
  me: string,
  fetcher: Fetcher,
): Promise<{ me: string; authorizationEndpoint: string; tokenEndpoint?: string; issuer?: string }> {
  const found = await discoverSite(me, fetcher);
  if (!found.authorizationEndpoint) {
    const why = found.metadataProblem
      ? ` (its metadata document was not usable: ${found.metadataProblem})`
      : '';
    throw new DiscoveryError(
      'no_authorization_endpoint',
      `${found.me} names no authorization endpoint${why}: add rel="indieauth-metadata" or rel="authorization_endpoint".`,
      found.requested,
    );
  }
  return {
    me: found.me,
    authorizationEndpoint: found.authorizationEndpoint,
    ...(found.tokenEndpoint ? { tokenEndpoint: found.tokenEndpoint } : {}),
    ...(found.issuer ? { issuer: found.issuer } : {}),
  };
}
