/**
 * Client information (PROTOCOL §6; IndieAuth §4.2 "Client Information Discovery"; the OAuth Client
 * ID Metadata Document draft, "CIMD"): what a client_id URL says about its client — a name and logo
 * for the consent page, and the redirect URIs it publishes — plus the redirect_uri rule that uses them
 * (PROTOCOL §3, SECURITY A1–A4).
 *
 * Reading client information is best effort: a client that publishes nothing, or cannot be reached,
 * can still sign people in with a redirect_uri on its own origin; the consent page then shows the bare
 * client_id. So `get` never throws for remote problems; it returns `source: 'none'` and a `problem`.
 */
import * as z from 'zod/mini';
import type { Logger } from '../log.js';
import { isHtmlContentType, type Mf2Item, parseLinks } from '../net/links.js';
import { mediaType } from '../net/media-type.js';
import { FetchError, type Fetcher, type FetchResult, LIMITS } from '../net/types.js';
import { findCachedClientInfo, putCachedClientInfo } from '../store/clients.js';
import type { Store } from '../store/db.js';
import { isLoopbackHost, sameOrigin, urlEquivalent, validateClientId, validateRedirectUri } from './urls.js';

export interface ClientInfo {
  /** The client_id exactly as it was asked for. */
  clientId: string;
  /** Remote text: escape before showing (SECURITY E7). */
  name?: string;
  /** Always an `https:` URL (SECURITY E7); other logos are dropped. */
  logoUri?: string;
  /** A URL on the client_id's origin that is a prefix of the client_id (CIMD `client_uri`). */
  clientUri?: string;
  /** Published redirect URIs, each valid per `validateRedirectUri`, as exact strings. */
  redirectUris: string[];
  /** Where the information came from: a CIMD JSON document, an HTML page (h-app), or nowhere. */
  source: 'metadata' | 'h-app' | 'none';
  /** Plain words on why nothing (or not everything) could be read; for logs and developer-facing pages. */
  problem?: string;
}

export interface ClientInfoOptions {
  store: Store;
  fetcher: Fetcher;
  /** Epoch seconds; tests inject one to step over cache lifetimes. */
  clock?: () => number;
  logger?: Logger;
}

/** `Accept` for client_id documents: CIMD JSON preferred, legacy HTML accepted (PROTOCOL §6). */
export const CLIENT_ACCEPT = 'application/json, text/html;q=0.9';

/** Cache lifetimes in seconds (PROTOCOL §6: respect Cache-Control, default 10 min). */
export const CLIENT_CACHE = {
  /** Used when the response says nothing about freshness. */
  defaultSeconds: 10 * 60,
  /**
   * Lower bound, also applied to `no-cache`/`no-store`/`max-age=0`: otherwise a client could make
   * every authorization request cost an outbound fetch.
   */
  minSeconds: 60,
  /** Upper bound, so a changed document (a removed redirect URI) is picked up within a day. */
  maxSeconds: 24 * 60 * 60,
} as const;

/** Remote names are cut to this many characters; enough for any consent page. */
const MAX_NAME = 200;

/**
 * The CIMD fields Latchkey uses. `client_id` is required (the document is ignored without it); every
 * other field is optional and a field of the wrong type is dropped on its own, so one bad value does not
 * spoil the rest. Unknown fields are ignored.
 */
const metadataSchema = z.object({
  client_id: z.string(),
  client_name: z.catch(z.optional(z.string()), undefined),
  client_uri: z.catch(z.optional(z.string()), undefined),
  logo_uri: z.catch(z.optional(z.string()), undefined),
  redirect_uris: z.catch(z.optional(z.array(z.unknown())), undefined),
});

/** A `ClientInfo` read back from the cache; anything else in the row is treated as a cache miss. */
const cachedSchema = z.object({
  clientId: z.string(),
  name: z.optional(z.string()),
  logoUri: z.optional(z.string()),
  clientUri: z.optional(z.string()),
  redirectUris: z.array(z.string()),
  source: z.enum(['metadata', 'h-app', 'none']),
  problem: z.optional(z.string()),
});

