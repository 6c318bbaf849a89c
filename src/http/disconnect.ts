/**
 * Tells a client that went away mid-request from a real failure (SECURITY R8): a half-sent body or
 * a closed socket is the client's choice, not our error, so it is logged at debug level and no 500
 * is built for a socket nobody reads.
 */
import type { IncomingMessage } from 'node:http';

/** Codes Node and the WHATWG stream bridge use when the peer closed the connection. */
const DISCONNECT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

function looksLikeDisconnect(error: unknown, depth = 0): boolean {
  if (depth > 5 || typeof error !== 'object' || error === null) return false;
  const { code, name, message, cause } = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
  };
  if (typeof code === 'string' && DISCONNECT_CODES.has(code)) return true;
  if (name === 'AbortError' || message === 'aborted') return true;
  return looksLikeDisconnect(cause, depth + 1);
}

/**
 * True when `error` is what a disconnect produces AND the request's socket really is gone, so a
 * genuine failure that happens to mention a reset (an upstream fetch, the store) is still an error.
 */
export function isClientDisconnect(error: unknown, incoming: IncomingMessage | undefined): boolean {
  if (!incoming) return false;
  const gone = (incoming.destroyed && !incoming.complete) || incoming.socket?.destroyed === true;
  return gone && looksLikeDisconnect(error);
}

/** What the node adapter passes as `c.env`: the raw request, when there is one. */
export function incomingOf(env: unknown): IncomingMessage | undefined {
  return (env as { incoming?: IncomingMessage } | undefined)?.incoming;
}
