/**
 * The client's address for per-IP limits (SECURITY R4, R5): the socket's peer, or, only when that
 * peer is a proxy named in `LATCHKEY_TRUST_PROXY`, the rightmost `X-Forwarded-For` hop no trusted
 * proxy added. One function, so the rate limits and the in-flight limit count the same client.
 */
import type { Context } from 'hono';
import { createAllowList } from '../net/address.js';

export function clientIpResolver(trustProxy: readonly string[]): (c: Context) => string {
  const proxies = createAllowList(trustProxy);
  return (c) => {
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
    let ip = incoming?.socket?.remoteAddress ?? 'unknown';
    const forwarded = c.req.header('x-forwarded-for');
    if (forwarded && proxies.allowsAddress(ip)) {
      const hops = forwarded
        .split(',')
        .map((hop) => hop.trim())
        .filter(Boolean);
      // The rightmost address a trusted proxy did not add is the client.
      while (hops.length > 0) {
        const hop = hops.pop() as string;
        ip = hop;
        if (!proxies.allowsAddress(hop)) break;
      }
    }
    return ip;
  };
}
