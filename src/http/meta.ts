/** Metadata (RFC 8414) and health. */
import type { Hono } from 'hono';
import { serverMetadata } from '../indieauth/metadata.js';
import type { Services } from '../services.js';

export function metaRoutes(app: Hono, services: Services): void {
  const metadata = serverMetadata(services.config.publicUrl, {
    refreshTokens: services.refreshTokens !== undefined,
  });
  app.get('/.well-known/oauth-authorization-server', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.json(metadata);
  });

  app.get('/health', async (c) => {
    c.header('Cache-Control', 'no-store');
    try {
      await services.store.ping();
      return c.json({ status: 'ok' });
    } catch (error) {
      services.logger.error({ event: 'health.store_down', err: String(error) }, 'store does not answer');
      return c.json({ status: 'unavailable', reason: 'the store does not answer' }, 503);
    }
  });
}
