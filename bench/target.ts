/**
 * The benchmark's baseline process: bare node:http answering a fixed JSON body. Prints one JSON line
 * with its URL, then serves until killed. (Latchkey itself is benchmarked as the shipped build,
 * bench/built.ts.)
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const mode = process.argv[2];

if (mode === 'baseline') {
  const body = JSON.stringify({
    me: 'https://alice.example/',
    client_id: 'https://app.example/',
    scope: 'create',
  });
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ url: `http://127.0.0.1:${port}` }));
  });
} else {
  console.error('usage: target.ts baseline');
  process.exit(2);
}

// Exit through process.exit so `--cpu-prof` and similar flags can write their output.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
