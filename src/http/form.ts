/**
 * Strict parsing of `application/x-www-form-urlencoded` request bodies for the OAuth endpoints.
 * RFC 6749 §3.1 / §3.2: parameters MUST NOT be repeated; values with control characters are refused
 * (SECURITY A6) so nothing downstream can smuggle CR/LF into a header or a log line.
 */
import type { Context } from 'hono';
import { InvalidRequest } from '../indieauth/errors.js';
import { mediaType } from '../net/media-type.js';

export type Params = ReadonlyMap<string, string>;

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: text a person pasted keeps tabs and line breaks
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/**
 * One `name=value` pair of unreserved characters (RFC 3986 §2.3), such as an introspection body
 * `token=…`: nothing in it decodes to anything else, so it needs no URLSearchParams.
 */
const PLAIN_PAIR = /^([\w.~-]+)=([\w.~-]*)$/;

const NO_FIELDS: ReadonlySet<string> = new Set();

/**
 * Parses form parameters, refusing repeats and control characters. `multiline` names fields whose
 * value is text a person pasted (a signed PGP message), where tabs and line breaks are allowed.
 */
export function parseParams(text: string, multiline: ReadonlySet<string> = NO_FIELDS): Params {
  const plain = PLAIN_PAIR.exec(text);
  if (plain) return new Map([[plain[1] as string, plain[2] as string]]);
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (params.has(key))
      throw new InvalidRequest(`The parameter "${safeName(key)}" was sent more than once.`);
    if ((multiline.has(key) ? CONTROL_BUT_LINES : CONTROL).test(value) || CONTROL.test(key)) {
      throw new InvalidRequest(`The parameter "${safeName(key)}" contains control characters.`);
    }
    params.set(key, value);
  }
  return params;
}

/** OAuth request bodies are small forms; anything bigger is refused before it is read whole. */
export const MAX_FORM_BYTES = 64 * 1024;

/** Reads the request body as form parameters; JSON bodies are accepted too, for convenience. */
export async function readForm(c: Context): Promise<Params> {
  const type = mediaType(c.req.header('content-type'));
  const text = await readBody(c);
  if (type === 'application/json') return parseJsonParams(text);
  if (type !== '' && type !== 'application/x-www-form-urlencoded') {
    throw new InvalidRequest('Send the parameters as application/x-www-form-urlencoded.');
  }
  return parseParams(text);
}

async function readBody(c: Context): Promise<string> {
  const tooLarge = () => new InvalidRequest(`The request body is larger than ${MAX_FORM_BYTES} bytes.`, 413);
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > MAX_FORM_BYTES) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_FORM_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonParams(text: string): Params {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new InvalidRequest('The request body is not valid JSON.');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InvalidRequest('The request body must be a JSON object.');
  }
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string')
      throw new InvalidRequest(`The parameter "${safeName(key)}" must be a string.`);
    form.append(key, value);
  }
  return parseParams(form.toString());
}

/** A required, non-empty parameter. */
export function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === '') throw new InvalidRequest(`The "${name}" parameter is missing.`);
  return value;
}

export function optional(params: Params, name: string): string | undefined {
  const value = params.get(name);
  return value === '' ? undefined : value;
}

function safeName(name: string): string {
  return name.replace(/[^\w.-]/g, '?').slice(0, 40);
}

/** The bearer token of an `Authorization: Bearer …` header (RFC 6750 §2.1), if any. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
  return match?.[1];
}