/** A fetched and read document, with how long it may be cached. */
interface Read {
  info: ClientInfo;
  /** Only good documents are cached (PROTOCOL §6: never cache failures). */
  cacheable: boolean;
  maxAge: number;
}

export class ClientInfoService {
  private readonly store: Store;
  private readonly fetcher: Fetcher;
  private readonly clock: () => number;
  private readonly logger: Logger | undefined;
  /** One fetch per client_id at a time within this process (PROTOCOL §6: coalesce). */
  private readonly inFlight = new Map<string, Promise<ClientInfo>>();

  constructor(options: ClientInfoOptions) {
    this.store = options.store;
    this.fetcher = options.fetcher;
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
    this.logger = options.logger;
  }

  /**
   * The client information of a client_id: from the cache, else fetched. Never throws for remote
   * problems (see the module comment). Loopback client_ids are never fetched (PROTOCOL §3, §6): they
   * name the person's own machine, which Latchkey must not reach and could not reach anyway.
   */
  async get(clientId: string): Promise<ClientInfo> {
    const check = validateClientId(clientId);
    if (!check.ok) {
      return none(clientId, `The client_id ${clientId} is not valid: ${check.reason}.`);
    }
    if (check.loopback) {
      return none(
        clientId,
        `The client_id ${clientId} is on the signing-in person's own computer (loopback), so Latchkey does not fetch it.`,
      );
    }
    const pending = this.inFlight.get(clientId);
    if (pending) return pending;
    const promise = this.load(clientId, check.url).finally(() => this.inFlight.delete(clientId));
    this.inFlight.set(clientId, promise);
    return promise;
  }

  private async load(clientId: string, url: string): Promise<ClientInfo> {
    const cached = await this.fromCache(clientId);
    if (cached) return cached;
    const read = await this.fetchAndRead(clientId, url);
    if (read.cacheable) {
      const at = this.clock();
      try {
        await putCachedClientInfo(this.store.db, {
          clientId,
          info: JSON.stringify(read.info),
          fetchedAt: at,
          expiresAt: at + read.maxAge,
        });
      } catch (error) {
        // A cache that cannot be written costs a fetch next time, nothing more.
        this.logger?.warn({ err: error, clientId }, 'could not cache client information');
      }
    } else {
      this.logger?.info({ clientId, problem: read.info.problem }, 'client information not read');
    }
    return read.info;
  }

  private async fromCache(clientId: string): Promise<ClientInfo | undefined> {
    try {
      const json = await findCachedClientInfo(this.store.db, clientId, this.clock());
      if (json === undefined) return undefined;
      const parsed = cachedSchema.safeParse(JSON.parse(json));
      return parsed.success ? stripUndefined(parsed.data) : undefined;
    } catch (error) {
      this.logger?.warn({ err: error, clientId }, 'could not read cached client information');
      return undefined;
    }
  }

  /**
   * Fetches the client_id with `maxRedirects: 0` for both formats. CIMD forbids redirects for the
   * JSON document; for legacy HTML, following them would let the page at another URL speak for this
   * client_id, and we cannot know the format before the response arrives. A redirecting client_id is
   * therefore reported as a problem (it still works with same-origin redirect URIs).
   *
   * The cap is LIMITS.page (what an HTML page may be); a JSON document must additionally fit in
   * LIMITS.json (PROTOCOL §4: 64 KiB JSON documents).
   */
  private async fetchAndRead(clientId: string, url: string): Promise<Read> {
    let result: FetchResult;
    try {
      result = await this.fetcher(url, { accept: CLIENT_ACCEPT, maxBytes: LIMITS.page, maxRedirects: 0 });
    } catch (error) {
      const why = error instanceof FetchError ? error.message : 'the request failed';
      return failure(clientId, `Latchkey could not fetch ${url}: ${why}.`);
    }
    if (result.status >= 300 && result.status < 400) {
      const location = result.headers.get('location');
      return failure(
        clientId,
        `${url} redirects${location ? ` to ${location}` : ''}; a client_id document must be served at the client_id itself, without redirects.`,
      );
    }
    if (result.status < 200 || result.status >= 300) {
      return failure(clientId, `${url} answered with HTTP status ${result.status} instead of a document.`);
    }
    const contentType = result.headers.get('content-type');
    if (isJsonContentType(contentType)) {
      if (Buffer.byteLength(result.body, 'utf8') > LIMITS.json) {
        return failure(
          clientId,
          `The JSON document at ${url} is larger than the ${LIMITS.json / 1024} KiB allowed for client metadata.`,
        );
      }
      return this.readMetadata(clientId, url, result);
    }
    if (isHtmlContentType(contentType)) return this.readHtml(clientId, url, result);
    return failure(
      clientId,
      `${url} answered with content type ${contentType ?? '(none)'}; a client_id document is JSON (application/json) or HTML.`,
    );
  }

