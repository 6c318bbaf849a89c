/**
 * The outbound fetcher (PROTOCOL §4): every URL Latchkey fetches goes through `createFetcher`, so the
 * private-network guard, deadlines, redirect rules and body caps of SECURITY G1–G6 apply everywhere.
 *
 * - only `http:`/`https:` without user info (checked on the first URL and on every redirect hop);
 * - connections go through the guarded connector (`connector.ts`), which refuses non-public
 *   addresses at connect time unless a connect-to rule or the operator's allow-list says otherwise;
 * - redirects are followed by hand, at most `maxRedirects` (default 10); `maxRedirects: 0` means a
 *   3xx is *returned* as the result, not followed (the caller decides it is a failure);
 * - connect, header and total deadlines; the total one also covers reading the body;
 * - bodies are read as a stream and cut as soon as they exceed `maxBytes`, counted on the bytes read
 *   from the socket and again after decompression (SECURITY G5, R4).
 *
 * Errors are `FetchError`s whose messages are lowercase clauses safe to show to a person (callers
 * embed them, e.g. "Could not fetch https://alice.example/: the connection was refused").
 */
import { createRequire } from 'node:module';
import { isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Logger } from 'pino';
import type { Agent, Dispatcher } from 'undici';
import type { ConnectToRule } from '../config.js';
import type { Events } from '../events.js';
import { createAllowList } from './address.js';
import { BlockedAddressError, ConnectTimeoutError, createGuardedConnector } from './connector.js';
import { FetchError, type Fetcher, type FetchOptions, type FetchResult, type RedirectHop } from './types.js';

export interface FetcherOptions {
  /** `LATCHKEY_CONNECT_TO`: these hosts are connected to the mapped address and allowed although private. */
  connectTo: ConnectToRule[];
  /** `LATCHKEY_ALLOW_PRIVATE_NETWORK`: CIDRs, addresses and host names allowed although private. */
  allowPrivateNetwork: string[];
  /** Names Latchkey and its URL, e.g. `Latchkey/0.1 (+https://login.example/)` (PROTOCOL §4). */
  userAgent: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** Whole fetch: every hop and the body. */
  totalTimeoutMs: number;
  /** Resolver (default `dns.lookup`); tests inject one to make a public-looking name resolve to loopback. */
  lookup?: LookupFunction;
  logger?: Logger;
  /** Gets `fetch.done` with each fetch's outcome (the metrics count them). */
  events?: Events;
}

/** A Fetcher that owns a connection pool; `close()` on shutdown. */
export type ClosableFetcher = Fetcher & { close(): Promise<void> };

const DEFAULT_MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Sent to another origin only if the caller repeats them there; the fetch spec drops Authorization too. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
/** Set by the fetcher itself; callers cannot override them. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'user-agent',
  'accept',
  'accept-encoding',
  'content-type',
]);

/** Aborts the whole fetch when the total deadline passes, and remembers that it did. */
class Deadline {
  readonly controller = new AbortController();
  expired = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);

  constructor(
    readonly ms: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort(new Error('total deadline passed'));
    }, ms);
    if (caller?.aborted) this.controller.abort(caller.reason);
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = Number((ms / 1000).toFixed(1));
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

function size(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Origin and path only: query strings may carry codes or tokens and never reach the logs. */
function loggable(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Parses and checks one URL (the first one or a redirect target): http(s) only, no user info
 * (SECURITY G4; PROTOCOL §3 forbids credentials in URLs). The fragment is never sent.
 */
function checkUrl(raw: string, base: URL | undefined): URL {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new FetchError(
      'bad_url',
      base ? 'it redirected to something that is not a valid URL' : 'it is not a valid URL',
      raw,
    );
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const what = `a ${url.protocol.replace(/:$/, '')}: URL`;
    throw new FetchError(
      'bad_scheme',
      base
        ? `it redirected to ${what}; only http and https are fetched`
        : `only http and https URLs are fetched, not ${what}`,
      url.protocol === 'http:' || url.protocol === 'https:' ? shown : raw,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new FetchError(
      'bad_url',
      base
        ? 'it redirected to a URL containing a user name or password'
        : 'URLs containing a user name or password are not fetched',
      shown,
    );
  }
  if (url.hostname === '') throw new FetchError('bad_url', 'the URL has no host', raw);
  url.hash = '';
  return url;
}

/** Finds an error of a given code in an error, its causes and aggregated errors. */
function findCode(
  error: unknown,
  codes: readonly string[],
  depth = 0,
): (Error & { code?: string }) | undefined {
  if (!(error instanceof Error) || depth > 5) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && codes.includes(code)) return error as Error & { code: string };
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = findCode(inner, codes, depth + 1);
      if (found) return found;
    }
  }
  return findCode(error.cause, codes, depth + 1);
}

