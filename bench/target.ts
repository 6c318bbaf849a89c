/**
 * The benchmark's reference processes (Latchkey itself is benchmarked as the shipped build,
 * bench/built.ts). Each prints one JSON line with its URL, then serves until killed.
 *
 * - `baseline`: bare node:http answering a fixed JSON body, DESIGN's yardstick.
 * - `floor FILE`: the least a node:http server can do to answer `GET /token` and `POST /introspect`
 *   for the tokens and resource-server secret in FILE ({tokens, secret}, as bench/built.ts seeds
 *   them): Latchkey's answer headers, a SHA-256 per credential, a Map lookup, JSON.stringify. No
 *   database, no expiry, revocation, client policy, metrics or last-use bookkeeping. It shows how
 *   much of the distance to `baseline` is node:http and the request itself, not Latchkey.
 */

import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const [mode, file] = process.argv.slice(2);

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
  });
}

if (mode === 'baseline') {
  const body = JSON.stringify({
    me: 'https://alice.example/',
    client_id: 'https://app.example/',
    scope: 'create',
  });
  listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
} else if (mode === 'floor' && file) {
  listenFloor(JSON.parse(readFileSync(file, 'utf8')) as { tokens: string[]; secret: string });
} else {
  console.error('usage: target.ts baseline | target.ts floor FILE');
  process.exit(2);
}

function listenFloor({ tokens, secret }: { tokens: string[]; secret: string }) {
  const digest = (value: string) => hash('sha256', value, 'hex');
  const rows = new Map(
    tokens.map((token, i) => [
      digest(token),
      { me: `https://user${i}.example/`, client_id: 'https://app.example/', scope: 'create update' },
    ]),
  );
  const secretDigest = digest(secret);
  const issuedAt = Math.floor(Date.now() / 1000);
  // What Latchkey sends with every answer on these paths (src/http/fast-path.ts).
  const headers = [
    ...['Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'"],
    ...['X-Frame-Options', 'DENY', 'Referrer-Policy', 'no-referrer', 'X-Content-Type-Options', 'nosniff'],
    ...['Access-Control-Allow-Origin', '*', 'Cache-Control', 'no-store', 'Pragma', 'no-cache'],
    ...['Content-Type', 'application/json'],
  ];
  const send = (res: ServerResponse, status: number, answer: object) => {
    const body = JSON.stringify(answer);
    res.writeHead(status, [...headers, 'Content-Length', String(Buffer.byteLength(body))]);
    res.end(body);
  };
  const bearer = (req: IncomingMessage) => /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';

  listen((req, res) => {
    if (req.method === 'GET' && req.url === '/token') {
      const row = rows.get(digest(bearer(req)));
      return row ? send(res, 200, row) : send(res, 401, { error: 'invalid_token' });
    }
    if (req.method !== 'POST' || req.url !== '/introspect') return send(res, 404, { error: 'not_found' });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      // A plain comparison: this is a yardstick, not a server anyone relies on.
      if (digest(bearer(req)) !== secretDigest) return send(res, 401, { error: 'invalid_client' });
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token') ?? '';
      const row = rows.get(digest(token));
      send(res, 200, row ? { active: true, ...row, exp: issuedAt + 3600, iat: issuedAt } : { active: false });
    });
  });
}

// Exit through process.exit so `--cpu-prof` and similar flags can write their output.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
