/**
 * URL rules (IndieAuth §3.2–3.3, PROTOCOL §3, SECURITY A3/A4/A6/F2/F4). The spec's own example tables
 * come first, verbatim.
 */
import { describe, expect, it } from 'vitest';
import {
  displayUrl,
  hostIsWithin,
  isLoopbackHost,
  normaliseSignInInput,
  sameOrigin,
  urlEquivalent,
  validateClientId,
  validateProfileUrl,
  validateRedirectUri,
} from '../../src/indieauth/urls.js';

function reasonOf(check: { ok: true } | { ok: false; reason: string }): string {
  if (check.ok) throw new Error('expected the URL to be refused');
  return check.reason;
}

describe('IndieAuth §3.2 user profile URL examples', () => {
  it.each(['https://example.com/', 'https://example.com/username', 'https://example.com/users?id=100'])(
    'valid: %s',
    (url) => {
      expect(validateProfileUrl(url)).toEqual({ ok: true, url });
    },
  );

  it.each([
    ['example.com', 'missing scheme', /no scheme/],
    ['mailto:user@example.com', 'invalid scheme', /"mailto:" scheme/],
    ['https://example.com/foo/../bar', 'contains a double-dot path segment', /"\." or "\.\." segment/],
    ['https://example.com/#me', 'contains a fragment', /fragment/],
    ['https://user:pass@example.com/', 'contains a username and password', /user name or password/],
    ['https://example.com:8443/', 'contains a port', /port/],
    ['https://172.28.92.51/', 'host is an IP address', /IP address/],
  ])('invalid: %s (%s)', (url, _why, reason) => {
    expect(reasonOf(validateProfileUrl(url))).toMatch(reason);
  });
});

describe('IndieAuth §3.3 client identifier examples', () => {
  it.each([
    ['https://example.com/', false],
    ['https://example.com/username', false],
    ['https://example.com/users?id=100', false],
    ['https://example.com:8443/', false],
    ['http://127.0.0.1:8080/', true],
    ['http://[::1]:8080/', true],
    ['http://localhost:3000/callback', true],
  ])('valid: %s', (url, loopback) => {
    expect(validateClientId(url)).toEqual({ ok: true, url, loopback });
  });

  it.each([
    ['example.com', /no scheme/],
    ['mailto:user@example.com', /"mailto:" scheme/],
    ['https://example.com/foo/../bar', /segment/],
    ['https://example.com/#me', /fragment/],
    ['https://user:pass@example.com/', /user name or password/],
    ['https://172.28.92.51/', /IP address; only the loopback addresses/],
  ])('invalid: %s', (url, reason) => {
    expect(reasonOf(validateClientId(url))).toMatch(reason);
  });

  it('refuses odd spellings of loopback and bad ports', () => {
    expect(reasonOf(validateClientId('http://127.1/'))).toMatch(/spelled unusually/);
    expect(reasonOf(validateClientId('http://[0:0:0:0:0:0:0:1]/'))).toMatch(/spelled unusually/);
    expect(reasonOf(validateClientId('https://example.com:0/'))).toMatch(/port/);
    expect(reasonOf(validateClientId('https://example.com:99999/'))).toMatch(/port/);
    expect(reasonOf(validateClientId('https://example.com:/'))).toMatch(/port/);
  });

  it('marks *.localhost as loopback so it is never fetched', () => {
    expect(validateClientId('http://app.localhost/')).toEqual({
      ok: true,
      url: 'http://app.localhost/',
      loopback: true,
    });
  });
});

