/**
 * A node:http fast path for the two endpoints resource servers call on every request:
 * `GET /token` (verification) and `POST /introspect`. It skips building WHATWG Request/Response
 * objects, which cost more than the database lookup itself (DESIGN "Fast where it matters").
 *
 * It holds no rules: answers come from token-answers.ts, the same functions the Hono routes use,
 * and the headers are the ones the middleware sets. A test compares both paths byte for byte.
 * Anything unusual (form-encoded responses, other content types, chunked or large bodies) is left
 * to Hono by returning false before the request is touched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { OAuthError } from '../indieauth/errors.js';
import { after, atEndOfTurn, type MaybePromise } from '../maybe-promise.js';
import { mediaType } from '../net/media-type.js';
import type { Services } from '../services.js';
import { isClientDisconnect } from './disconnect.js';
import { MAX_FORM_BYTES, parseParams } from './form.js';
import { setRoute } from './metrics.js';
import { API_CSP } from './middleware.js';
import { prefersForm } from './respond.js';
import {
  type Answer,
  authenticateIntrospection,
  errorAnswer,
  introspectionAnswer,
  SERVER_ERROR,
  verificationAnswer,
} from './token-answers.js';

/** What securityHeaders + cors add to every answer on these paths. */
const COMMON_HEADERS: Record<string, string> = {
  'Content-Security-Policy': API_CSP,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Access-Control-Allow-Origin': '*',
};

/** What oauthResponse adds to successful answers. */
const SUCCESS_HEADERS: Record<string, string> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

const JSON_TYPE = { 'Content-Type': 'application/json' } as const;

/** node:http's flat header list (`[name, value, name, value…]`), which skips an object walk. */
function flat(headers: Record<string, string>, length?: string): string[] {
  const list = Object.entries(headers).flat();
  if (length !== undefined) list.push('Content-Length', length);
  return list;
}
const SUCCESS_ANSWER_HEADERS = flat({ ...COMMON_HEADERS, ...SUCCESS_HEADERS, ...JSON_TYPE });
const ERROR_ANSWER_HEADERS = flat({ ...COMMON_HEADERS, ...JSON_TYPE });

/** True when the fast path took the request; false leaves it, untouched, to Hono. */
export type FastPath<Res extends ServerResponse = ServerResponse> = (
  req: IncomingMessage,
  res: Res,
) => boolean;

/**
 * How the fast path tells the server (src/server.ts) what became of each request it took, so each
 * is counted once and a drain knows every answer still to come.
 */
export interface FastPathTracking<Res extends ServerResponse = ServerResponse> {
  /**
   * The whole answer (or the cut connection) was handed to the socket in the turn the request was
   * read: nothing is left to watch. Most answers: a cached SQLite lookup.
   */
  answered(req: IncomingMessage, res: Res): void;
  /** The answer comes later (a database round trip, a body still arriving): watch it until it closes. */
  pending(req: IncomingMessage, res: Res): void;
}

