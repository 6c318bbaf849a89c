/**
 * The over-the-wire twin of walker.ts: walks the sign-in pages with real HTTP requests like a
 * browser without JavaScript (keeps cookies, reads forms' step tokens, posts with the Origin a
 * browser sends). Redirects are returned, not followed. Each page says which backend answered
 * when a round-robin proxy (round-robin.ts) sits in front.
 */

import { decodeEntities as decode } from './html-text.js';
import { BACKEND_HEADER } from './round-robin.js';

export interface WirePage {
  status: number;
  headers: Headers;
  body: string;
  location: string | undefined;
  /** The backend port the proxy sent the request to; undefined without a proxy. */
  backend: number | undefined;
  /** The step token of the (first) form posting to `action`. */
  step(action: string): string;
  /** Plain text of the page, tags removed, entities decoded (for assertions). */
  text: string;
}

export async function readPage(response: Response): Promise<WirePage> {
  const body = await response.text();
  const backend = response.headers.get(BACKEND_HEADER);
  return {
    status: response.status,
    headers: response.headers,
    body,
    location: response.headers.get('location') ?? undefined,
    backend: backend === null ? undefined : Number(backend),
    text: decode(body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')),
    step(action: string) {
      const at = body.indexOf(`action="${action}"`);
      if (at < 0) throw new Error(`no form posting to ${action} on the page:\n${body.slice(0, 2000)}`);
      const match = /name="step" value="([^"]+)"/.exec(body.slice(at));
      if (!match?.[1]) throw new Error(`no step token in the form posting to ${action}`);
      return match[1];
    },
  };
}

export class HttpWalker {
  readonly cookies = new Map<string, string>();
  private readonly origin: string;

  /** `base`: the public URL the browser talks to (the proxy). */
  constructor(readonly base: string) {
    this.origin = new URL(base).origin;
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  private async read(response: Response): Promise<WirePage> {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1);
      if (value === '' || /Max-Age=0/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return readPage(response);
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<WirePage> {
    return this.read(
      await fetch(new URL(path, this.base), {
        redirect: 'manual',
        headers: { accept: 'text/html', ...this.cookieHeader(), ...headers },
      }),
    );
  }

  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    return this.read(
      await fetch(new URL(path, this.base), {
        method: 'POST',
        redirect: 'manual',
        headers: {
          accept: 'text/html',
          'content-type': 'application/x-www-form-urlencoded',
          origin: this.origin,
          ...this.cookieHeader(),
          ...headers,
        },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  }
}