const NETWORK_REASONS: Array<[string[], string]> = [
  [['ECONNREFUSED'], 'the connection was refused'],
  [['ENOTFOUND', 'EAI_NONAME', 'EAI_NODATA'], 'the host name does not exist'],
  [['EAI_AGAIN', 'EAI_FAIL'], 'the host name could not be looked up'],
  [['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'], 'the connection was closed unexpectedly'],
  [['EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EAFNOSUPPORT'], 'the host cannot be reached'],
  [['UND_ERR_HEADERS_OVERFLOW'], 'the response headers are too large'],
  [['EPROTO'], 'the secure connection (TLS) could not be set up'],
];

/**
 * Certificate problems of an https site, each in words that say what is wrong. They are kept apart
 * from "no TLS at all" on purpose: a bad certificate can also mean someone is in the middle, so the
 * sign-in page never suggests plain http for them.
 */
const CERTIFICATE_REASONS: Array<[string[], string]> = [
  [['CERT_HAS_EXPIRED'], 'its security certificate has expired'],
  [['CERT_NOT_YET_VALID'], 'its security certificate is not valid yet'],
  [['ERR_TLS_CERT_ALTNAME_INVALID'], 'its security certificate is for a different name'],
  [['CERT_REVOKED'], 'its security certificate has been revoked'],
  [
    [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'UNABLE_TO_GET_ISSUER_CERT',
      'CERT_UNTRUSTED',
      'CERT_SIGNATURE_FAILURE',
    ],
    'its security certificate is not from an authority Latchkey trusts (it may be self-signed)',
  ],
];

/**
 * TLS failures meaning the host does not do https at all: it answered the handshake in plain HTTP
 * (`wrong version number`), or refused it for want of a certificate for this name.
 */
const NO_TLS_CODES = [
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_TLSV1_UNRECOGNIZED_NAME',
  'ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR',
];

/** Node's words when the server hangs up during the TLS handshake (no certificate for the name). */
const HANDSHAKE_CUT = /before secure TLS connection was established/;

/** An https URL that failed on TLS itself: a certificate problem, or no TLS at all; else undefined. */
function tlsFailure(error: unknown, url: URL): FetchError | undefined {
  if (url.protocol !== 'https:') return undefined;
  for (const [codes, reason] of CERTIFICATE_REASONS) {
    if (findCode(error, codes)) return new FetchError('bad_certificate', reason, url.href);
  }
  if (findCode(error, ['ECONNREFUSED'])) {
    return new FetchError(
      'no_tls',
      'nothing answers on its secure (https) port: the connection was refused',
      url.href,
    );
  }
  const cut = findCode(error, ['ECONNRESET']);
  if (findCode(error, NO_TLS_CODES) || (cut && HANDSHAKE_CUT.test(cut.message))) {
    return new FetchError(
      'no_tls',
      'it does not speak https: the secure connection could not be set up',
      url.href,
    );
  }
  return undefined;
}

/** Turns whatever undici, net, tls or zlib threw into a FetchError with a plain-words message. */
function toFetchError(error: unknown, url: URL, deadline: Deadline, options: TimeoutOptions): FetchError {
  if (error instanceof FetchError) return error;
  const href = url.href;
  if (deadline.expired) {
    return new FetchError('timeout', `it did not complete within ${duration(deadline.ms)}`, href);
  }
  if (deadline.signal.aborted) return new FetchError('network', 'the fetch was cancelled', href);
  if (findCode(error, ['LATCHKEY_BLOCKED_ADDRESS']) instanceof BlockedAddressError) {
    return new FetchError(
      'blocked_address',
      `${url.hostname} ${isIP(url.hostname.replace(/^\[|\]$/g, '')) ? 'is' : 'points to'} a private or reserved network address; only public addresses are fetched`,
      href,
    );
  }
  if (findCode(error, ['LATCHKEY_CONNECT_TIMEOUT']) instanceof ConnectTimeoutError) {
    return new FetchError('timeout', `could not connect within ${duration(options.connectTimeoutMs)}`, href);
  }
  if (findCode(error, ['UND_ERR_HEADERS_TIMEOUT'])) {
    return new FetchError('timeout', `it did not answer within ${duration(options.headersTimeoutMs)}`, href);
  }
  if (findCode(error, ['UND_ERR_BODY_TIMEOUT'])) {
    return new FetchError('timeout', 'it stopped sending its response', href);
  }
  const tls = tlsFailure(error, url);
  if (tls) return tls;
  for (const [codes, reason] of NETWORK_REASONS) {
    if (findCode(error, codes)) return new FetchError('network', reason, href);
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('HPE_')) {
    return new FetchError('network', 'the server sent an invalid HTTP response', href);
  }
  if (typeof code === 'string' && (code.startsWith('Z_') || code.startsWith('ERR__ERROR'))) {
    return new FetchError('network', 'the compressed response is corrupt', href);
  }
  return new FetchError('network', 'the request failed', href);
}