export function createFastPath<Res extends ServerResponse>(
  services: Services,
  tracking: FastPathTracking<Res>,
): FastPath<Res> {
  const send = (res: ServerResponse, answer: Answer, success: boolean) => {
    const body = JSON.stringify(answer.body);
    const length = String(Buffer.byteLength(body));
    // Successes (nearly every request) reuse one flat header list; only the length is per answer.
    res.writeHead(
      answer.status,
      answer.headers
        ? flat(
            { ...COMMON_HEADERS, ...(success ? SUCCESS_HEADERS : {}), ...answer.headers, ...JSON_TYPE },
            length,
          )
        : [...(success ? SUCCESS_ANSWER_HEADERS : ERROR_ANSWER_HEADERS), 'Content-Length', length],
    );
    res.end(body);
  };

  const fail = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    if (error instanceof OAuthError) return send(res, errorAnswer(error), false);
    if (isClientDisconnect(error, req)) {
      // R8: the client hung up mid-request; not our error, and nobody would read a 500.
      services.logger.debug(
        { event: 'http.client_gone', path: req.url, err: String(error) },
        'client went away',
      );
      return res.destroy();
    }
    services.logger.error({ event: 'http.unhandled', err: String(error) }, 'unhandled error (fast path)');
    if (res.headersSent) res.destroy();
    else send(res, SERVER_ERROR, false);
  };

  /**
   * Sends the answer at once when it is ready (a cached SQLite lookup: the whole request is then
   * handled in this call, like a bare node:http handler), else when its promise settles. `watched`:
   * the server watches this response already (`tracking.pending` was called for it).
   */
  const answer = (req: IncomingMessage, res: Res, work: () => MaybePromise<Answer>, watched = false) => {
    let result: MaybePromise<Answer>;
    try {
      result = work();
    } catch (error) {
      fail(req, res, error);
      if (!watched) tracking.answered(req, res);
      return;
    }
    if (result instanceof Promise) {
      if (!watched) tracking.pending(req, res);
      result.then(
        (ready) => send(res, ready, true),
        (error: unknown) => fail(req, res, error),
      );
    } else {
      send(res, result, true);
      if (!watched) tracking.answered(req, res);
    }
  };

  return (req, res) => {
    const isVerification = req.method === 'GET' && req.url === '/token';
    if (!isVerification && !(req.method === 'POST' && req.url === '/introspect')) return false;
    const headers = readHeaders(req.rawHeaders);
    if (prefersForm(headers.accept)) return false;
    const { authorization } = headers;
    if (isVerification) {
      setRoute(req, '/token'); // the label Hono's route would give (src/http/metrics.ts)
      answer(req, res, () => verificationAnswer(services, authorization));
      return true;
    }
    const length = Number(headers.contentLength);
    const form = mediaType(headers.contentType) === 'application/x-www-form-urlencoded';
    if (!form || !(length >= 0 && length <= MAX_FORM_BYTES)) return false;
    setRoute(req, '/introspect');
    readSmallBody(
      req,
      length,
      // The credential is judged before the body is parsed, as on the Hono route.
      (body, watched) =>
        answer(
          req,
          res,
          () =>
            after(authenticateIntrospection(services, authorization), () =>
              introspectionAnswer(services, parseParams(body)),
            ),
          watched,
        ),
      // Only after `waiting`: the server watches the response, and counts it when it closes.
      (error) => fail(req, res, error),
      () => tracking.pending(req, res),
    );
    return true;
  };
}

/** The request headers the fast path reads. */
interface FastHeaders {
  accept?: string;
  authorization?: string;
  contentType?: string;
  contentLength?: string;
}

/**
 * Reads the few headers the fast path needs from `rawHeaders`, so it sees them exactly as the Hono
 * routes do: a repeated header is joined with ", ", as the Fetch API's Headers join it (node's
 * `req.headers` keeps only the first Authorization instead), so two Authorization headers are no
 * bearer token on either path.
 */
function readHeaders(raw: readonly string[]): FastHeaders {
  const found: FastHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const key = FAST_HEADERS.get((raw[i] as string).toLowerCase());
    if (key === undefined) continue;
    const value = raw[i + 1] as string;
    const seen = found[key];
    found[key] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return found;
}

const FAST_HEADERS = new Map<string, keyof FastHeaders>([
  ['accept', 'accept'],
  ['authorization', 'authorization'],
  ['content-type', 'contentType'],
  ['content-length', 'contentLength'],
]);

/**
 * Hands `done` a body whose Content-Length is known and small, never reading more than that.
 * Such a body nearly always comes in the same read as the headers: node's parser has then buffered
 * all of it by the microtask after this handler, and it is taken in one `read()`, with no stream
 * events, in the same turn (`done(body, false)`). Otherwise `waiting` is told first, and the body
 * is collected as it arrives (`done(body, true)`, or `failed` for a body that broke off).
 *
 * "All of it" is `length` bytes buffered, not `req.complete`: node runs microtasks after the
 * parser's body callback and before its message-complete callback in the same read, so here the
 * request is never yet complete. The parser hands the body exactly Content-Length bytes (a request
 * with Transfer-Encoding too is refused before it gets here), so `length` buffered is the whole
 * body. `read()` marks the request consumed, and node then leaves it alone after the answer;
 * `resume()` lets it reach its end once the parser is done with it, as node's own drain would.
 */
function readSmallBody(
  req: IncomingMessage,
  length: number,
  done: (body: string, waited: boolean) => void,
  failed: (error: unknown) => void,
  waiting: () => void,
): void {
  atEndOfTurn(() => {
    if (req.readableLength === length) {
      const chunk: Buffer | null = req.read();
      req.resume();
      done(chunk === null ? '' : chunk.toString('utf8'), false);
    } else {
      waiting();
      collectBody(req, length).then((body) => done(body, true), failed);
    }
  });
}

function collectBody(req: IncomingMessage, length: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > length) {
        req.destroy();
        reject(new Error('body longer than its Content-Length'));
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    // A client that hangs up mid-body may not emit 'error'; never leave the answer pending (R8).
    req.on('close', () => {
      if (!req.complete) reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
  });
}
