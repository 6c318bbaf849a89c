/**
 * Which addresses the fetcher may reach (PROTOCOL §4, SECURITY G1–G2), judged without any network.
 * The end-to-end proofs (real connections refused) are in fetch.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createAllowList, isPublicUnicast } from '../../src/net/address.js';

describe('isPublicUnicast', () => {
  it('G1: refuses loopback, private, link-local, CGNAT, unspecified, multicast and documentation ranges, v4 and v6', () => {
    const refused: Array<[string, string]> = [
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['::1', 'loopback v6'],
      ['10.0.0.1', 'private 10/8'],
      ['172.16.0.1', 'private 172.16/12'],
      ['172.31.255.255', 'private 172.16/12'],
      ['192.168.1.1', 'private 192.168/16'],
      ['169.254.169.254', 'link-local (cloud metadata)'],
      ['fe80::1', 'link-local v6'],
      ['fe80::1%eth0', 'link-local v6 with zone'],
      ['100.64.0.1', 'CGNAT'],
      ['100.127.255.255', 'CGNAT'],
      ['0.0.0.0', 'unspecified'],
      ['0.1.2.3', 'this network 0/8'],
      ['::', 'unspecified v6'],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['ff02::1', 'multicast v6'],
      ['255.255.255.255', 'broadcast'],
      ['192.0.2.1', 'documentation TEST-NET-1'],
      ['198.51.100.7', 'documentation TEST-NET-2'],
      ['203.0.113.9', 'documentation TEST-NET-3'],
      ['2001:db8::1', 'documentation v6'],
      ['198.18.0.1', 'benchmarking'],
      ['198.19.255.255', 'benchmarking'],
      ['240.0.0.1', 'reserved 240/4'],
      ['192.0.0.8', 'IETF protocol assignments'],
      ['fc00::1', 'unique local'],
      ['fd12:3456::1', 'unique local'],
      ['fec0::1', 'deprecated site-local'],
      ['::127.0.0.1', 'IPv4-compatible (deprecated)'],
      ['100::1', 'discard-only'],
      ['not an address', 'not an address'],
      ['', 'empty'],
    ];
    for (const [ip, why] of refused) expect(isPublicUnicast(ip), `${ip} (${why})`).toBe(false);

    const allowed = [
      '93.184.215.14',
      '8.8.8.8',
      '1.1.1.1',
      '172.15.255.255',
      '172.32.0.1',
      '100.63.255.255',
      '100.128.0.1',
      '198.20.0.1',
      '2606:4700:4700::1111',
      '2001:4860:4860::8888',
    ];
    for (const ip of allowed) expect(isPublicUnicast(ip), ip).toBe(true);
  });

  it('G2: judges odd IPv4 spellings and IPv4 wrapped in IPv6 (mapped, NAT64, 6to4, Teredo) by the IPv4 inside', () => {
    const refused = [
      '127.1',
      '0x7f.1',
      '0x7f000001',
      '2130706433',
      '017700000001',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '64:ff9b::7f00:1',
      '64:ff9b::a00:1',
      '64:ff9b:1::a00:1',
      '2002:7f00:1::1',
      '2002:c0a8:101::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    ];
    for (const ip of refused) expect(isPublicUnicast(ip), ip).toBe(false);
    for (const ip of ['::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1']) {
      expect(isPublicUnicast(ip), ip).toBe(true);
    }
  });
});

describe('createAllowList (LATCHKEY_ALLOW_PRIVATE_NETWORK)', () => {
  it('matches CIDRs, single addresses and IPv4-mapped forms of them', () => {
    const list = createAllowList(['127.0.0.0/8', '10.1.0.0/16', 'fd00::/8', '192.168.1.5', ' ::1 ']);
    expect(list.allowsAddress('127.0.0.1')).toBe(true);
    expect(list.allowsAddress('::ffff:127.0.0.1')).toBe(true);
    expect(list.allowsAddress('10.1.2.3')).toBe(true);
    expect(list.allowsAddress('10.2.0.1')).toBe(false);
    expect(list.allowsAddress('fd12::1')).toBe(true);
    expect(list.allowsAddress('fc00::1')).toBe(false);
    expect(list.allowsAddress('192.168.1.5')).toBe(true);
    expect(list.allowsAddress('192.168.1.6')).toBe(false);
    expect(list.allowsAddress('::1')).toBe(true);
    expect(list.allowsAddress('garbage')).toBe(false);
    expect(list.allowsHost('127.0.0.1')).toBe(false);
  });

  it('matches host names exactly (case and trailing dot ignored) and domain suffixes only when asked', () => {
    const list = createAllowList(['Intranet.Example', '.corp.example', '*.lab.example', 'bücher.example']);
    expect(list.allowsHost('intranet.example')).toBe(true);
    expect(list.allowsHost('INTRANET.example.')).toBe(true);
    expect(list.allowsHost('www.intranet.example')).toBe(false);
    expect(list.allowsHost('intranet.example.evil.example')).toBe(false);
    expect(list.allowsHost('corp.example')).toBe(true);
    expect(list.allowsHost('wiki.corp.example')).toBe(true);
    expect(list.allowsHost('evilcorp.example')).toBe(false);
    expect(list.allowsHost('x.lab.example')).toBe(true);
    expect(list.allowsHost('xn--bcher-kva.example')).toBe(true);
    expect(list.allowsAddress('127.0.0.1')).toBe(false);
  });

  it('refuses a malformed CIDR at start-up instead of silently allowing nothing', () => {
    expect(() => createAllowList(['10.0.0.0/33'])).toThrow(/CIDR/);
    expect(() => createAllowList(['nonsense/8'])).toThrow(/CIDR/);
  });
});
