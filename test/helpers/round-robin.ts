/**
 * A round-robin reverse proxy on loopback, as a load balancer in front of several instances: each
 * request goes to the next backend in strict turn (not per connection), with method, path, headers
 * (Authorization and Cookie included) and body, plus the `X-Forwarded-*` headers a real proxy adds
 * (src/http/client-ip.ts, src/http/middleware.ts). It records which backend answered each request
 * and says so in an `X-Backend-Port` response header.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyHop {
  /** 0, 1, 2, … in the order requests reached the proxy. */
  n: number;
  method: string;
  path: string;
  /** The port of the instance the request was sent to. */
  backend: number;
  /** Its answer's status; 502 when the backend could not be reached; 0 while pending. */
  status: number;
}

export interface RoundRobinProxy {
  port: number;
  /** `http://127.0.0.1:PORT/`: the public URL (LATCHKEY_URL) of the deployment. */
  url: string;
  /** The backends' ports, in turn order; set once the instances listen. */
  backends: number[];
  hops: ProxyHop[];
  close(): Promise<void>;
}

export const BACKEND_HEADER = 'x-backend-port';

/** RFC 9110 §7.6.1: headers of one connection, never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardable<T>(headers: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name.toLowerCase()) && value !== undefined) out[name] = value;
  }
  return out;
}

export async function startRoundRobin(): Promise<RoundRobinProxy> {
  const backends: number[] = [];
  const hops: ProxyHop[] = [];
  let turn = 0;
  const server = createServer((req, res) => {
    if (backends.length === 0) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('no backend yet');
      return;
    }
    const backend = backends[turn % backends.length] as number;
    turn += 1;
    const hop: ProxyHop = {
      n: hops.length,
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      backend,
      status: 0,
    };
    hops.push(hop);
    const headers = forwardable(req.headers);
    const peer = req.socket.remoteAddress ?? '127.0.0.1';
    const earlier = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = earlier ? `${earlier}, ${peer}` : peer;
    headers['x-forwarded-proto'] = 'http';
    if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
    const upstream = request(
      // A fresh connection each time: nothing of one request's connection carries to the next.
      { host: '127.0.0.1', port: backend, method: hop.method, path: hop.path, headers, agent: false },
      (answer) => {
        hop.status = answer.statusCode ?? 0;
        res.writeHead(hop.status, {
          ...forwardable(answer.headers),
          [BACKEND_HEADER]: String(backend),
        });
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      hop.status = 502;
      if (!res.headersSent) res.writeHead(502, { [BACKEND_HEADER]: String(backend) });
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    backends,
    hops,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