describe('F2: invalid profile URLs are refused', () => {
  it.each([
    ['https://0x7f.1/', 'hex IPv4'],
    ['https://2130706433/', 'integer IPv4'],
    ['https://127.1/', 'short IPv4'],
    ['https://0177.0.0.1/', 'octal IPv4'],
    ['https://%31%32%37.0.0.1/', 'percent-encoded IPv4'],
    ['https://１２７．０．０．１/', 'fullwidth IPv4'],
    ['https://127.0.0.1./', 'IPv4 with trailing dot'],
    ['https://[::1]/', 'IPv6 loopback'],
    ['https://[2001:db8::1]/', 'IPv6'],
  ])('an IP host in any spelling: %s (%s)', (url) => {
    expect(reasonOf(validateProfileUrl(url))).toMatch(/IP address/);
  });

  it.each([
    ['https://example.com/foo/%2e%2e/bar', 'percent-encoded ..'],
    ['https://example.com/foo/%2E./bar', 'mixed ..'],
    ['https://example.com/./bar', 'single dot'],
    ['https://example.com/foo/%2e', 'trailing %2e'],
    ['https://example.com/..', 'trailing ..'],
    ['https://host.example/~alice/%2e%2e%2f~mallory/', 'behind an encoded slash'],
    ['https://host.example/~alice/..%2F~mallory/', 'behind an encoded slash, upper case'],
    ['https://host.example/~alice/..%5c~mallory/', 'behind an encoded backslash'],
    ['https://host.example/~alice/..;x/~mallory/', 'before path parameters'],
  ])('dot segments, also percent-encoded or hidden from the URL parser: %s (%s)', (url) => {
    expect(reasonOf(validateProfileUrl(url))).toMatch(/segment/);
  });

  it('an encoded slash that hides no dot segment is a path like any other', () => {
    expect(validateProfileUrl('https://host.example/a%2Fb/')).toEqual({
      ok: true,
      url: 'https://host.example/a%2Fb/',
    });
  });

  it.each([
    ['https://example.com:443/', /port/],
    ['https://example.com:/', /port/],
    ['https://@example.com/', /user name or password/],
    ['https://example.com/#', /fragment/],
    ['https:example.com', /two slashes/],
    ['https:///example.com/', /two slashes/],
    ['https://', /no host|not a valid URL/],
    ['https://example.com./', /trailing dot/],
    ['https://a..example/', /empty part/],
    ['https://exa$mple.com/', /characters a domain name cannot have/],
    ['https://exam%70le.com/', /percent-encoding/],
    ['https://example.123/', /not a valid URL/],
    ['ftp://example.com/', /"ftp:" scheme/],
    ['javascript:alert(1)', /"javascript:" scheme/],
    ['', /empty/],
    [`https://example.com/${'a'.repeat(3000)}`, /longer than/],
  ])('%s', (url, reason) => {
    expect(reasonOf(validateProfileUrl(url))).toMatch(reason);
  });

  it('canonicalises: lowercased host, / for an empty path, punycode IDN, scheme case', () => {
    expect(validateProfileUrl('https://Example.COM')).toEqual({ ok: true, url: 'https://example.com/' });
    expect(validateProfileUrl('HTTP://example.com/Path')).toEqual({
      ok: true,
      url: 'http://example.com/Path',
    });
    expect(validateProfileUrl('https://example.com?')).toEqual({ ok: true, url: 'https://example.com/?' });
    expect(validateProfileUrl('https://bücher.example/')).toEqual({
      ok: true,
      url: 'https://xn--bcher-kva.example/',
    });
    expect(validateProfileUrl('https://xn--bcher-kva.example/')).toEqual({
      ok: true,
      url: 'https://xn--bcher-kva.example/',
    });
  });

  it('a bare domain becomes https://…/ and is then valid; other schemes stay refused', () => {
    expect(normaliseSignInInput('  alice.example  ')).toBe('https://alice.example/');
    expect(normaliseSignInInput('alice.example/blog')).toBe('https://alice.example/blog');
    expect(normaliseSignInInput('http://alice.example')).toBe('http://alice.example');
    expect(normaliseSignInInput('//alice.example/')).toBe('https://alice.example/');
    expect(normaliseSignInInput('')).toBe('');
    expect(validateProfileUrl(normaliseSignInInput('alice.example'))).toEqual({
      ok: true,
      url: 'https://alice.example/',
    });
    expect(normaliseSignInInput('mailto:user@example.com')).toBe('mailto:user@example.com');
    expect(validateProfileUrl(normaliseSignInInput('mailto:user@example.com')).ok).toBe(false);
    expect(normaliseSignInInput('javascript:alert(1)')).toBe('javascript:alert(1)');
    expect(reasonOf(validateProfileUrl(normaliseSignInInput('localhost:3000')))).toMatch(/port/);
    expect(reasonOf(validateProfileUrl(normaliseSignInInput('alice.example:8080')))).toMatch(/port/);
  });

  it('displayUrl shows a punycode host in Unicode and leaves others alone', () => {
    expect(displayUrl('https://xn--bcher-kva.example/a?b=c')).toBe('https://bücher.example/a?b=c');
    expect(displayUrl('https://example.com/')).toBe('https://example.com/');
    expect(displayUrl('not a url')).toBe('not a url');
  });
});

