/**
 * OAuth responses. Everything that carries a code, token or identity is `Cache-Control: no-store`
 * (RFC 6749 §5.1, PROTOCOL §2); form-encoded only when the client's Accept prefers it (PROTOCOL §8,
 * for legacy IndieAuth clients).
 */
import type { Context } from 'hono';

type Flat = Record<string, string | number | boolean | undefined>;

export function prefersForm(accept: string | undefined): boolean {
  if (!accept) return false;
  let form = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (type === 'application/x-www-form-urlencoded') form = Math.max(form, q);
    if (type === 'application/json') json = Math.max(json, q);
  }
  return form > 0 && form > json;
}

export function oauthResponse(
  c: Context,
  body: object,
  status: 200 | 400 | 401 | 404 | 413 | 429 | 500 = 200,
): Response {
  c.header('Cache-Control', 'no-store');
  c.header('Pragma', 'no-cache');
  if (prefersForm(c.req.header('accept')) && isFlat(body)) {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(body)) if (value !== undefined) form.set(key, String(value));
    return c.body(form.toString(), status, { 'Content-Type': 'application/x-www-form-urlencoded' });
  }
  return c.json(body, status);
}

function isFlat(body: object): body is Flat {
  return Object.values(body).every(
    (v) => v === undefined || ['string', 'number', 'boolean'].includes(typeof v),
  );
}