  /** A CIMD document: `client_id` must equal the URL exactly (CIMD §4.1; PROTOCOL §6). */
  private readMetadata(clientId: string, url: string, result: FetchResult): Read {
    let json: unknown;
    try {
      json = JSON.parse(result.body);
    } catch {
      return failure(clientId, `The document at ${url} says it is JSON but is not valid JSON.`);
    }
    const parsed = metadataSchema.safeParse(json);
    if (!parsed.success) {
      return failure(
        clientId,
        `The JSON document at ${url} is not client metadata: it needs a "client_id" string property.`,
      );
    }
    const doc = parsed.data;
    if (doc.client_id !== clientId && doc.client_id !== url) {
      return failure(
        clientId,
        `The JSON document at ${url} names the client_id "${doc.client_id}", which is not its own URL, so it was ignored.`,
      );
    }
    const info: ClientInfo = {
      clientId,
      redirectUris: publishedRedirectUris(doc.redirect_uris ?? []),
      source: 'metadata',
    };
    const name = cleanName(doc.client_name);
    if (name) info.name = name;
    const logo = httpsUrl(doc.logo_uri);
    if (logo) info.logoUri = logo;
    if (doc.client_uri !== undefined && clientUriFits(doc.client_uri, clientId, url)) {
      info.clientUri = doc.client_uri;
    }
    return { info, cacheable: true, maxAge: cacheSeconds(result.headers.get('cache-control')) };
  }

  /**
   * A legacy HTML client page (IndieAuth §4.2.2): an `h-app`/`h-x-app` whose `url` is the client_id
   * gives name and logo; `rel="redirect_uri"` links in the `Link` header or the HTML give redirect
   * URIs. A page that is read but has no matching h-app is still a good document (cached); `problem`
   * then says why there is no name.
   */
  private async readHtml(clientId: string, url: string, result: FetchResult): Promise<Read> {
    const links = await parseLinks({ url: result.url, headers: result.headers, body: result.body });
    const info: ClientInfo = {
      clientId,
      redirectUris: publishedRedirectUris(links.urls('redirect_uri')),
      source: 'h-app',
    };
    const app = findApp(links.items(), clientId, url);
    if (app) {
      const name = cleanName(firstText(app.properties.name));
      if (name) info.name = name;
      const logo = httpsUrl(firstText(app.properties.logo));
      if (logo) info.logoUri = logo;
    } else {
      info.problem =
        links.htmlProblem !== undefined
          ? `The page at ${url} could not be read: ${links.htmlProblem}.`
          : `The page at ${url} has no h-app whose url is the client_id, so there is no name or logo.`;
    }
    return { info, cacheable: true, maxAge: cacheSeconds(result.headers.get('cache-control')) };
  }
}

function none(clientId: string, problem: string): ClientInfo {
  return { clientId, redirectUris: [], source: 'none', problem };
}

function failure(clientId: string, problem: string): Read {
  return { info: none(clientId, problem), cacheable: false, maxAge: 0 };
}

function stripUndefined(info: z.infer<typeof cachedSchema>): ClientInfo {
  const out: ClientInfo = { clientId: info.clientId, redirectUris: info.redirectUris, source: info.source };
  if (info.name !== undefined) out.name = info.name;
  if (info.logoUri !== undefined) out.logoUri = info.logoUri;
  if (info.clientUri !== undefined) out.clientUri = info.clientUri;
  if (info.problem !== undefined) out.problem = info.problem;
  return out;
}

