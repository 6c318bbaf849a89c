/**
 * The registry of sign-in methods (DESIGN "Methods"): each folder beside this file is one method,
 * holding only its differences; adding one means adding its folder and one line here. Order
 * matters: a link goes to the first method that recognises it, and the chooser lists candidates in
 * the site's link order.
 */

import type { PasskeyService } from '../../account/passkeys.js';
import type { Config } from '../../config.js';
import type { SiteDiscovery } from '../../indieauth/discovery.js';
import type { Mailer } from '../../mail/mailer.js';
import type { Fetcher } from '../../net/types.js';
import type { Store } from '../../store/db.js';
import { ProviderInstances } from '../provider-instances.js';
import type { RateLimiter } from '../rate-limit.js';
import type { AnyMethod } from '../types.js';
import { UpstreamOAuth } from '../upstream-oauth.js';
import { emailMethod } from './email/index.js';
import { forgejoMethods } from './forgejo/index.js';
import { githubMethods } from './github/index.js';
import { gitlabMethods } from './gitlab/index.js';
import { indieAuthMethod } from './indieauth/index.js';
import { mastodonMethods } from './mastodon/index.js';
import { passkeyMethod } from './passkey/index.js';
import { pgpMethod } from './pgp/index.js';
import { sshMethods } from './ssh/index.js';

/** Everything a method may be built from. */
export interface MethodDeps {
  config: Config;
  store: Store;
  fetcher: Fetcher;
  mailer: Mailer;
  limits: RateLimiter;
  clock: () => number;
  /** LATCHKEY_SECRET keys: the first seals, all open (upstream secrets, SECURITY D7). */
  secrets: readonly string[];
  /** Site discovery (PROTOCOL §5), for methods that must look at another site. */
  discover(me: string): Promise<SiteDiscovery>;
  /** Passkeys of site owners (PROTOCOL §13); offered first when the site's `me` has one. */
  passkeys?: PasskeyService;
}

/** What provider folders share: the OAuth dance, added instances, the safe fetcher. */
export interface ProviderDeps {
  config: Config;
  store: Store;
  fetcher: Fetcher;
  clock: () => number;
  secrets: readonly string[];
  upstream: UpstreamOAuth;
  instances: ProviderInstances;
}

export function createMethods(deps: MethodDeps): AnyMethod[] {
  const issuer = deps.config.publicUrl;
  const serviceHost = new URL(issuer).host;
  const providers: ProviderDeps = {
    config: deps.config,
    store: deps.store,
    fetcher: deps.fetcher,
    clock: deps.clock,
    secrets: deps.secrets,
    upstream: new UpstreamOAuth(deps.fetcher, deps.secrets, issuer),
    instances: new ProviderInstances(deps.store, deps.secrets),
  };
  return [
    ...(deps.passkeys ? [passkeyMethod(deps.passkeys)] : []),
    indieAuthMethod({ fetcher: deps.fetcher, issuer, upstream: providers.upstream, discover: deps.discover }),
    // Email needs a mail server (SMTP_URL); without one it is not offered at all.
    ...(deps.mailer.enabled
      ? [
          emailMethod({
            store: deps.store,
            mailer: deps.mailer,
            limits: deps.limits,
            clock: deps.clock,
            serviceHost,
            accountUrl: new URL('account', issuer).href,
          }),
        ]
      : []),
    pgpMethod({ fetcher: deps.fetcher, clock: deps.clock, serviceHost }),
    // Providers: one line each; their folders hold everything else.
    ...providerMethods(providers),
  ];
}

/**
 * The provider folders, in registry order: each exports a factory that returns its method, or none
 * when it is not configured (PROTOCOL §9.1: a provider without credentials is not offered).
 */
const PROVIDERS: ReadonlyArray<(deps: ProviderDeps) => AnyMethod[]> = [
  githubMethods,
  gitlabMethods,
  forgejoMethods,
  mastodonMethods,
  sshMethods,
];

function providerMethods(deps: ProviderDeps): AnyMethod[] {
  return PROVIDERS.flatMap((create) => create(deps));
}
