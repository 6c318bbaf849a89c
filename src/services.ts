/**
 * Wires the services from a Config: store (migrated), fetcher, token services. Both the server and
 * the CLI start here, so they always see the same store and rules.
 */
import { PasskeyService } from './account/passkeys.js';
import { AccountService } from './account/service.js';
import type { Config } from './config.js';
import { Events } from './events.js';
import { ClientInfoService } from './indieauth/client-info.js';
import { ClientPolicy } from './indieauth/client-policy.js';
import { discoverAuthorizationEndpoint, discoverSite } from './indieauth/discovery.js';
import { createLogger, type Logger } from './log.js';
import { createMailer, type Mailer } from './mail/mailer.js';
import { Metrics } from './metrics.js';
import { createFetcher } from './net/fetch.js';
import type { Fetcher } from './net/types.js';
import { createMethods } from './signin/methods/index.js';
import { RateLimiter } from './signin/rate-limit.js';
import { SignInService } from './signin/service.js';
import type { Candidate } from './signin/types.js';
import { openStore, type Store } from './store/db.js';
import { putSettingIfAbsent } from './store/settings.js';
import { AccessTokenService } from './tokens/access-tokens.js';
import { CodeService } from './tokens/codes.js';
import { GrantService } from './tokens/grants.js';
import type { DiscoverAuthorizationEndpoint } from './tokens/mintoken.js';
import { RefreshTokenService } from './tokens/refresh-tokens.js';
import { ResourceServerService } from './tokens/resource-servers.js';
import { randomToken } from './tokens/secrets.js';
import { VERSION } from './version.js';

export interface Services {
  config: Config;
  store: Store;
  fetcher: Fetcher;
  logger: Logger;
  /** What happened, for whoever listens (the metrics); one bus per instance (src/events.ts). */
  events: Events;
  /** The counts behind `GET /metrics` (PROTOCOL §14). */
  metrics: Metrics;
  tokens: AccessTokenService;
  /** Undefined when the operator turned refresh tokens off (`REFRESH_TOKENS=false`). */
  refreshTokens: RefreshTokenService | undefined;
  codes: CodeService;
  /** List and revoke grants (PROTOCOL §13, §14): the CLI, routes and account page call only this. */
  grants: GrantService;
  /** The operator's client policy, enforced at sign-in, redemption, refresh and verification (A10). */
  clientPolicy: ClientPolicy;
  resourceServers: ResourceServerService;
  discover: DiscoverAuthorizationEndpoint;
  /** Client information from client_id documents, cached and coalesced (PROTOCOL §6). */
  clientInfo: ClientInfoService;
  /** HMAC/cookie keys; the first signs (SECURITY R7). */
  secrets: string[];
  mailer: Mailer;
  /** The sign-in state machine behind `GET /authorize` (PROTOCOL §9). */
  signIn: SignInService;
  /** The person's account page (PROTOCOL §13): their grants, sign-ins and browsers. */
  account: AccountService;
  /** Site owners' passkeys (PROTOCOL §13, SECURITY E9). */
  passkeys: PasskeyService;
  close(): Promise<void>;
}

export interface ServiceOverrides {
  logger?: Logger;
  fetcher?: Fetcher;
  clock?: () => number;
  mailer?: Mailer;
}

export async function createServices(config: Config, overrides: ServiceOverrides = {}): Promise<Services> {
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const events = new Events((error, type) =>
    logger.error({ event: 'events.listener_failed', type, err: String(error) }, 'event listener failed'),
  );
  const metrics = new Metrics(events);
  const store = openStore(config.databaseUrl);
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  const secrets =
    config.secrets.length > 0
      ? config.secrets
      : [await putSettingIfAbsent(store.db, 'secret', randomToken())];

  const owned = overrides.fetcher
    ? undefined
    : createFetcher({
        connectTo: config.connectTo,
        allowPrivateNetwork: config.allowPrivateNetwork,
        userAgent: `Latchkey/${VERSION} (+${config.publicUrl})`,
        ...config.fetch,
        logger,
        events,
      });
  const fetcher: Fetcher = overrides.fetcher ?? (owned as Fetcher);
  const grants = new GrantService({ store, clock: overrides.clock, events });
  const clientPolicy = new ClientPolicy({ store, issuer: config.publicUrl, grants });
  const tokens = new AccessTokenService({
    store,
    tokenTtl: config.tokenTtl,
    policy: clientPolicy,
    clock: overrides.clock,
    events,
  });
  const resourceServers = new ResourceServerService(store, overrides.clock);
  const refreshTokens = config.refreshTokens
    ? new RefreshTokenService(store, tokens, config.refreshTokenTtl, { grants, policy: clientPolicy, events })
    : undefined;
  const codes = new CodeService({
    store,
    tokens,
    refreshTokens,
    grants,
    policy: clientPolicy,
    codeTtl: config.codeTtl,
    events,
  });
  const clientInfo = new ClientInfoService({ store, fetcher, clock: overrides.clock, logger });
  const clock = overrides.clock ?? (() => Math.floor(Date.now() / 1000));
  const mailer = overrides.mailer ?? createMailer(config.smtpUrl, config.mailFrom, config.publicUrl);
  const limits = new RateLimiter(store, clock);
  const discover = (me: string) => discoverSite(me, fetcher);
  // Registration reads sign-in's candidates (the link that proved the site); signIn is built below.
  const passkeys: PasskeyService = new PasskeyService({
    store,
    logger,
    clock,
    issuer: config.publicUrl,
    discover,
    candidatesFor: (site): Promise<Candidate[]> => signIn.candidatesFor(site),
  });
  const signIn: SignInService = new SignInService({
    config,
    store,
    logger,
    clientInfo,
    codes,
    limits,
    clock,
    discover,
    allowNoPkce: config.allowNoPkce,
    events,
    methods: createMethods({ config, store, fetcher, mailer, limits, clock, secrets, discover, passkeys }),
  });

  return {
    config,
    store,
    fetcher,
    logger,
    events,
    metrics,
    tokens,
    refreshTokens,
    codes,
    grants,
    clientPolicy,
    resourceServers,
    secrets,
    discover: (me) => discoverAuthorizationEndpoint(me, fetcher),
    clientInfo,
    mailer,
    signIn,
    account: new AccountService({ store, grants, logger, secrets, clock, issuer: config.publicUrl }),
    passkeys,
    async close() {
      mailer.close();
      await owned?.close();
      await store.close();
    },
  };
}
