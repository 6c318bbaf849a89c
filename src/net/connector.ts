/**
 * The socket factory behind the fetcher's undici Agent: the one place where Latchkey opens outbound
 * connections, so the private-network guard (PROTOCOL §4, SECURITY G1–G3) cannot be bypassed.
 *
 * Three checks, all on the address actually used:
 * 1. an IP-literal target is judged before any packet is sent (odd spellings such as `0x7f.1` were
 *    already canonicalised by the URL parser; `::ffff:127.0.0.1` is unwrapped), SECURITY G2;
 * 2. resolved addresses are filtered inside `lookup`, so no SYN reaches a private host and the error
 *    does not reveal whether an internal port is open;
 * 3. after the TCP connection is up, `socket.remoteAddress` is judged again, before TLS or HTTP bytes
 *    are sent. This is the authoritative check: it covers DNS rebinding and any path around 1–2 (G3).
 *
 * `LATCHKEY_CONNECT_TO` hosts are connected to their mapped address (keeping the Host header and TLS
 * server name) and, like allow-listed host names, skip the checks.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { buildConnector } from 'undici';
import type { ConnectToRule } from '../config.js';
import { type AllowList, isPublicUnicast, normaliseHost } from './address.js';

/** Refused by the private-network guard; the fetcher turns it into FetchError('blocked_address'). */
export class BlockedAddressError extends Error {
  readonly code = 'LATCHKEY_BLOCKED_ADDRESS';
  constructor(
    /** The host name from the URL. */
    readonly host: string,
    /** The refused address; for logs only, never shown to a visitor (it can reveal internal DNS). */
    readonly address: string,
  ) {
    super(`${host} points to a private or reserved network address`);
    this.name = 'BlockedAddressError';
  }
}

/** The TCP (and TLS) connection was not up within the connect deadline (PROTOCOL §4). */
export class ConnectTimeoutError extends Error {
  readonly code = 'LATCHKEY_CONNECT_TIMEOUT';
  constructor(
    readonly host: string,
    readonly timeoutMs: number,
  ) {
    super(`could not connect to ${host} within ${timeoutMs} ms`);
    this.name = 'ConnectTimeoutError';
  }
}

export interface GuardedConnectorOptions {
  connectTo: readonly ConnectToRule[];
  allowList: AllowList;
  connectTimeoutMs: number;
  /** Resolver; defaults to `dns.lookup`. Tests inject one to simulate DNS rebinding. */
  lookup?: LookupFunction;
}

type Connector = buildConnector.connector;
type ConnectorOptions = buildConnector.Options;
type ConnectorCallback = buildConnector.Callback;

/** Builds the undici `connect` function implementing the three checks described above. */
export function createGuardedConnector(options: GuardedConnectorOptions): Connector {
  const rules = new Map<string, ConnectToRule>();
  for (const rule of options.connectTo) rules.set(normaliseHost(rule.host), rule);
  const baseLookup: LookupFunction = options.lookup ?? dnsLookup;
  const { allowList, connectTimeoutMs } = options;

  const addressAllowed = (ip: string) => isPublicUnicast(ip) || allowList.allowsAddress(ip);

  /** Check 2: drop non-public answers; none left means the host is refused. */
  const guardedLookup =
    (host: string): LookupFunction =>
    (hostname, lookupOptions: LookupOptions, callback) => {
      baseLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
        if (error) {
          callback(error, '');
          return;
        }
        const all = (
          Array.isArray(addresses) ? addresses : [{ address: addresses, family: 0 }]
        ) as LookupAddress[];
        const usable = all.filter((entry) => addressAllowed(entry.address));
        const first = usable[0];
        if (!first) {
          callback(new BlockedAddressError(host, all.map((entry) => entry.address).join(', ')), '');
          return;
        }
        if (lookupOptions.all) callback(null, usable);
        else callback(null, first.address, first.family);
      });
    };

  return (request: ConnectorOptions, callback: ConnectorCallback) => {
    const hostname = normaliseHost(request.hostname);
    const rule = rules.get(hostname);
    const trusted = rule !== undefined || allowList.allowsHost(hostname);
    const https = request.protocol === 'https:';
    // The URL's own spelling is dialled (a trailing dot keeps a name absolute); comparisons use `hostname`.
    const target = rule?.address ?? request.hostname;
    const port = rule?.port ?? (Number(request.port) || (https ? 443 : 80));

    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const sockets: Socket[] = [];
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      callback(error, null);
    };
    const succeed = (socket: Socket) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      callback(null, socket);
    };

    // Check 1: an IP literal is judged before connecting at all.
    if (!trusted && isIP(target) !== 0 && !addressAllowed(target)) {
      process.nextTick(fail, new BlockedAddressError(hostname, target));
      return;
    }

    timer = setTimeout(() => fail(new ConnectTimeoutError(hostname, connectTimeoutMs)), connectTimeoutMs);
    const socket = netConnect({
      host: target,
      port,
      lookup: trusted ? baseLookup : guardedLookup(hostname),
      noDelay: true,
      keepAlive: true,
      keepAliveInitialDelay: 60_000,
    });
    sockets.push(socket);
    socket.on('error', fail);
    socket.once('connect', () => {
      // Check 3: the address the kernel actually connected to.
      const remote = socket.remoteAddress ?? '';
      if (!trusted && !addressAllowed(remote)) {
        fail(new BlockedAddressError(hostname, remote || 'unknown'));
        return;
      }
      if (!https) {
        succeed(socket);
        return;
      }
      // TLS is verified against the URL's host, also when a connect-to rule changed the address.
      const literal = isIP(hostname) !== 0;
      const secure = tlsConnect({
        socket,
        host: hostname,
        servername: literal ? undefined : (request.servername ?? hostname),
        ALPNProtocols: ['http/1.1'],
      });
      sockets.push(secure);
      secure.on('error', fail);
      secure.once('secureConnect', () => succeed(secure));
    });
  };
}
