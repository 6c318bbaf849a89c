/**
 * Builds the Hono app from services. One error handler converts the OAuthError family into
 * RFC 6749 §5.2 JSON; anything unexpected is logged and answered as a generic 500 (no stack traces).
 */
import { Hono } from 'hono';
import { accountRoutes } from './http/account.js';
import { authorizeRedemptionRoutes } from './http/authorize.js';
import { clientIpResolver } from './http/client-ip.js';
import { demoRoutes } from './http/demo.js';
import { incomingOf, isClientDisconnect } from './http/disconnect.js';
import { DEFAULT_EXCHANGE_INFLIGHT, DEFAULT_SIGNIN_INFLIGHT, inflightLimit } from './http/inflight-limit.js';
import { infoPageRoutes } from './http/info-pages.js';
import { introspectionRoutes } from './http/introspect.js';
import { metaRoutes } from './http/meta.js';
import { metricsRoutes, tagRoute } from './http/metrics.js';
import { cors, issuerHostRedirect, securityHeaders } from './http/middleware.js';
import { pageRoutes, renderError, wantsHtml } from './http/pages.js';
import { signInRoutes } from './http/signin.js';
import { tokenRoutes } from './http/token.js';
import { errorAnswer, SERVER_ERROR } from './http/token-answers.js';
import { userinfoRoutes } from './http/userinfo.js';
import { OAuthError } from './indieauth/errors.js';
import type { Services } from './services.js';

export function buildApp(services: Services): Hono {
  const app = new Hono();
  app.use('*', tagRoute);
  app.use('*', securityHeaders);
  app.use('*', cors);
  app.use('*', issuerHostRedirect(services.config.publicUrl));

  // R4: requests that fetch other sites, bounded per client address: sign-in (the client document,
  // the person's site, provider and key fetches), registered before the routes so it runs first,
  // and Mintoken-mode code exchanges (the `me` sent), which the token route limits itself.
  const clientIp = clientIpResolver(services.config.trustProxy);
  const signInWork = inflightLimit({ max: DEFAULT_SIGNIN_INFLIGHT, clientIp }).middleware;
  const exchangeWork = inflightLimit({ max: DEFAULT_EXCHANGE_INFLIGHT, clientIp });
  app.on('GET', ['/authorize', '/auth', '/signin/:id/callback', '/signin/:id/callback/:server'], signInWork);
  app.on('POST', ['/signin/site', '/signin/choose', '/signin/step/:kind'], signInWork);

  pageRoutes(app, services);
  infoPageRoutes(app, services);
  metaRoutes(app, services);
  tokenRoutes(app, services, exchangeWork);
  authorizeRedemptionRoutes(app, services);
  signInRoutes(app, services);
  demoRoutes(app, services);
  accountRoutes(app, services);
  userinfoRoutes(app, services);
  introspectionRoutes(app, services);
  metricsRoutes(app, services);

  app.notFound((c) =>
    wantsHtml(c)
      ? renderError(
          c,
          {
            title: 'Page not found',
            message: `There is no page at ${c.req.path}.`,
            next: 'Check the address, or start from the home page.',
          },
          404,
        )
      : c.json({ error: 'not_found', error_description: `Nothing at ${c.req.method} ${c.req.path}.` }, 404),
  );
  app.onError((error, c) => {
    if (error instanceof OAuthError) {
      const answer = errorAnswer(error);
      return c.json(answer.body, answer.status, answer.headers);
    }
    if (isClientDisconnect(error, incomingOf(c.env))) {
      // R8: the client hung up (e.g. mid-body); nobody reads an answer, so none is built.
      services.logger.debug(
        { event: 'http.client_gone', path: c.req.path, err: error.message },
        'client went away',
      );
      return new Response(null, { status: 499 });
    }
    services.logger.error(
      { event: 'http.unhandled', path: c.req.path, err: error.message },
      'unhandled error',
    );
    return c.json(SERVER_ERROR.body, 500);
  });
  return app;
}
