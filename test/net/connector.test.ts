/**
 * The last line of the private-network guard (PROTOCOL §4, SECURITY G3): the check on the connected
 * socket's remote address. The earlier checks (IP literals, resolver answers) normally refuse first,
 * so here `net.connect` is replaced by one that ignores the requested host and resolver and lands on
 * 127.0.0.1 — standing in for anything that slips past them (rebinding, a resolver quirk).
 */
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAllowList } from '../../src/net/address.js';
import { BlockedAddressError, createGuardedConnector } from '../../src/net/connector.js';
import { type Fixture, startFixture } from '../helpers/fixture-server.js';

vi.mock('node:net', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:net')>();
  return {
    ...actual,
    connect: (options: { port: number }) => actual.connect({ host: '127.0.0.1', port: options.port }),
  };
});

let site: Fixture;
beforeAll(async () => {
  site = await startFixture((_req, res) => {
    res.end('ok');
  });
});
afterAll(async () => {
  await site.close();
});

function connect(allow: string[], hostname = 'public.example'): Promise<Socket> {
  const connector = createGuardedConnector({
    connectTo: [],
    allowList: createAllowList(allow),
    connectTimeoutMs: 1_000,
  });
  return new Promise((resolve, reject) => {
    connector({ hostname, protocol: 'http:', port: String(site.port) }, (error, socket) => {
      if (error) reject(error);
      else resolve(socket as Socket);
    });
  });
}

describe('createGuardedConnector', () => {
  it('G3: judges socket.remoteAddress after connecting, whatever the resolver said', async () => {
    const error = await connect([]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BlockedAddressError);
    expect((error as BlockedAddressError).address).toBe('127.0.0.1');
  });

  it('G3: the connected address passes when the allow-list covers it', async () => {
    const socket = await connect(['127.0.0.0/8']);
    expect(socket.remoteAddress).toBe('127.0.0.1');
    socket.destroy();
  });
});
