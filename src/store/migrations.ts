/**
 * Schema migrations, in code so they ship inside the build. Each runs once, in order; they run at
 * start-up and by `latchkey migrate`. Never edit a released migration: add the next one.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';

// Migrations see an untyped database: the schema they create is what `schema.ts` then describes.
type AnyDb = Kysely<unknown>;

const m001_foundation: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('trusted_endpoints')
      .addColumn('url', 'text', (c) => c.primaryKey())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('resource_servers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema
      .createTable('grants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('authorization_endpoint', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('grants_me').on('grants').column('me').execute();
    await db.schema
      .createTable('access_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id'))
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('access_tokens_grant').on('access_tokens').column('grant_id').execute();
    await db.schema.createIndex('access_tokens_me').on('access_tokens').column('me').execute();
    await db.schema.createIndex('access_tokens_expires').on('access_tokens').column('expires_at').execute();
    await db.schema
      .createTable('redeemed_codes')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

/** Our own authorization codes (PROTOCOL §7–8) and refresh tokens (PROTOCOL §10). */
const m002_codes_and_refresh_tokens: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('auth_codes')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('code_challenge', 'text')
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('profile', 'text')
      .addColumn('auth_method', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .addColumn('used_by', 'text')
      .addColumn('grant_id', 'text')
      .execute();
    await db.schema.createIndex('auth_codes_expires').on('auth_codes').column('expires_at').execute();
    await db.schema
      .createTable('refresh_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id'))
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('rotated_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema.createIndex('refresh_tokens_grant').on('refresh_tokens').column('grant_id').execute();
    await db.schema.createIndex('refresh_tokens_expires').on('refresh_tokens').column('expires_at').execute();
  },
};

/**
 * Client information (PROTOCOL §6): a cache of good client_id documents, and the operator's
 * allow/deny policy for clients (`latchkey clients …`). Failures are never cached, so the cache only
 * ever holds documents that were read successfully.
 */
const m003_clients: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('client_cache')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('info', 'text', (c) => c.notNull())
      .addColumn('fetched_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('client_cache_expires').on('client_cache').column('expires_at').execute();
    await db.schema
      .createTable('client_policy')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('client_policy_decision').on('client_policy').column('decision').execute();
  },
};

/**
 * The sign-in core (PROTOCOL §9, DESIGN "The sign-in core"): attempts moved forward by explicit
 * transitions, typed single-use step tokens bound to a browser session, identities a browser has
 * proven ("Continue as …"), email codes with their try counter, and rate-limit windows. Everything
 * lives in the store so any instance can serve any step.
 */
