import { describe, expect, it } from 'vitest';
import type { SiteDiscovery } from '../indieauth/discovery.js';
import type { Link } from '../net/links.js';
import { findCandidates, MAX_SIGNIN_LINKS } from './candidates.js';
import type { AnyMethod } from './types.js';

function site(links: Link[]): SiteDiscovery {
  return {
    me: 'https://alice.example/',
    relMe: links,
    authn: [],
    pgpkey: [],
    sshKey: [],
  } as unknown as SiteDiscovery;
}

describe('which links are candidates', () => {
  it(`R4: a page with hundreds of rel=me links costs at most ${MAX_SIGNIN_LINKS} recognitions, in document order`, async () => {
    const asked: string[] = [];
    const probing = {
      id: 'probe',
      async recognise(link: Link) {
        asked.push(link.url);
        return { method: 'probe', target: link.url, label: link.url, link: link.url };
      },
    } as unknown as AnyMethod;
    const links = Array.from(
      { length: 500 },
      (_, i) => ({ rel: 'me', url: `https://h${i}.example/@a` }) as Link,
    );
    const found = await findCandidates(site(links), [probing], 'https://login.example/');
    expect(asked).toHaveLength(MAX_SIGNIN_LINKS);
    expect(found.map((c) => c.target)).toEqual(links.slice(0, MAX_SIGNIN_LINKS).map((l) => l.url));
  });
});