function isJsonContentType(contentType: string | null): boolean {
  const type = mediaType(contentType);
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Freshness from `Cache-Control` (RFC 9111 §5.2.2): `s-maxage` (we are a shared cache, serving many
 * people) else `max-age`, bounded to [CLIENT_CACHE.minSeconds, CLIENT_CACHE.maxSeconds]; the default
 * when neither is given. `no-store`/`no-cache` get the minimum (see CLIENT_CACHE).
 */
export function cacheSeconds(cacheControl: string | null): number {
  const header = cacheControl ?? '';
  const directive = (name: string): number | undefined => {
    const match = new RegExp(`(?:^|,)\\s*${name}\\s*=\\s*"?(\\d+)"?\\s*(?:,|$)`, 'i').exec(header);
    return match?.[1] !== undefined ? Number(match[1]) : undefined;
  };
  let seconds = directive('s-maxage') ?? directive('max-age');
  if (/(?:^|,)\s*no-(?:store|cache)\s*(?:[,=]|$)/i.test(header)) seconds = 0;
  if (seconds === undefined) return CLIENT_CACHE.defaultSeconds;
  return Math.min(CLIENT_CACHE.maxSeconds, Math.max(CLIENT_CACHE.minSeconds, seconds));
}

/** Remote display text: whitespace collapsed, trimmed, bounded. Escaping is the view's job (E7). */
function cleanName(value: string | undefined): string | undefined {
  const clean = value
    ?.replace(/[\p{Cc}\s]+/gu, ' ')
    .trim()
    .slice(0, MAX_NAME);
  return clean ? clean : undefined;
}

/** Only `https:` logos are kept (SECURITY E7): no `http:` mixed content, no `javascript:`/`data:`. */
function httpsUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return undefined;
    return url.href;
  } catch {
    return undefined;
  }
}

/**
 * CIMD `client_uri` must be a prefix of the client_id. A bare string prefix would accept
 * `https://app.ex` for `https://app.example/…` (another host, SECURITY A3), so it must also be an
 * http(s) URL on the client_id's own origin.
 */
function clientUriFits(clientUri: string, clientId: string, url: string): boolean {
  if (!clientId.startsWith(clientUri) && !url.startsWith(clientUri)) return false;
  try {
    const parsed = new URL(clientUri);
    return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && sameOrigin(clientUri, url);
  } catch {
    return false;
  }
}

/**
 * The published redirect URIs that are valid redirect URIs (SECURITY A4: `javascript:`, `data:`,
 * `file:` and other non-http(s) values are dropped; so are fragments, user info and dot segments),
 * each once, as exact strings, since they are compared by exact string match (PROTOCOL §3).
 */
function publishedRedirectUris(values: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const check = validateRedirectUri(value);
    if (check.ok && !out.includes(check.url)) out.push(check.url);
  }
  return out;
}

type Mf2Property = Mf2Item['properties'][string][number];

/** The text of a property value: a plain string, or the `value` of an image/HTML/nested item. */
function propertyText(value: Mf2Property | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'value' in value && typeof value.value === 'string') {
    return value.value;
  }
  return undefined;
}

function firstText(values: Mf2Property[] | undefined): string | undefined {
  for (const value of values ?? []) {
    const text = propertyText(value);
    if (text !== undefined) return text;
  }
  return undefined;
}

/**
 * The first `h-app`/`h-x-app` (top level or nested) whose `url` is the client_id, by URL equivalence
 * or exact string (IndieAuth §4.2.2). An h-app about another URL describes another app and is ignored.
 */
