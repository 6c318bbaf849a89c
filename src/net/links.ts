/**
 * Link relations of a fetched document (PROTOCOL §5–6): HTTP `Link` headers (RFC 8288) and, only for
 * HTML responses, `<link>`/`<a>`/`<area>` elements. Used for `me` discovery, client_id documents and
 * anything else that reads rels; h-card / h-app data comes along from the same parse.
 */
import { createRequire } from 'node:module';
import type LinkHeader from 'http-link-header';
import { type Mf2Document, parseHtml } from './html-parse.js';
import { mediaType } from './media-type.js';

/**
 * The Link-header parser is required by the first header read, not at start (DESIGN "Performance
 * targets"); it ships CommonJS, so `require` keeps it synchronous. HTML goes to html-parse.ts.
 */
const load = createRequire(import.meta.url);
let linkHeader: typeof LinkHeader | undefined;
function loadLinkHeader(): typeof LinkHeader {
  linkHeader ??= load('http-link-header') as typeof LinkHeader;
  return linkHeader;
}

/** Where a link was found. `Link` headers win over HTML (PROTOCOL §5). */
export type LinkSource = 'header' | 'html';

export interface Link {
  /** Absolute URL (resolved against the response URL, or the HTML `<base href>`). */
  url: string;
  /** One relation, lowercased. */
  rel: string;
  source: LinkSource;
  /** Link text (HTML) or `title` (Link header), whitespace collapsed; remote text, escape before showing. */
  text?: string;
}

export type Mf2Item = Mf2Document['items'][number];

export interface LinkSet {
  /** The response URL; the base for `Link` headers. */
  url: string;
  /** The base for HTML links: the response URL, or the document's `<base href>`. */
  baseUrl: string;
  /** Whether the body was read as HTML (SECURITY G7: other bodies are never parsed for links). */
  html: boolean;
  /** Why the HTML could not be read for links, if it could not. */
  htmlProblem?: string;
  /** Every link, header links first, then HTML in document order; one entry per (rel, URL). */
  all: Link[];
  /** Links for one relation, header links first, then HTML in document order. */
  links(rel: string): Link[];
  /** URLs for one relation, in the same order as `links`. */
  urls(rel: string): string[];
  /** The winning URL for a relation: the first `Link` header, else the first in document order. */
  first(rel: string): string | undefined;
  /** Top-level microformats items (h-card, h-app…) of an HTML page; empty otherwise. */
  items(): Mf2Item[];
}

export interface LinkInput {
  /** The URL that produced the response (after redirects). */
  url: string;
  headers: Headers;
  body: string;
  /** The `Content-Type` header; when absent it is read from `headers`. */
  contentType?: string | null;
}

/** At most this many characters of link text are kept; enough for an error page. */
const MAX_TEXT = 200;
/** Marker that stands in for `<base>` while parsing, see `readHtml`. */
const BASE_REL = 'latchkey-base';

/** HTML media types (SECURITY G7). A missing Content-Type is not HTML. */
export function isHtmlContentType(contentType: string | null | undefined): boolean {
  const type = mediaType(contentType);
  return type === 'text/html' || type === 'application/xhtml+xml';
}

function resolve(href: string, base: string): string | undefined {
  try {
    return new URL(href.trim(), base).href;
  } catch {
    return undefined;
  }
}

function cleanText(text: string | undefined): string | undefined {
  const clean = text?.replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);
  return clean ? clean : undefined;
}

/** Relation tokens: split on any whitespace; registered names lowercased, URL-shaped ones kept. */
function relTokens(rel: string): string[] {
  return rel
    .split(/\s+/)
    .filter((token) => token !== '')
    .map((token) => (token.includes(':') ? token : token.toLowerCase()));
}

/**
 * Reads `Link` header values. Relative targets are resolved against the response URL (RFC 8288 §3.1;
 * a body's base never applies). Links with an `anchor` naming another resource describe that
 * resource, not this one, and are skipped. A malformed value spoils only itself: on a parse error the
 * joined header is split before each `<` and the pieces are parsed one by one (a piece that still
 * fails is cut at its first comma, dropping trailing garbage).
 */
function headerLinks(value: string | null, url: string): Link[] {
  if (!value) return [];
  const tryParse = (text: string): LinkHeader.Reference[] | undefined => {
    try {
      return loadLinkHeader().parse(text).refs;
    } catch {
      return undefined;
    }
  };
  const refs =
    tryParse(value) ??
    value.split(/,\s*(?=<)/).flatMap((piece) => tryParse(piece) ?? tryParse(piece.split(',')[0] ?? '') ?? []);
  const links: Link[] = [];
  for (const ref of refs) {
    if (typeof ref.rel !== 'string') continue;
    const anchor = ref.anchor;
    if (typeof anchor === 'string' && resolve(anchor, url) !== resolve('', url)) continue;
    const target = resolve(ref.uri, url);
    if (!target) continue;
    const title = typeof ref.title === 'string' ? ref.title : undefined;
    for (const rel of relTokens(ref.rel)) {
      links.push({ url: target, rel, source: 'header', ...(title ? { text: cleanText(title) } : {}) });
    }
  }
  return links;
}

