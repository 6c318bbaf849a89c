/**
 * A benchmark target process: `baseline` (bare node:http answering a fixed JSON body) or
 * `latchkey` (the real server on a fresh SQLite file seeded with N tokens). Prints one JSON line
 * with its URL and the credentials the load generator needs, then serves until killed.
 */

import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { startServer } from '../src/server.js';
import { issueTokens } from './seed.js';

const mode = process.argv[2];
const tokenCount = Number(process.argv[3] ?? 10_000);

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
} else if (mode === 'latchkey') {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  // Optional `host=127.0.0.1:port,…` (bench/signin-load.ts): fixture sites the sign-ins fetch, and
  // X-Forwarded-For trusted from loopback so the load generator can speak for many addresses.
  const connectTo = (process.argv[4] ?? '')
    .split(',')
    .filter(Boolean)
    .map((rule) => {
      const [host = '', target = ''] = rule.split('=');
      const [address = '', port = ''] = target.split(':');
      return { host, address, port: Number(port) };
    });
  const config = testConfig({
    databaseUrl: `sqlite:${join(dir, 'bench.db')}`,
    host: '127.0.0.1',
    port: 0,
    ...(connectTo.length > 0 ? { connectTo, trustProxy: ['127.0.0.1'] } : {}),
  });
  const server = await startServer(config, { logger: silentLogger() });
  const { services } = server;
  const tokens = await issueTokens(services, tokenCount);
  const { secret } = await services.resourceServers.create('bench');
  console.log(JSON.stringify({ url: server.url.replace(/\/$/, ''), tokens, secret }));
} else {
  console.error('usage: target.ts baseline|latchkey [tokens]');
  process.exit(2);
}

// Exit through process.exit so `--cpu-prof` and similar flags can write their output.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