function findApp(items: readonly Mf2Item[], clientId: string, url: string): Mf2Item | undefined {
  const queue: Mf2Item[] = [...items];
  for (let seen = 0; queue.length > 0 && seen < 1000; seen++) {
    const item = queue.shift() as Mf2Item;
    const types = item.type ?? [];
    if (types.includes('h-app') || types.includes('h-x-app')) {
      const urls = (item.properties.url ?? []).map(propertyText);
      if (urls.some((u) => u !== undefined && (u === clientId || urlEquivalent(u, url)))) return item;
    }
    queue.push(...(item.children ?? []));
    for (const values of Object.values(item.properties)) {
      for (const value of values) {
        if (value && typeof value === 'object' && 'properties' in value) queue.push(value);
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// redirect_uri rule

export type RedirectUriCheck = { ok: true } | { ok: false; reason: string };

/** Scheme, host and path/query of a raw URL without its port; undefined for non-http(s). */
function withoutPort(raw: string): { host: string; key: string } | undefined {
  const match = /^(https?):\/\/(\[[^\]]*\]|[^/?#:]*)(?::\d*)?([/?#].*)?$/i.exec(raw);
  if (!match) return undefined;
  const host = match[2] ?? '';
  return { host, key: `${match[1]}://${host}${match[3] ?? ''}` };
}

/**
 * RFC 8252 §7.3: a native app's loopback redirect URI gets a port from the OS at request time, so
 * the port may differ from the registered one; every other character must match.
 */
function loopbackPortVariant(requested: string, registered: string): boolean {
  const a = withoutPort(requested);
  const b = withoutPort(registered);
  return !!a && !!b && isLoopbackHost(a.host) && isLoopbackHost(b.host) && a.key === b.key;
}

/**
 * May the client `clientId` send people back to `redirectUri`? (PROTOCOL §3; IndieAuth §4.2.2;
 * RFC 9700 §4.1.3 exact matching; SECURITY A1–A4.)
 *
 * - `redirectUri` must be a valid redirect URI (absolute http(s), no fragment/user info/dot segments);
 * - on the client_id's own origin (same scheme, host and port) it is allowed;
 * - otherwise it must equal one of `info.redirectUris` character for character — no prefix, suffix,
 *   case or normalisation leeway, so look-alike hosts (`example.com.evil.example`) never match;
 * - loopback redirect URIs may differ in port only (RFC 8252 §7.3), from a published loopback URI or,
 *   for a loopback client_id (which is never fetched, so publishes nothing), from the client_id's own
 *   scheme and host.
 *
 * Refusals end in an error page for the developer (never a redirect), so reasons say what to fix.
 */
export function checkRedirectUri(clientId: string, redirectUri: string, info: ClientInfo): RedirectUriCheck {
  const uri = validateRedirectUri(redirectUri);
  if (!uri.ok) return { ok: false, reason: `The redirect_uri ${redirectUri} is not valid: ${uri.reason}.` };
  const client = validateClientId(clientId);
  if (!client.ok) return { ok: false, reason: `The client_id ${clientId} is not valid: ${client.reason}.` };

  if (sameOrigin(redirectUri, client.url)) return { ok: true };
  if (info.redirectUris.includes(redirectUri)) return { ok: true };
  if (info.redirectUris.some((published) => loopbackPortVariant(redirectUri, published))) return { ok: true };
  if (client.loopback) {
    const clientBase = withoutPort(clientId);
    const requested = withoutPort(redirectUri);
    if (
      clientBase &&
      requested &&
      isLoopbackHost(requested.host) &&
      requested.host.toLowerCase() === clientBase.host.toLowerCase() &&
      redirectUri.slice(0, redirectUri.indexOf(':')).toLowerCase() ===
        clientId.slice(0, clientId.indexOf(':')).toLowerCase()
    ) {
      return { ok: true };
    }
  }

  let reason =
    `The redirect_uri ${redirectUri} is not on the client_id's own scheme, host and port (${new URL(client.url).origin}), ` +
    'and the client does not publish it.';
  const near = info.redirectUris.find(
    (published) =>
      published.toLowerCase() === redirectUri.toLowerCase() || sameOrigin(published, redirectUri),
  );
  if (near !== undefined) {
    reason += ` The client publishes ${near}; a redirect_uri must match a published one character for character.`;
  } else if (info.source === 'none') {
    reason += ` Its client information could not be read${info.problem ? ` (${info.problem.replace(/\.$/, '')})` : ''}.`;
  } else {
    reason += ` List it in the client_id document's "redirect_uris" (JSON) or as a <link rel="redirect_uri"> (HTML).`;
  }
  return { ok: false, reason };
}
