/**
 * Where Latchkey is registered as an OAuth app, per provider (PROTOCOL §9.1): the preset from the
 * environment (`GITLAB_*`, `CODEBERG_*`, `GITHUB_*`) plus the instances an operator added with
 * `latchkey providers add <provider> URL`, whose secrets are stored sealed (SECURITY D7).
 */
import type { OAuthAppConfig } from '../config.js';
import type { Store } from '../store/db.js';
import { listProviderInstances, putProviderInstance, removeProviderInstance } from '../store/providers.js';
import { openSecret, sealSecret } from '../tokens/secrets.js';

const SECRET_PURPOSE = 'provider-client-secret';

/** Providers whose instances an operator can add (GitHub has one; Mastodon registers itself). */
export const ADDABLE_PROVIDERS = ['gitlab', 'forgejo'] as const;
export type AddableProvider = (typeof ADDABLE_PROVIDERS)[number];

export interface ProviderApp extends OAuthAppConfig {
  /** The host people see, e.g. `gitlab.example`. */
  host: string;
}

function withHost(app: OAuthAppConfig): ProviderApp {
  return { ...app, host: new URL(app.url).host };
}

export class ProviderInstances {
  constructor(
    private readonly store: Store,
    private readonly secrets: readonly string[],
  ) {}

  /** The preset first, then the added instances; an added instance with the preset's URL wins. */
  async list(provider: AddableProvider, preset: OAuthAppConfig | undefined): Promise<ProviderApp[]> {
    const rows = await listProviderInstances(this.store.db, provider);
    const added: ProviderApp[] = [];
    for (const row of rows) {
      const clientSecret = openSecret(SECRET_PURPOSE, row.client_secret_sealed, this.secrets);
      // A secret sealed under a key that is no longer configured cannot be used; skip it.
      if (clientSecret === undefined) continue;
      added.push(
        withHost({ clientId: row.client_id, clientSecret, url: row.base_url, apiUrl: row.base_url }),
      );
    }
    const presetApp = preset && !added.some((app) => app.url === preset.url) ? [withHost(preset)] : [];
    return [...presetApp, ...added];
  }

  async add(
    provider: AddableProvider,
    url: string,
    clientId: string,
    clientSecret: string,
    at: number,
  ): Promise<void> {
    await putProviderInstance(this.store.db, {
      provider,
      base_url: url,
      client_id: clientId,
      client_secret_sealed: sealSecret(SECRET_PURPOSE, clientSecret, this.secrets),
      created_at: at,
    });
  }

  remove(provider: AddableProvider, url: string): Promise<boolean> {
    return removeProviderInstance(this.store.db, provider, url);
  }
}