interface TimeoutOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
}

/** The response's `charset` when TextDecoder knows it (e.g. iso-8859-1), else UTF-8. */
function decoderFor(contentType: string | null): TextDecoder {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '')?.[1];
  if (charset) {
    try {
      return new TextDecoder(charset);
    } catch {
      // Unknown label: fall through to UTF-8.
    }
  }
  return new TextDecoder('utf-8');
}

function tooLarge(maxBytes: number, url: string): FetchError {
  return new FetchError('too_large', `the response is larger than the ${size(maxBytes)} allowed`, url);
}

/**
 * Reads a body, never holding or receiving more than `maxBytes` (SECURITY G5, R4). The cap is
 * counted twice: on the bytes read from the socket, so a huge or endless body is cut the moment it
 * crosses the cap (destroying the body aborts the request and closes the socket; nothing more is
 * read), and after undoing `Content-Encoding`, so a small compressed body cannot expand into a
 * large one (no decompression bombs).
 */
async function readBody(
  body: Readable,
  encoding: string | null,
  maxBytes: number,
  url: string,
): Promise<Buffer> {
  const coding = (encoding ?? '').trim().toLowerCase();
  if (coding === '' || coding === 'identity') return readCapped(body, body, maxBytes, url);
  const decoder =
    coding === 'gzip' || coding === 'x-gzip'
      ? createGunzip()
      : coding === 'br'
        ? createBrotliDecompress()
        : coding === 'deflate'
          ? createInflate()
          : undefined;
  if (!decoder) {
    body.destroy();
    throw new FetchError('network', `the response uses an unsupported content encoding (${coding})`, url);
  }
  let received = 0;
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > maxBytes) {
      body.destroy();
      decoder.destroy(tooLarge(maxBytes, url));
    }
  });
  body.on('error', (error) => decoder.destroy(error));
  body.pipe(decoder);
  return readCapped(decoder, body, maxBytes, url);
}

/**
 * Collects `stream` up to `maxBytes`; on any exit before the end (cap, error, deadline) the socket
 * side, `source`, is destroyed at once so undici stops reading and drops the connection.
 */
async function readCapped(
  stream: Readable,
  source: Readable,
  maxBytes: number,
  url: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += buffer.length;
      if (total > maxBytes) throw tooLarge(maxBytes, url);
      chunks.push(buffer);
    }
  } finally {
    if (!source.readableEnded) source.destroy();
    if (!stream.readableEnded) stream.destroy();
  }
  return Buffer.concat(chunks, total);
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      try {
        headers.append(name, one);
      } catch {
        // A value WHATWG Headers refuses (control characters); drop it rather than fail the fetch.
      }
    }
  }
  return headers;
}

function firstHeader(value: string | string[] | undefined): string | null {
  return (Array.isArray(value) ? value[0] : value) ?? null;
}

/** Drains (bounded) or drops a body we do not need, so the connection can be reused. */
async function discard(
  body: Readable & { dump?: (opts?: { limit: number }) => Promise<void> },
): Promise<void> {
  try {
    if (body.dump) await body.dump({ limit: 64 * 1024 });
    else body.destroy();
  } catch {
    body.destroy();
  }
}

/**
 * undici (~100 ms, ~20 MB to import) is required by the first outbound fetch: a server that only
 * answers resource servers, and most CLI commands, never fetch (DESIGN "Performance targets").
 */
const loadUndici = (): typeof import('undici') =>
  createRequire(import.meta.url)('undici') as typeof import('undici');

/**
 * Creates the fetcher. One undici Agent (connection pool) per fetcher, made at the first fetch;
 * call `close()` on shutdown. A malformed allow-list CIDR throws here, at start-up.
 */