const m004_signin: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('grants').addColumn('profile', 'text').execute();
    await db.schema
      .createTable('signin_attempts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('session_hash', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('request', 'text', (c) => c.notNull())
      .addColumn('client', 'text', (c) => c.notNull())
      .addColumn('me', 'text')
      .addColumn('candidates', 'text')
      .addColumn('method', 'text')
      .addColumn('method_state', 'text')
      .addColumn('proof', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('signin_attempts_expires')
      .on('signin_attempts')
      .column('expires_at')
      .execute();
    await db.schema
      .createTable('signin_steps')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('attempt_id', 'text', (c) => c.notNull())
      .addColumn('session_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('signin_steps_expires').on('signin_steps').column('expires_at').execute();
    await db.schema
      .createTable('session_identities')
      .addColumn('session_hash', 'text', (c) => c.notNull())
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('profile', 'text')
      .addColumn('authenticated_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('session_identities_pk', ['session_hash', 'me'])
      .execute();
    await db.schema
      .createIndex('session_identities_expires')
      .on('session_identities')
      .column('expires_at')
      .execute();
    await db.schema
      .createTable('email_codes')
      .addColumn('attempt_id', 'text', (c) => c.primaryKey())
      .addColumn('session_hash', 'text', (c) => c.notNull())
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('address', 'text', (c) => c.notNull())
      .addColumn('code_hash', 'text', (c) => c.notNull())
      .addColumn('tries', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema.createIndex('email_codes_expires').on('email_codes').column('expires_at').execute();
    await db.schema
      .createTable('rate_limits')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('hits', 'integer', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('rate_limits_expires').on('rate_limits').column('expires_at').execute();
  },
};

/**
 * Provider instances an operator added (`latchkey providers add gitlab URL`, PROTOCOL §9.1) and
 * Latchkey's own registrations at Mastodon-API servers (one per host, made on first use). Client
 * secrets are stored sealed with a key derived from LATCHKEY_SECRET (SECURITY D7).
 */
const m005_providers: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('provider_instances')
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('base_url', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('client_secret_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_instances_pk', ['provider', 'base_url'])
      .execute();
    await db.schema
      .createTable('mastodon_apps')
      .addColumn('host', 'text', (c) => c.primaryKey())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('client_secret_sealed', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

/**
 * The person's account page (PROTOCOL §13): what a grant showed at grant time (client name and https
 * logo, SECURITY E7), whether the code's proof was fresh or a "Continue as" (passkey registration
 * needs a fresh one, E9), the account page's own sessions (12 hours) and one row per successful
 * sign-in (kept 90 days). Every new table has an end of life and is purged (R6).
 */
const m006_account: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('auth_codes').addColumn('client_name', 'text').execute();
    await db.schema.alterTable('auth_codes').addColumn('client_logo', 'text').execute();
    await db.schema.alterTable('auth_codes').addColumn('proof_fresh', 'integer').execute();
    await db.schema.alterTable('grants').addColumn('client_name', 'text').execute();
    await db.schema.alterTable('grants').addColumn('client_logo', 'text').execute();
    await db.schema
      .createTable('account_sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('proven_at', 'bigint', (c) => c.notNull())
      .addColumn('fresh', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('account_sessions_me').on('account_sessions').column('me').execute();
    await db.schema
      .createIndex('account_sessions_expires')
      .on('account_sessions')
      .column('expires_at')
      .execute();
    await db.schema
      .createTable('signin_log')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull())
      .addColumn('client_name', 'text')
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('evidence', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('signin_log_me').on('signin_log').columns(['me', 'created_at']).execute();
    await db.schema.createIndex('signin_log_created').on('signin_log').column('created_at').execute();
    await db.schema.createIndex('session_identities_me').on('session_identities').column('me').execute();
  },
};

/**
 * 007: passkeys for site owners (PROTOCOL §13, SECURITY E9). A passkey row holds the credential's
 * public key (public: kept in clear), its counter, the `me` it signs in, and how that site was proven
 * when it was registered (`registered_via`: the method and the link, or that the site names this
 * server), so sign-in can check the site still says so. WebAuthn challenges are stored hashed,
 * single-use, bound to the account session (register) or the sign-in attempt (authenticate), and
 * live 5 minutes (purged, R6).
 */
const m007_passkeys: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('passkeys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addColumn('counter', 'bigint', (c) => c.notNull())
      .addColumn('transports', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('registered_via', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .execute();
    await db.schema.createIndex('passkeys_me').on('passkeys').column('me').execute();
    await db.schema
      .createTable('webauthn_challenges')
      .addColumn('challenge_hash', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('binding', 'text', (c) => c.notNull())
      .addColumn('me', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('webauthn_challenges_expires')
      .on('webauthn_challenges')
      .column('expires_at')
      .execute();
  },
};

/** How the person proved their site when they granted (PROTOCOL §13: the account page shows it). */
const m008_grant_method: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('grants').addColumn('auth_method', 'text').execute();
  },
};

export const migrations: Record<string, Migration> = {
  '001_foundation': m001_foundation,
  '002_codes_and_refresh_tokens': m002_codes_and_refresh_tokens,
  '003_clients': m003_clients,
  '004_signin': m004_signin,
  '005_providers': m005_providers,
  '006_account': m006_account,
  '007_passkeys': m007_passkeys,
  '008_grant_method': m008_grant_method,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
