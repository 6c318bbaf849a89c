/**
 * Which network addresses the fetcher may connect to (PROTOCOL §4, SECURITY G1–G3).
 *
 * The rule is default-deny: an address is fetched only when it is ordinary public unicast. Every
 * special-purpose range ipaddr.js knows (loopback, RFC 1918, link-local, CGNAT, documentation,
 * benchmarking, multicast, reserved…) is refused, and addresses that merely wrap an IPv4 address
 * (IPv4-mapped, NAT64, 6to4) are judged by the IPv4 address they carry.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** IPv6 global unicast (RFC 4291 §2.4); anything outside it is not an address on the public Internet. */
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
/** RFC 6052 well-known NAT64 prefix; the last 32 bits are the IPv4 destination. */
const NAT64_V6 = ipaddr.IPv6.parseCIDR('64:ff9b::/96');

/** Parses an address leniently (ipaddr.js accepts `127.1`, `0x7f.1`, zone ids); undefined if not one. */
function parse(ip: string): Address | undefined {
  try {
    return ipaddr.parse(ip.trim());
  } catch {
    return undefined;
  }
}

function ipv4FromParts(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * The IPv4 address an IPv6 address stands for, when it is only a wrapper around one: IPv4-mapped
 * (`::ffff:a.b.c.d`, what a dual-stack socket reports), NAT64 `64:ff9b::/96` and 6to4 `2002::/16`.
 * Connecting to such an address can reach the IPv4 host, so it must be judged as that host (SECURITY G2).
 */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (address.isIPv4MappedAddress()) return address.toIPv4Address();
  const parts = address.parts;
  if (address.match(NAT64_V6)) return ipv4FromParts(parts[6] ?? 0, parts[7] ?? 0);
  if (address.range() === '6to4') return ipv4FromParts(parts[1] ?? 0, parts[2] ?? 0);
  return undefined;
}

function isPublicV4(address: ipaddr.IPv4): boolean {
  // 'unicast' is ipaddr.js's name for "in none of the special-purpose ranges" (RFC 6890 and others).
  return address.range() === 'unicast';
}

/** Undefined when `address` is IPv6 and needs a verdict of its own (no IPv4 inside). */
function judge(address: Address): boolean {
  if (address.kind() === 'ipv4') return isPublicV4(address as ipaddr.IPv4);
  const v6 = address as ipaddr.IPv6;
  const inner = embeddedIPv4(v6);
  if (inner) return isPublicV4(inner);
  // Teredo (2001::/32) tunnels to an address we cannot judge, ULA fc00::/7, documentation
  // 2001:db8::/32, link-local, multicast, ::/::1… are all outside 'unicast' or outside 2000::/3.
  return v6.range() === 'unicast' && v6.match(GLOBAL_UNICAST_V6);
}

/**
 * True when `ip` is a public unicast address Latchkey may fetch from (PROTOCOL §4, SECURITY G1–G2).
 * Anything that does not parse as an address is not public.
 */
export function isPublicUnicast(ip: string): boolean {
  const address = parse(ip);
  return address ? judge(address) : false;
}

/** Lowercased host name without a trailing dot or IPv6 brackets, the form used for comparisons. */
export function normaliseHost(host: string): string {
  let name = host.trim().toLowerCase();
  if (name.startsWith('[') && name.endsWith(']')) name = name.slice(1, -1);
  while (name.endsWith('.')) name = name.slice(0, -1);
  return name;
}

/** Host names as the WHATWG URL parser spells them (punycode), so `bücher.example` matches its URLs. */
function canonicalHostName(name: string): string {
  try {
    return normaliseHost(new URL(`http://${name}/`).hostname);
  } catch {
    return normaliseHost(name);
  }
}

/** The operator's exceptions to the private-network rule (`LATCHKEY_ALLOW_PRIVATE_NETWORK`, PROTOCOL §4). */
export interface AllowList {
  /** The host name itself is allowed, whatever it resolves to. */
  allowsHost(host: string): boolean;
  /** The address lies in an allowed CIDR (IPv4-mapped IPv6 is unwrapped first). */
  allowsAddress(ip: string): boolean;
}

/**
 * Builds the allow-list from entries that are CIDRs (`10.0.0.0/8`, `fd00::/8`), single addresses
 * (`192.168.1.5`, `::1`), host names (`intranet.example`, exact match) or domain suffixes
 * (`.corp.example` or `*.corp.example`: that domain and every name under it). A malformed CIDR
 * throws, so a typo in the configuration fails at start-up instead of silently allowing nothing.
 */
export function createAllowList(entries: readonly string[]): AllowList {
  const ranges: Array<[Address, number]> = [];
  const names = new Set<string>();
  const suffixes: string[] = [];

  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry.includes('/')) {
      try {
        ranges.push(ipaddr.parseCIDR(entry));
      } catch {
        throw new Error(`not a valid CIDR in the private-network allow-list: ${JSON.stringify(entry)}`);
      }
      continue;
    }
    const bare = normaliseHost(entry);
    if (ipaddr.isValid(bare) && (ipaddr.IPv6.isValid(bare) || ipaddr.IPv4.isValidFourPartDecimal(bare))) {
      const address = ipaddr.parse(bare);
      ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
      continue;
    }
    const wildcard = /^(?:\*\.|\.)(.+)$/.exec(bare);
    if (wildcard?.[1]) suffixes.push(canonicalHostName(wildcard[1]));
    else names.add(canonicalHostName(bare));
  }

  return {
    allowsHost(host) {
      const name = normaliseHost(host);
      if (names.has(name)) return true;
      return suffixes.some((suffix) => name === suffix || name.endsWith(`.${suffix}`));
    },
    allowsAddress(ip) {
      if (ranges.length === 0) return false;
      let address = parse(ip);
      if (!address) return false;
      if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
        address = (address as ipaddr.IPv6).toIPv4Address();
      }
      const kind = address.kind();
      return ranges.some(([network, bits]) => network.kind() === kind && address.match(network, bits));
    },
  };
}
