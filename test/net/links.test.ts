/**
 * Reading rels from a response (PROTOCOL §5, SECURITY G7): Link headers first, HTML in document
 * order, relative URLs resolved, non-HTML bodies never parsed.
 */
import { describe, expect, it } from 'vitest';
import { isHtmlContentType, parseLinks } from '../../src/net/links.js';

const PAGE = 'https://alice.example/blog/';

function read(body: string, headers: Record<string, string> = {}, url = PAGE) {
  return parseLinks({ url, headers: new Headers({ 'content-type': 'text/html', ...headers }), body });
}

describe('parseLinks', () => {
  it('a Link header wins over HTML for the same rel', async () => {
    const links = await read('<link rel="authorization_endpoint" href="https://html.example/auth">', {
      link: '<https://header.example/auth>; rel="authorization_endpoint"',
    });
    expect(links.first('authorization_endpoint')).toBe('https://header.example/auth');
    expect(links.urls('authorization_endpoint')).toEqual([
      'https://header.example/auth',
      'https://html.example/auth',
    ]);
    expect(links.links('authorization_endpoint').map((l) => l.source)).toEqual(['header', 'html']);
  });

  it('HTML links come in document order across <link>, <a> and <area>', async () => {
    const links = await read(`<!doctype html><html><head>
      <link rel="me" href="https://one.example/">
      </head><body>
      <a rel="me" href="https://two.example/">Two</a>
      <map><area rel="me" href="https://three.example/" alt="Three"></map>
      <p><a rel="nofollow me" href="https://four.example/">Four</a></p>
      <a rel="ME" href="https://five.example/">Five</a>
      <a rel="me" href="https://two.example/">Two again</a>
      </body></html>`);
    expect(links.urls('me')).toEqual([
      'https://one.example/',
      'https://two.example/',
      'https://three.example/',
      'https://four.example/',
      'https://five.example/',
    ]);
    expect(links.first('me')).toBe('https://one.example/');
    expect(links.links('me')[1]?.text).toBe('Two');
    expect(links.urls('nofollow')).toEqual(['https://four.example/']);
  });

  it('resolves relative URLs against the response URL', async () => {
    const links = await read(
      '<link rel="authorization_endpoint" href="../auth"><a rel="me" href="//github.com/alice">g</a>' +
        '<a rel="me" href="/go?to=https://elsewhere.example/">x</a>',
      { link: '</token>; rel="token_endpoint", <meta.json>; rel="indieauth-metadata"' },
    );
    expect(links.first('authorization_endpoint')).toBe('https://alice.example/auth');
    expect(links.first('token_endpoint')).toBe('https://alice.example/token');
    expect(links.first('indieauth-metadata')).toBe('https://alice.example/blog/meta.json');
    expect(links.urls('me')).toEqual([
      'https://github.com/alice',
      'https://alice.example/go?to=https://elsewhere.example/',
    ]);
  });

  it('honours <base href> for HTML links, also a relative one, but never for Link headers', async () => {
    const links = await read('<head><base href="/people/alice/"></head><a rel="me" href="card">c</a>', {
      link: '<key.txt>; rel="pgpkey"',
    });
    expect(links.baseUrl).toBe('https://alice.example/people/alice/');
    expect(links.first('me')).toBe('https://alice.example/people/alice/card');
    expect(links.first('pgpkey')).toBe('https://alice.example/blog/key.txt');
    const absolute = await read('<base href="https://cdn.example/x/"><link rel="me" href="y">');
    expect(absolute.first('me')).toBe('https://cdn.example/x/y');
    expect(absolute.urls('latchkey-base')).toEqual([]);
  });

  it('reads pages whose links are all in <head>', async () => {
    const links = await read(
      '<html><head><link rel="authorization_endpoint" href="/auth"></head><body>hi</body></html>',
    );
    expect(links.first('authorization_endpoint')).toBe('https://alice.example/auth');
    expect((await read('<link rel="me" href="/x">')).first('me')).toBe('https://alice.example/x');
  });

  it('splits multi-valued rels in headers and HTML, case-insensitively', async () => {
    const links = await read('<a rel="me\tauthn" href="mailto:alice@alice.example">mail</a>', {
      link: '<https://a.example/>; rel="ME authn"',
    });
    expect(links.urls('me')).toEqual(['https://a.example/', 'mailto:alice@alice.example']);
    expect(links.urls('authn')).toEqual(['https://a.example/', 'mailto:alice@alice.example']);
  });

  it('keeps working when one Link header value is malformed, and skips anchored links', async () => {
    const headers = new Headers({ 'content-type': 'text/plain' });
    headers.append('link', '<https://good.example/auth>; rel="authorization_endpoint"');
    headers.append('link', 'garbage without brackets');
    headers.append('link', '<https://other.example/>; rel="me"; anchor="https://someone-else.example/"');
    headers.append('link', '<https://good.example/token>; rel="token_endpoint"; title="Tokens"');
    const links = await parseLinks({ url: PAGE, headers, body: '' });
    expect(links.first('authorization_endpoint')).toBe('https://good.example/auth');
    expect(links.first('token_endpoint')).toBe('https://good.example/token');
    expect(links.links('token_endpoint')[0]?.text).toBe('Tokens');
    expect(links.urls('me')).toEqual([]);
  });

  it('collapses whitespace in link text and reports a missing rel as empty', async () => {
    const links = await read('<a rel="me" href="https://github.com/alice">\n  Git<b>Hub</b>\n  profile </a>');
    expect(links.links('me')[0]?.text).toBe('GitHub profile');
    expect(links.first('authn')).toBeUndefined();
    expect(links.urls('authn')).toEqual([]);
  });

  it('exposes microformats (h-card) of the page', async () => {
    const links = await read(
      '<div class="h-card"><a class="u-url p-name" href="/">Alice</a><img class="u-photo" src="me.jpg"></div>',
    );
    const [card] = links.items();
    expect(card?.type).toEqual(['h-card']);
    expect(card?.properties.name).toEqual(['Alice']);
    expect(card?.properties.photo).toEqual(['https://alice.example/blog/me.jpg']);
  });

  describe('G7: non-HTML responses are not parsed for links', () => {
    const body =
      '<link rel="authorization_endpoint" href="https://evil.example/auth"><a rel="me" href="https://evil.example/">x</a>';
    it.each([['text/plain'], ['application/json'], ['text/html-sandboxed'], ['image/svg+xml'], [null]])(
      '%s',
      async (contentType) => {
        const headers = new Headers(contentType ? { 'content-type': contentType } : {});
        headers.set('link', '<https://good.example/token>; rel="token_endpoint"');
        const links = await parseLinks({ url: PAGE, headers, body });
        expect(links.html).toBe(false);
        expect(links.first('authorization_endpoint')).toBeUndefined();
        expect(links.urls('me')).toEqual([]);
        expect(links.items()).toEqual([]);
        expect(links.first('token_endpoint')).toBe('https://good.example/token');
      },
    );

    it('a JSON body with markup inside is not parsed', async () => {
      const links = await parseLinks({
        url: PAGE,
        headers: new Headers({ 'content-type': 'application/json' }),
        body: JSON.stringify({ html: body }),
      });
      expect(links.all).toEqual([]);
    });

    it('recognises HTML media types with parameters', async () => {
      expect(isHtmlContentType('text/html; charset=utf-8')).toBe(true);
      expect(isHtmlContentType('Application/XHTML+XML')).toBe(true);
      expect(isHtmlContentType('text/plain; x=text/html')).toBe(false);
      expect(isHtmlContentType(undefined)).toBe(false);
    });
  });
});
