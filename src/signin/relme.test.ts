import { describe, expect, it } from 'vitest';
import type { Fetcher } from '../net/types.js';
import { findBackLink, sameSite, urlsInText } from './relme.js';

const SITE = 'https://alice.example/';

describe('back-link equivalence (PROTOCOL §9.1, SECURITY F4)', () => {
  it.each([
    'https://alice.example/',
    'http://alice.example',
    'alice.example',
    'ALICE.example/',
    'https://alice.example:443/',
    '//alice.example',
  ])('F4: %s is the site', (value) => {
    expect(sameSite(value, SITE)).toBe(true);
  });

  it.each([
    'https://alice.example.evil.example/',
    'https://evil.example/alice.example',
    'https://alice.example/blog',
    'https://alice.example/?x=1',
    'https://alice.example/#me',
    'https://bob@alice.example/',
    'https://alice.example:8443/',
    'mailto:alice@alice.example',
    'javascript:alert(1)//alice.example',
    'alice.example extra',
    '',
  ])('F4: %s is not the site', (value) => {
    expect(sameSite(value, SITE)).toBe(false);
  });

  it('one trailing slash is ignored on paths; IDNs compare as punycode', () => {
    expect(sameSite('https://alice.example/blog/', 'https://alice.example/blog')).toBe(true);
    expect(sameSite('https://bücher.example/', 'https://xn--bcher-kva.example/')).toBe(true);
  });

  it('F4: URLs in a bio are whole tokens, from text and from HTML links', () => {
    expect(urlsInText('I write at alice.example. Also (https://blog.alice.example/)!')).toEqual([
      'alice.example',
      'https://blog.alice.example/',
    ]);
    expect(urlsInText('see https://alice.example.evil.example')).toEqual([
      'https://alice.example.evil.example',
    ]);
    expect(
      urlsInText('<p>Hi <a href="https://alice.example/" rel="me">alice.example</a> &amp; more</p>'),
    ).toEqual(['https://alice.example/', 'alice.example']);
    expect(urlsInText('no links here, v1.2 is out')).toEqual([]);
  });

  it('several URLs on one profile are all tried; the evidence says where', async () => {
    const found = await findBackLink(SITE, [
      { where: 'website field', value: 'https://work.example/' },
      { where: 'bio', value: 'http://alice.example' },
    ]);
    expect(found).toEqual({ where: 'bio', url: 'http://alice.example' });
  });

  it('a profile URL that permanently redirects to the site counts; a temporary one does not', async () => {
    const fetcher: Fetcher = async (url) => {
      const redirects =
        url === 'https://old.example/'
          ? [{ from: url, to: 'https://alice.example/', status: 301 }]
          : [{ from: url, to: 'https://alice.example/', status: 302 }];
      return { url: 'https://alice.example/', status: 200, headers: new Headers(), body: '', redirects };
    };
    expect(await findBackLink(SITE, [{ where: 'website field', value: 'old.example' }], fetcher)).toEqual({
      where: 'website field',
      url: 'old.example',
      via: 'https://alice.example/',
    });
    expect(
      await findBackLink(SITE, [{ where: 'website field', value: 'https://temp.example/' }], fetcher),
    ).toBe(undefined);
  });
});