interface HtmlLinks {
  baseUrl: string;
  links: Link[];
  doc: Mf2Document;
}

/**
 * HTML rels in document order via microformats-parser's `rels` (its rel lists are in tree order,
 * without duplicates). Two parser quirks are handled here:
 * - it takes `<base href>` verbatim, so a relative base crashes it. Each `<base` is turned into a
 *   `<link rel="latchkey-base">` so the parser resolves it against the page URL like any link; the
 *   first one is the document's base (HTML §4.2.3), and a second pass uses it as `baseUrl`;
 * - it leaves hrefs containing `://` (such as `/go?to=https://…`) unresolved, so every value is
 *   resolved again here against the effective base (a no-op for absolute URLs).
 */
async function readHtml(body: string, url: string): Promise<HtmlLinks> {
  let html = body;
  let baseUrl = url;
  if (/<base[\s/>]/i.test(html)) {
    html = html.replace(/<base(?=[\s/>])/gi, `<link rel="${BASE_REL}" `);
    const declared = (await parseHtml(html, url)).rels[BASE_REL]?.[0];
    const resolved = declared ? resolve(declared, url) : undefined;
    if (resolved && /^https?:/.test(resolved)) baseUrl = resolved;
  }
  const doc = await parseHtml(html, baseUrl);
  // `rels` is keyed by the rel token as written; `Me` and `me` (or tokens split by tabs or newlines)
  // land under separate keys, so merged lists are put back in document order using `rel-urls`, whose
  // keys are in order of first appearance.
  const position = new Map(Object.keys(doc['rel-urls']).map((href, i) => [href, i]));
  const byRel = new Map<string, string[]>();
  for (const [relValue, hrefs] of Object.entries(doc.rels)) {
    for (const rel of relTokens(relValue)) {
      if (rel === BASE_REL) continue;
      const merged = byRel.get(rel);
      if (!merged) byRel.set(rel, [...hrefs]);
      else {
        merged.push(...hrefs);
        merged.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
      }
    }
  }
  const links: Link[] = [];
  for (const [rel, hrefs] of byRel) {
    for (const href of hrefs) {
      const target = resolve(href, baseUrl);
      if (!target) continue;
      const text = cleanText(doc['rel-urls'][href]?.text ?? doc['rel-urls'][href]?.title);
      links.push({ url: target, rel, source: 'html', ...(text ? { text } : {}) });
    }
  }
  return { baseUrl, links, doc };
}

/**
 * Builds the LinkSet of one response. `Link` headers are always read; the body only when the
 * response is HTML (SECURITY G7). Per relation: header links first, then HTML in document order,
 * each URL once. Asynchronous because a large page is parsed off the event loop (html-parse.ts).
 */
export async function parseLinks(input: LinkInput): Promise<LinkSet> {
  const contentType = input.contentType !== undefined ? input.contentType : input.headers.get('content-type');
  const html = isHtmlContentType(contentType);
  const collected = headerLinks(input.headers.get('link'), input.url);
  let baseUrl = input.url;
  let doc: Mf2Document | undefined;
  let htmlProblem: string | undefined;
  if (html && input.body.trim() !== '') {
    try {
      const read = await readHtml(input.body, input.url);
      baseUrl = read.baseUrl;
      doc = read.doc;
      collected.push(...read.links);
    } catch (error) {
      htmlProblem = `the HTML could not be read for links (${error instanceof Error ? error.message : 'unknown error'})`;
    }
  }

  const byRel = new Map<string, Link[]>();
  const all: Link[] = [];
  for (const link of collected) {
    const list = byRel.get(link.rel) ?? [];
    if (list.some((seen) => seen.url === link.url)) continue;
    list.push(link);
    byRel.set(link.rel, list);
    all.push(link);
  }
  // Header links were collected first, so the first entry per (rel, URL) and per rel is a header's.
  const links = (rel: string): Link[] => [...(byRel.get(rel.toLowerCase()) ?? [])];

  return {
    url: input.url,
    baseUrl,
    html,
    ...(htmlProblem ? { htmlProblem } : {}),
    all,
    links,
    urls: (rel) => links(rel).map((link) => link.url),
    first: (rel) => byRel.get(rel.toLowerCase())?.[0]?.url,
    items: () => doc?.items ?? [],
  };
}
