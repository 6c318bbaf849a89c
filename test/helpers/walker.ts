/**
 * Walks the sign-in pages in-process like a browser without JavaScript: keeps the session cookie,
 * reads forms' step tokens, posts forms with the Origin a browser sends. Redirects are returned, not
 * followed, so tests can look at each one.
 */
import type { Hono } from 'hono';
import { decodeEntities as decode } from './html-text.js';

export interface Page {
  status: number;
  headers: Headers;
  body: string;
  location: string | undefined;
  /** The step token of the (first) form posting to `action`. */
  step(action: string): string;
  /** Plain text of the page, tags removed, entities decoded (for assertions). */
  text: string;
}

export class Walker {
  readonly cookies = new Map<string, string>();

  constructor(
    private readonly app: Hono,
    readonly origin = 'https://login.test',
  ) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private async read(response: Response): Promise<Page> {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /Max-Age=0/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const body = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body,
      location: response.headers.get('location') ?? undefined,
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

  async get(path: string, headers: Record<string, string> = {}): Promise<Page> {
    const url = path.startsWith('http') ? path : `${this.origin}${path}`;
    return this.read(
      await this.app.request(url, {
        headers: { accept: 'text/html', cookie: this.cookieHeader(), ...headers },
      }),
    );
  }

  async post(
    path: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Page> {
    return this.read(
      await this.app.request(`${this.origin}${path}`, {
        method: 'POST',
        headers: {
          accept: 'text/html',
          'content-type': 'application/x-www-form-urlencoded',
          origin: this.origin,
          cookie: this.cookieHeader(),
          ...headers,
        },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  }
}
