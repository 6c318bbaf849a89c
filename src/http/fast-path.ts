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

export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createFastPath(services: Services): FastPath {
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

  const run = (req: IncomingMessage, res: ServerResponse, work: () => Promise<Answer>) => {
    work().then(
      (answer) => send(res, answer, true),
      (error: unknown) => {
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
      },
    );
  };

  return (req, res) => {
    if (prefersForm(req.headers.accept)) return false;
    if (req.method === 'GET' && req.url === '/token') {
      setRoute(req, '/token'); // the label Hono's route would give (src/http/metrics.ts)
      run(req, res, () => verificationAnswer(services, req.headers.authorization));
      return true;
    }
    if (req.method === 'POST' && req.url === '/introspect') {
      const length = Number(req.headers['content-length']);
      const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/x-www-form-urlencoded' || !(length >= 0 && length <= MAX_FORM_BYTES))
        return false;
      setRoute(req, '/introspect');
      run(req, res, async () => {
        await authenticateIntrospection(services, req.headers.authorization);
        const body = await readSmallBody(req, length);
        return introspectionAnswer(services, parseParams(body));
      });
      return true;
    }
    return false;
  };
}

/** Reads a body whose Content-Length is known and small; never more than that length. */
function readSmallBody(req: IncomingMessage, length: number): Promise<string> {
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