describe('A6: CR/LF and control characters are refused', () => {
  it.each([
    'https://example.com/\r\nSet-Cookie: x=1',
    'https://example.com/\n',
    'https://exa\tmple.com/',
    'https://example.com/a b',
    ' https://example.com/',
    'https://example.com/\u0000',
    'https://example.com/\u007f',
    'https://example.com/\u00a0',
    'https://example.com/\u202e',
    'https://example.com\\@evil.example/',
  ])('%j', (url) => {
    expect(validateProfileUrl(url).ok).toBe(false);
    expect(validateClientId(url).ok).toBe(false);
    expect(validateRedirectUri(url).ok).toBe(false);
  });
});

describe('A4: redirect_uri is absolute http(s), returned exactly as sent', () => {
  it.each([
    'javascript:alert(1)',
    'JavaScript://example.com/%0aalert(1)',
    'data:text/html,<script>alert(1)</script>',
    'file:///etc/passwd',
    'vbscript:msgbox(1)',
    'com.example.app:/callback',
    '/callback',
    'callback',
    'https://app.example/callback#frag',
    'https://user@app.example/callback',
    'https://app.example/a/../callback',
    'https://app.example/%2e%2e/callback',
    'https:app.example/callback',
  ])('refused: %s', (url) => {
    expect(validateRedirectUri(url).ok).toBe(false);
  });

  it.each([
    'https://app.example/callback',
    'https://App.Example:443/callback?x=1&y=%20',
    'http://127.0.0.1:51234/callback',
    'http://[::1]:8080/cb',
  ])('accepted byte-for-byte: %s', (url) => {
    expect(validateRedirectUri(url)).toEqual({ ok: true, url });
  });
});

describe('A3: host matching is label-wise, never substring', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['sub.example.com', 'example.com', true],
    ['a.b.example.com', 'example.com', true],
    ['Sub.Example.COM', 'example.com', true],
    ['example.com.', 'example.com', true],
    ['example.com.evil.example', 'example.com', false],
    ['badexample.com', 'example.com', false],
    ['example.co', 'example.com', false],
    ['com', 'example.com', false],
    ['xn--bcher-kva.example', 'bücher.example', true],
    ['', 'example.com', false],
  ])('%s within %s → %s', (host, domain, expected) => {
    expect(hostIsWithin(host, domain)).toBe(expected);
  });

  it('sameOrigin compares scheme, host and port', () => {
    expect(sameOrigin('https://app.example/', 'https://APP.example:443/callback')).toBe(true);
    expect(sameOrigin('https://app.example/', 'http://app.example/')).toBe(false);
    expect(sameOrigin('https://app.example/', 'https://app.example:8443/')).toBe(false);
    expect(sameOrigin('https://app.example/', 'https://app.example.evil.example/')).toBe(false);
    expect(sameOrigin('https://app.example/', 'javascript:alert(1)')).toBe(false);
    expect(sameOrigin('nope', 'nope')).toBe(false);
  });

  it('isLoopbackHost', () => {
    for (const host of [
      'localhost',
      'LOCALHOST',
      'app.localhost',
      '127.0.0.1',
      '127.9.9.9',
      '[::1]',
      '::1',
    ]) {
      expect(isLoopbackHost(host)).toBe(true);
    }
    for (const host of ['example.com', 'localhost.example', '10.0.0.1', '128.0.0.1', '[::2]']) {
      expect(isLoopbackHost(host)).toBe(false);
    }
  });
});

describe('F4: back-links match by URL equivalence, never substring', () => {
  it.each([
    ['https://alice.example/', 'https://alice.example/', true],
    ['https://alice.example', 'https://alice.example/', true],
    ['http://alice.example/', 'https://alice.example/', true],
    ['https://ALICE.example/', 'https://alice.example/', true],
    ['alice.example', 'https://alice.example/', true],
    ['alice.example/', 'https://alice.example/', true],
    ['https://alice.example/#me', 'https://alice.example/', true],
    ['https://alice.example:443/', 'https://alice.example/', true],
    ['https://alice.example.evil.example', 'https://alice.example/', false],
    ['https://alice.example.evil.example/', 'https://alice.example/', false],
    ['https://evil.example/https://alice.example/', 'https://alice.example/', false],
    ['https://alice.example/blog', 'https://alice.example/', false],
    ['https://alice.example/?x', 'https://alice.example/', false],
    ['https://bob@alice.example/', 'https://alice.example/', false],
    ['https://alice.example:8443/', 'https://alice.example/', false],
    ['mailto:alice@alice.example', 'https://alice.example/', false],
    ['', 'https://alice.example/', false],
  ])('%s ≡ %s → %s', (a, b, expected) => {
    expect(urlEquivalent(a, b)).toBe(expected);
    expect(urlEquivalent(b, a)).toBe(expected);
  });
});