export function createFetcher(options: FetcherOptions): ClosableFetcher {
  const allowList = createAllowList(options.allowPrivateNetwork);
  let pool: Agent | undefined;
  const agent = (): Agent =>
    (pool ??= new (loadUndici().Agent)({
      connect: createGuardedConnector({
        connectTo: options.connectTo,
        allowList,
        connectTimeoutMs: options.connectTimeoutMs,
        lookup: options.lookup,
      }),
      // Counted from when the request is written; undici checks it on a ~1 s clock, which is fine for
      // the 5 s default. The total deadline below is exact.
      headersTimeout: options.headersTimeoutMs,
      // Idle gap between body chunks; the total deadline bounds the whole body anyway.
      bodyTimeout: options.totalTimeoutMs,
      keepAliveTimeout: 4_000,
    }));
  const logger = options.logger;
  const events = options.events;

  for (const rule of options.connectTo) {
    // PROTOCOL §4: connect-to rules bypass the private-network guard, so they are announced loudly.
    logger?.warn(
      { host: rule.host, address: rule.address, port: rule.port },
      'LATCHKEY_CONNECT_TO: this host is connected to a fixed address and may be private',
    );
  }

  const fetcher = async (input: string, fetchOptions: FetchOptions): Promise<FetchResult> => {
    const started = performance.now();
    const deadline = new Deadline(options.totalTimeoutMs, fetchOptions.signal);
    const maxRedirects = Math.max(0, Math.floor(fetchOptions.maxRedirects ?? DEFAULT_MAX_REDIRECTS));
    const redirects: RedirectHop[] = [];
    let url: URL | undefined;
    try {
      url = checkUrl(input, undefined);
      let method: 'GET' | 'POST' | 'DELETE' = fetchOptions.method ?? 'GET';
      let body = fetchOptions.body;
      let contentType = fetchOptions.contentType;
      let extra: Record<string, string> = {};
      for (const [name, value] of Object.entries(fetchOptions.headers ?? {})) {
        const lower = name.toLowerCase();
        if (!RESERVED_HEADERS.has(lower)) extra[lower] = value;
      }

      for (;;) {
        const headers: Record<string, string> = {
          ...extra,
          'user-agent': options.userAgent,
          accept: fetchOptions.accept,
          'accept-encoding': 'gzip, br',
        };
        if (body !== undefined && contentType) headers['content-type'] = contentType;

        const response: Dispatcher.ResponseData = await agent().request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method,
          headers,
          body: body ?? null,
          signal: deadline.signal,
        });
        const status = response.statusCode;
        const location = firstHeader(response.headers.location);

        if (REDIRECT_STATUSES.has(status) && location !== null && maxRedirects > 0) {
          await discard(response.body);
          if (redirects.length >= maxRedirects) {
            throw new FetchError(
              'too_many_redirects',
              `it redirected more than ${maxRedirects} time${maxRedirects === 1 ? '' : 's'}`,
              url.href,
            );
          }
          const next = checkUrl(location, url);
          redirects.push({ from: url.href, to: next.href, status });
          // RFC 9110 §15.4: 303 always, and 301/302 after a POST in practice, continue as GET.
          if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
            contentType = undefined;
          }
          if (next.origin !== url.origin) {
            extra = Object.fromEntries(
              Object.entries(extra).filter(([name]) => !CREDENTIAL_HEADERS.has(name)),
            );
          }
          url = next;
          continue;
        }

        // Content-Length counts the bytes on the wire, compressed or not: above the cap, none is read.
        const contentLength = Number(firstHeader(response.headers['content-length']) ?? Number.NaN);
        if (contentLength > fetchOptions.maxBytes) {
          response.body.destroy();
          throw tooLarge(fetchOptions.maxBytes, url.href);
        }
        const encoding = firstHeader(response.headers['content-encoding']);
        const bytes = await readBody(response.body, encoding, fetchOptions.maxBytes, url.href);
        const result: FetchResult = {
          url: url.href,
          status,
          headers: toHeaders(response.headers),
          body: decoderFor(firstHeader(response.headers['content-type'])).decode(bytes),
          redirects,
        };
        logger?.debug(
          {
            url: loggable(url.href),
            status,
            ms: Math.round(performance.now() - started),
            redirects: redirects.length,
          },
          'fetched',
        );
        events?.emit('fetch.done', { outcome: status >= 400 ? 'http_error' : 'ok' });
        return result;
      }
    } catch (error) {
      const failure = toFetchError(error, url ?? new URL('about:blank'), deadline, options);
      const blocked = findCode(error, ['LATCHKEY_BLOCKED_ADDRESS']);
      logger?.debug(
        {
          url: loggable(url?.href ?? input),
          error: failure.code,
          address: blocked instanceof BlockedAddressError ? blocked.address : undefined,
          ms: Math.round(performance.now() - started),
          redirects: redirects.length,
        },
        'fetch failed',
      );
      events?.emit('fetch.done', { outcome: failure.code });
      throw failure;
    } finally {
      deadline.clear();
    }
  };

  return Object.assign(fetcher, {
    async close() {
      await pool?.close();
    },
  });
}
