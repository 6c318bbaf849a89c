/**
 * A throwaway HTTP site for tests: a `node:http` server on 127.0.0.1 with an ephemeral port. Fetcher
 * tests reach it directly, or under a made-up host name through a connect-to rule (PROTOCOL §4).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FixtureHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Fixture {
  port: number;
  /** `http://127.0.0.1:PORT/` */
  url: string;
  server: Server;
  /** Stops the server, cutting open connections (stalled responses included). */
  close(): Promise<void>;
}

/** Starts `handler` on 127.0.0.1; a handler that throws or rejects answers 500. */
export async function startFixture(handler: FixtureHandler): Promise<Fixture> {
  const server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
