/**
 * Runs Latchkey over HTTP: serve, purge expired rows on a bounded schedule (SECURITY R6), and on
 * SIGTERM stop accepting, finish in-flight requests, then close the store (SECURITY R2).
 */

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createFastPath } from './http/fast-path.js';
import { createServices, type ServiceOverrides, type Services } from './services.js';
import { purgeClientCache } from './store/clients.js';
import { purgeSignin } from './store/signin.js';
import { purgeExpired } from './store/tokens.js';

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  close(): Promise<void>;
}

/** Rows past expiry are kept a week for the operator's eyes (`latchkey tokens list`), then purged. */
const KEEP_EXPIRED = 7 * 24 * 3600;
const PURGE_EVERY_MS = 10 * 60 * 1000;

export async function startServer(config: Config, overrides: ServiceOverrides = {}): Promise<RunningServer> {
  const services = await createServices(config, overrides);
  if (config.connectTo.length > 0) {
    services.logger.warn(
      { event: 'config.connect_to', rules: config.connectTo },
      'LATCHKEY_CONNECT_TO is set: these host names are sent to fixed addresses. Use this only for tests and development.',
    );
  }
  const app = buildApp(services);
  const fastPath = createFastPath(services);
  const honoListener = getRequestListener(app.fetch);
  const server = createServer((req, res) => {
    if (!fastPath(req, res)) void honoListener(req, res);
  });
  server.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;

  const purge = async () => {
    try {
      const at = services.tokens.now();
      const removed =
        (await purgeExpired(services.store.db, at, KEEP_EXPIRED)) +
        (await purgeClientCache(services.store.db, at)) +
        (await purgeSignin(services.store.db, at));
      if (removed > 0) services.logger.info({ event: 'store.purged', rows: removed }, 'expired rows purged');
    } catch (error) {
      services.logger.error({ event: 'store.purge_failed', err: String(error) }, 'purge failed');
    }
  };
  const timer = setInterval(purge, PURGE_EVERY_MS);
  timer.unref();
  void purge();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      });
      await services.close();
    })();
    return closing;
  };

  services.logger.info(
    {
      event: 'server.started',
      url: config.publicUrl,
      listen: `${config.host}:${port}`,
      store: services.store.dialect,
    },
    'Latchkey is listening',
  );
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/`,
    port,
    services,
    close,
  };
}
