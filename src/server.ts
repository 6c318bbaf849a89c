/**
 * Runs Latchkey over HTTP: serve, purge expired rows on a bounded schedule (SECURITY R6), and on
 * close (SIGTERM) drain: stop accepting, answer in-flight and later requests with `Connection:
 * close`, close idle keep-alive connections, and cut whatever is left at the drain deadline, then
 * close the store (SECURITY R2).
 */

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { getRequestListener } from '@hono/node-server';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { createFastPath } from './http/fast-path.js';
import { RoutedRequest, requestDone, TimedResponse } from './http/metrics.js';
import { createServices, type ServiceOverrides, type Services } from './services.js';
import { purgeExpired } from './store/purge.js';

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** Milliseconds `close()` lets open connections finish before cutting them (R2). */
  drainTimeoutMs: number;
  /** Drains and stops (R2); resolves once every socket is closed and the store too. Idempotent. */
  close(): Promise<void>;
  /** Purges expired rows now, or joins the purge already running (tests; the schedule does the rest). */
  purgeNow(): Promise<void>;
}

export interface ServerOptions extends ServiceOverrides {
  /** R2 drain deadline; default 10 s. */
  drainTimeoutMs?: number;
}

/** Rows past expiry are kept a week for the operator's eyes (`latchkey tokens list`), then purged. */
const KEEP_EXPIRED = 7 * 24 * 3600;
const PURGE_EVERY_MS = 10 * 60 * 1000;
const DEFAULT_DRAIN_MS = 10_000;

export async function startServer(config: Config, options: ServerOptions = {}): Promise<RunningServer> {
  const { drainTimeoutMs = DEFAULT_DRAIN_MS, ...overrides } = options;
  const services = await createServices(config, overrides);
  if (config.connectTo.length > 0) {
    services.logger.warn(
      { event: 'config.connect_to', rules: config.connectTo },
      'LATCHKEY_CONNECT_TO is set: these host names are sent to fixed addresses. Use this only for tests and development.',
    );
  }
  const app = buildApp(services);
  const honoListener = getRequestListener(app.fetch);

  // R2: responses not yet started when the drain begins must still say `Connection: close`.
  const inFlight = new Set<ServerResponse>();
  let draining = false;
  // Every request, fast path or Hono, is counted here and only here (src/http/metrics.ts): when
  // its response closes, or at once for a fast-path answer sent in the turn its request was read.
  // One listener function for all responses: no closure is made per request.
  function onResponseClose(this: TimedResponse) {
    inFlight.delete(this);
    requestDone(services.events, this.req, this, this.startedAt, this.writableFinished);
  }
  const watch = (res: TimedResponse) => {
    inFlight.add(res);
    res.on('close', onResponseClose);
  };
  // An answer the kernel took whole in the turn its request was read is out before any drain can
  // begin (a drain starts in a turn of its own): nothing is left in flight, and skipping the
  // listener and the set saves ~3 % of a verification's CPU time (bench, same-moment A/B). One that
  // node still holds (a pipelined request queued behind another answer, a client not reading) is
  // watched like any other, so a drain still sees it.
  const fastPath = createFastPath<TimedResponse>(services, {
    answered: (req, res) => {
      if (res.socket === null || res.socket.writableLength > 0) return watch(res);
      requestDone(services.events, req, res, res.startedAt, res.writableEnded && !res.destroyed);
    },
    pending: (_req, res) => watch(res),
  });
  const server = createServer(
    { IncomingMessage: RoutedRequest, ServerResponse: TimedResponse },
    (req: RoutedRequest, res: TimedResponse) => {
      // Node then sends `Connection: close` and ends the socket after this answer: both paths below.
      if (draining) res.shouldKeepAlive = false;
      if (fastPath(req, res)) return;
      watch(res);
      void honoListener(req, res);
    },
  );
  server.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;

  const purgeStop = new AbortController();
  let purging: Promise<void> | undefined;
  const purge = async () => {
    const started = performance.now();
    try {
      const report = await purgeExpired(services.store.db, services.tokens.now(), {
        keepSeconds: KEEP_EXPIRED,
        signal: purgeStop.signal,
      });
      services.events.emit('purge.run', { ok: true, rows: report.total });
      // An idle server removes nothing most runs; that is not worth an info line every 10 minutes.
      services.logger[report.total > 0 ? 'info' : 'debug'](
        {
          event: 'store.purged',
          rows: report.total,
          tables: report.removed,
          batches: report.batches,
          ms: Math.round(performance.now() - started),
        },
        'expired rows purged',
      );
    } catch (error) {
      services.events.emit('purge.run', { ok: false, rows: 0 });
      services.logger.error({ event: 'store.purge_failed', err: String(error) }, 'purge failed');
    }
  };
  /** One run at a time per instance; a run still going when the next is due is not doubled. */
  const runPurge = () => {
    purging ??= purge().finally(() => {
      purging = undefined;
    });
    return purging;
  };
  const timer = setInterval(runPurge, PURGE_EVERY_MS);
  timer.unref();
  runPurge();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const started = performance.now();
      clearInterval(timer);
      purgeStop.abort();
      draining = true;
      for (const res of inFlight) {
        if (!res.headersSent) res.shouldKeepAlive = false;
        else {
          // Already answering (a streamed body): end the connection once that answer is out.
          const socket = res.socket;
          res.once('finish', () => socket?.end());
        }
      }
      let cut = false;
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          cut = true;
          server.closeAllConnections();
        }, drainTimeoutMs);
        server.close(() => {
          clearTimeout(deadline);
          resolve();
        });
        // Sockets between requests hold nothing; busy ones close after their `Connection: close` answer.
        server.closeIdleConnections();
      });
      await purging;
      await services.close();
      services.logger.info(
        { event: 'server.stopped', drainMs: Math.round(performance.now() - started), cutAtDeadline: cut },
        'stopped',
      );
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
    drainTimeoutMs,
    close,
    purgeNow: runPurge,
  };
}
