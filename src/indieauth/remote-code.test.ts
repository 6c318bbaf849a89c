import { describe, expect, it } from 'vitest';
import { acceptVouchedMe, type RedemptionRule, serverDifferences, vouchingServer } from './remote-code.js';

type Named = { issuer?: string; authorizationEndpoint?: string; tokenEndpoint?: string; me?: string };

const VICTIM: Named = {
  authorizationEndpoint: 'https://idp.example/auth',
  tokenEndpoint: 'https://idp.example/token',
};

function accept(expectedSite: Named, sites: Record<string, Named>, returned: string, rule: RedemptionRule) {
  const server = vouchingServer(
    {
      issuer: expectedSite.issuer,
      authorizationEndpoint: expectedSite.authorizationEndpoint,
      tokenEndpoint: expectedSite.tokenEndpoint,
    },
    rule,
  );
  if (!server) throw new Error('test site names no server');
  const looked: string[] = [];
  const result = acceptVouchedMe({
    expected: 'https://attacker.example/',
    returned,
    server,
    rule,
    async discover(me) {
      looked.push(me);
      const site = sites[me];
      if (!site) throw new Error('not found');
      return {
        // Where discovery ended: the site itself unless it redirects permanently elsewhere.
        me: site.me ?? me,
        issuer: site.issuer,
        authorizationEndpoint: site.authorizationEndpoint,
        tokenEndpoint: site.tokenEndpoint,
      };
    },
  });
  return { result, looked };
}

describe('remote code: accepting the me a server vouches for (SECURITY F1, F10)', () => {
  it('F10: the expected site is accepted without rediscovery', async () => {
    const { result, looked } = accept(VICTIM, {}, 'https://Attacker.example', 'token-endpoint');
    await expect(result).resolves.toBe('https://attacker.example/');
    expect(looked).toEqual([]);
  });

  it('F3: a vouched URL that permanently redirects elsewhere stands for where it leads', async () => {
    // The attacker's server vouches for a link shortener's URL that redirects to the attacker's
    // other site, which names the same server: the identity is that other site, never the shortener.
    const { result } = accept(
      VICTIM,
      { 'https://short.example/abc': { ...VICTIM, me: 'https://attacker-two.example/' } },
      'https://short.example/abc',
      'token-endpoint',
    );
    await expect(result).resolves.toBe('https://attacker-two.example/');
  });

  it('F10: another site must name the same redemption endpoint, not only the authorization endpoint', async () => {
    const attacker = { ...VICTIM, tokenEndpoint: 'https://attacker.example/token' };
    const { result } = accept(
      attacker,
      { 'https://victim.example/': VICTIM },
      'https://victim.example/',
      'token-endpoint',
    );
    await expect(result).rejects.toThrow('does not redeem codes at https://attacker.example/token');
  });

  it('F10: the metadata issuer must match when either side has one', async () => {
    const withIssuer = { ...VICTIM, issuer: 'https://idp.example/' };
    const one = accept(
      withIssuer,
      { 'https://victim.example/': VICTIM },
      'https://victim.example/',
      'token-endpoint',
    );
    await expect(one.result).rejects.toThrow('it has no metadata issuer');
    const other = accept(
      VICTIM,
      { 'https://victim.example/': withIssuer },
      'https://victim.example/',
      'token-endpoint',
    );
    await expect(other.result).rejects.toThrow('its metadata issuer is https://idp.example/');
    const both = accept(
      withIssuer,
      { 'https://victim.example/': withIssuer },
      'https://victim.example/',
      'token-endpoint',
    );
    await expect(both.result).resolves.toBe('https://victim.example/');
  });

  it('F1: another site naming another authorization endpoint is refused', async () => {
    const elsewhere = {
      authorizationEndpoint: 'https://other.example/auth',
      tokenEndpoint: VICTIM.tokenEndpoint,
    };
    const { result } = accept(
      VICTIM,
      { 'https://victim.example/': elsewhere },
      'https://victim.example/',
      'token-endpoint',
    );
    await expect(result).rejects.toThrow(
      'does not use https://idp.example/auth as its authorization endpoint',
    );
  });

  it('F10: without a token endpoint the code is redeemed at the authorization endpoint, on both sides', () => {
    const bare = vouchingServer({ authorizationEndpoint: 'https://idp.example/auth' }, 'token-endpoint');
    expect(bare?.redemptionEndpoint).toBe('https://idp.example/auth');
    const named = vouchingServer(VICTIM, 'token-endpoint');
    if (!named) throw new Error('VICTIM names a server');
    expect(serverDifferences(named, bare)).toEqual(['it does not redeem codes at https://idp.example/token']);
  });

  it('Mintoken mode redeems at the authorization endpoint, so the token endpoint (Latchkey) does not count', async () => {
    const selfauth = {
      authorizationEndpoint: 'https://alice.example/auth',
      tokenEndpoint: 'https://tokens.example/token',
    };
    const second = {
      authorizationEndpoint: 'https://alice.example/auth',
      tokenEndpoint: 'https://elsewhere.example/token',
    };
    const { result } = accept(
      selfauth,
      { 'https://alice.example/blog/': second },
      'https://alice.example/blog/',
      'authorization-endpoint',
    );
    await expect(result).resolves.toBe('https://alice.example/blog/');
  });

  it('invalid or unreachable returned me is refused in plain words', async () => {
    await expect(accept(VICTIM, {}, 'javascript:alert(1)', 'token-endpoint').result).rejects.toThrow(
      'invalid "me"',
    );
    await expect(accept(VICTIM, {}, 'https://gone.example/', 'token-endpoint').result).rejects.toThrow(
      'could not be checked',
    );
    const none = accept(
      VICTIM,
      { 'https://victim.example/': {} },
      'https://victim.example/',
      'token-endpoint',
    );
    await expect(none.result).rejects.toThrow('names no authorization endpoint');
  });
});
