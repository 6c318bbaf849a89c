/**
 * Builds the Hono app from services. One error handler converts the OAuthError family into
 * RFC 6749 §5.2 JSON; anything unexpected is logged and answered as a generic 500 (no stack traces).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { introspectionRoutes } from './http/introspect.js';
import { metaRoutes } from './http/meta.js';
import { cors, securityHeaders } from './http/middleware.js';
import { tokenRoutes } from './http/token.js';
import { OAuthError } from './indieauth/errors.js';
import type { Services } from './services.js';

/** Request bodies of the OAuth endpoints are small forms; anything bigger is refused early. */
const MAX_BODY = 64 * 1024;

export function buildApp(services: Services): Hono {
  const app = new Hono();
  app.use('*', securityHeaders);
  app.use('*', cors);
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY,
      onError: (c) =>
        c.json({ error: 'invalid_request', error_description: 'The request body is too large.' }, 413),
    }),
  );

  metaRoutes(app, services);
  tokenRoutes(app, services);
  introspectionRoutes(app, services);

  app.notFound((c) =>
    c.json({ error: 'not_found', error_description: `Nothing at ${c.req.method} ${c.req.path}.` }, 404),
  );
  app.onError((error, c) => {
    if (error instanceof OAuthError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      c.header('Cache-Control', 'no-store');
      return c.json(error.toJSON(), error.status as 400 | 401);
    }
    services.logger.error(
      { event: 'http.unhandled', path: c.req.path, err: error.message },
      'unhandled error',
    );
    return c.json(
      { error: 'server_error', error_description: 'Something went wrong on our side. Try again.' },
      500,
    );
  });
  return app;
}
