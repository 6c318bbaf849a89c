/**
 * The `latchkey` command. Each command is one small function over the same services the server
 * uses; `buildProgram` wires them to commander. Commands write through their `Cli` (never
 * `console` or `process.exitCode`), so `runCli` drives the whole CLI in-process: tests inject the
 * environment and capture output and exit code, without a child process (issue 13).
 */
import { existsSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { type Config, ConfigError, loadConfig } from './config.js';
import { discoverSite } from './indieauth/discovery.js';
import { formatDiscovery } from './indieauth/doctor.js';
import { normaliseSignInInput, validateClientId, validateProfileUrl } from './indieauth/urls.js';
import { silentLogger } from './log.js';
import { startServer } from './server.js';
import { createServices, type Services } from './services.js';
import { ADDABLE_PROVIDERS, type AddableProvider, ProviderInstances } from './signin/provider-instances.js';
import { allowListMode, type ClientDecision, listClientPolicies } from './store/clients.js';
import { locateDatabase, migrationState } from './store/db.js';
import { countRows } from './store/stats.js';
import { listAccessTokens } from './store/tokens.js';
import {
  addTrustedEndpoint,
  listTrustedEndpoints,
  removeTrustedEndpoint,
} from './store/trusted-endpoints.js';
import { canonicalEndpoint } from './tokens/mintoken.js';
import { VERSION } from './version.js';

/** What the CLI runs against; every field defaults to the real process. */
export interface CliIo {
  /** The environment the Config is read from; default: `.env` under `process.env` (config.ts). */
  env?: Record<string, string | undefined>;
  /** Receives standard output, chunk by chunk (lines end in `\n`). */
  stdout?: (chunk: string) => void;
  /** Receives standard error, chunk by chunk. */
  stderr?: (chunk: string) => void;
}

/**
 * How a command uses the database. Only `create` (migrate, serve) may create a missing SQLite file:
 * a command run from the wrong directory must not quietly make a new, empty database (issue 16).
 * `write` and `create` name the database on their first line, so the operator sees what changed.
 */
export type DatabaseUse = 'read' | 'write' | 'create';

/** Output, exit code, Config and services for one CLI run; each command receives it. */
export class Cli {
  /** The process exit code once the command returns; set to 1 for "nothing to do" answers. */
  exitCode = 0;
  private loaded: Config | undefined;

  constructor(private readonly io: CliIo = {}) {}

  /** Writes one line to standard output. */
  out(line: string): void {
    this.writeOut(`${line}\n`);
  }

  /** Writes one line to standard error. */
  err(line: string): void {
    this.writeErr(`${line}\n`);
  }

  writeOut(chunk: string): void {
    (this.io.stdout ?? ((c: string) => process.stdout.write(c)))(chunk);
  }

  writeErr(chunk: string): void {
    (this.io.stderr ?? ((c: string) => process.stderr.write(c)))(chunk);
  }

  /** The Config, read once; a bad variable throws a ConfigError, which `runCli` makes exit code 2 (R9). */
  config(): Config {
    this.loaded ??= loadConfig(this.io.env);
    return this.loaded;
  }

  /** Opens the services on the configured database for one command (quiet logger), then closes them. */
  async withServices<T>(use: DatabaseUse, fn: (services: Services) => Promise<T>): Promise<T> {
    const config = this.config();
    const where = locateDatabase(config.databaseUrl);
    const created = where.file !== undefined && !existsSync(where.file);
    if (created && use !== 'create') {
      throw new Error(
        `No database at ${where.file} (DATABASE_URL=${config.databaseUrl}). Run it from the directory where you run the server, set DATABASE_URL, or run latchkey migrate to create it.`,
      );
    }
    const services = await createServices(config, { logger: silentLogger() });
    try {
      if (use !== 'read') this.out(`Database: ${where.label}${created ? ' (created now)' : ''}`);
      return await fn(services);
    } finally {
      await services.close();
    }
  }
}

function endpointArgument(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${url} is not a URL. Give the full address, e.g. https://example.com/auth/`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Error('The endpoint must be an http(s) URL.');
  return canonicalEndpoint(url);
}

function clientIdArgument(url: string): string {
  const check = validateClientId(url);
  if (!check.ok) throw new Error(`${url} is not a valid client_id: ${check.reason}.`);
  return check.url;
}

const date = (epoch: number | null) =>
  epoch === null ? '-' : new Date(epoch * 1000).toISOString().slice(0, 16).replace('T', ' ');

/** Listen failures are configuration too (R9): name the variable to change. */
function listenError(config: Config, error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE')
    return new ConfigError('PORT', `${config.port} is already in use on ${config.host}`, '3001');
  if (code === 'EACCES')
    return new ConfigError('PORT', `${config.port} needs privileges to listen on`, '3000');
  if (code === 'EADDRNOTAVAIL')
    return new ConfigError(
      'HOST',
      `${JSON.stringify(config.host)} is not an address of this machine`,
      '127.0.0.1',
    );
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new ConfigError(
      'HOST',
      `${JSON.stringify(config.host)} does not resolve to an address`,
      '127.0.0.1',
    );
  return error;
}

async function serve(cli: Cli): Promise<void> {
  const config = cli.config();
  const server = await startServer(config).catch((error: unknown) => {
    throw listenError(config, error);
  });
  const stop = async (signal: string) => {
    server.services.logger.info({ event: 'server.stopping', signal }, 'stopping');
    // R2: close() drains within its deadline; this backstop only fires if closing the store hangs.
    setTimeout(() => process.exit(1), server.drainTimeoutMs + 5_000).unref();
    const stopped = await server.close().then(
      () => true,
      (error: unknown) => {
        server.services.logger.error({ event: 'server.stop_failed', err: String(error) }, 'stop failed');
        return false;
      },
    );
    process.exit(stopped ? 0 : 1);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

async function migrate(cli: Cli): Promise<void> {
  await cli.withServices('create', async (s) => {
    const { applied } = await migrationState(s.store.db);
    cli.out(
      `Database schema is up to date (${s.store.dialect}): ${applied.length} migrations, latest ${applied.at(-1) ?? '-'}.`,
    );
  });
}

/**
 * PROTOCOL §14 `status`: which issuer, which database, what is set up. Never prints a password or a
 * key; when LATCHKEY_SECRET is unset it says where the generated secret lives (issue 6).
 */
async function status(cli: Cli): Promise<void> {
  await cli.withServices('read', async (s) => {
    const { config } = s;
    const where = locateDatabase(config.databaseUrl);
    const migrations = await migrationState(s.store.db);
    const counts = await countRows(s.store.db, s.tokens.now());
    const smtp = config.smtpUrl ? new URL(config.smtpUrl) : undefined;
    const methods = (await s.signIn.offeredMethods()).map((method) => method.id);
    const keys = config.secrets.length;
    const clients =
      counts.clientsAllowed + counts.clientsDenied === 0
        ? 'none (any client can be used)'
        : `${counts.clientsAllowed} allowed, ${counts.clientsDenied} denied${counts.clientsAllowed > 0 ? ' (allow-list mode)' : ''}`;
    const rows: Array<[string, string]> = [
      ['Issuer', config.publicUrl],
      ['Database', where.dialect === 'sqlite' ? `SQLite ${where.label}` : where.label],
      [
        'Migrations',
        `${migrations.applied.length} of ${migrations.known} applied, latest ${migrations.applied.at(-1) ?? '-'}`,
      ],
      [
        'Secret',
        keys > 0
          ? `${keys} key${keys > 1 ? 's' : ''} from LATCHKEY_SECRET (the first signs${keys > 1 ? ', the others still verify' : ''})`
          : "generated and stored in the database (settings table, key 'secret'); setting LATCHKEY_SECRET is recommended when several instances serve this issuer",
      ],
      [
        'Email (SMTP)',
        smtp
          ? `configured, ${smtp.protocol}//${smtp.host}${config.mailFrom ? `, sender ${config.mailFrom}` : ''}`
          : 'not configured (SMTP_URL is not set), so sign-in by email is not offered',
      ],
      ['Sign-in methods', `${methods.join(', ')}${s.mailer.enabled ? '' : ' (email needs SMTP_URL)'}`],
      ['Access tokens', `${counts.activeAccessTokens} active`],
      ['Grants', `${counts.activeGrants} active`],
      ['Trusted endpoints', String(counts.trustedEndpoints)],
      ['Resource servers', String(counts.resourceServers)],
      ['Client policies', clients],
    ];
    cli.out(`Latchkey ${VERSION}`);
    for (const [label, value] of rows) cli.out(`${`${label}:`.padEnd(19)}${value}`);
  });
}

async function trustAdd(cli: Cli, url: string): Promise<void> {
  await cli.withServices('write', async (s) => {
    const endpoint = endpointArgument(url);
    const added = await addTrustedEndpoint(s.store.db, endpoint);
    cli.out(added ? `Trusted ${endpoint}` : `${endpoint} was already trusted.`);
  });
}

async function trustRemove(cli: Cli, url: string): Promise<void> {
  await cli.withServices('write', async (s) => {
    const endpoint = endpointArgument(url);
    const removed = await removeTrustedEndpoint(s.store.db, endpoint);
    cli.out(removed ? `No longer trusting ${endpoint}` : `${endpoint} was not trusted.`);
    if (!removed) cli.exitCode = 1;
  });
}

async function trustList(cli: Cli): Promise<void> {
  await cli.withServices('read', async (s) => {
    const urls = await listTrustedEndpoints(s.store.db);
    cli.out(
      urls.length
        ? urls.join('\n')
        : 'No trusted authorization endpoints. Add one with `latchkey trust add URL`.',
    );
  });
}

async function tokensList(cli: Cli, options: { me?: string; all?: boolean }): Promise<void> {
  await cli.withServices('read', async (s) => {
    let me: string | undefined;
    if (options.me) {
      const check = validateProfileUrl(options.me);
      if (!check.ok) throw new Error(`--me: ${check.reason}`);
      me = check.url;
    }
    const rows = await listAccessTokens(s.store.db, {
      me,
      activeAt: options.all ? undefined : s.tokens.now(),
    });
    if (rows.length === 0) {
      cli.out('No tokens.');
      return;
    }
    cli.out(['ID', 'ME', 'CLIENT', 'SCOPE', 'ISSUED', 'EXPIRES', 'LAST USED', 'REVOKED'].join('\t'));
    for (const t of rows) {
      cli.out(
        [
          t.id,
          t.me,
          t.clientId,
          t.scope,
          date(t.createdAt),
          date(t.expiresAt),
          date(t.lastUsedAt),
          date(t.revokedAt),
        ].join('\t'),
      );
    }
  });
}

/** SECURITY D9: revoking a token ends its whole grant, refresh tokens included (tokens/grants.ts). */
async function tokensRevoke(cli: Cli, id: string): Promise<void> {
  await cli.withServices('write', async (s) => {
    const grantId = await s.grants.revokeForAccessToken(id);
    cli.out(
      grantId
        ? `Revoked token ${id} and its grant ${grantId} (all its access and refresh tokens).`
        : `No active token with ID ${id}.`,
    );
    if (!grantId) cli.exitCode = 1;
  });
}

async function resourceServerAdd(cli: Cli, name: string): Promise<void> {
  await cli.withServices('write', async (s) => {
    const created = await s.resourceServers.create(name);
    cli.out(`Resource server "${created.name}" created. Its introspection secret (shown only now):\n`);
    cli.out(created.secret);
    cli.out('\nCall POST /introspect with the header "Authorization: Bearer <secret>".');
  });
}

async function resourceServerList(cli: Cli): Promise<void> {
  await cli.withServices('read', async (s) => {
    const rows = await s.resourceServers.list();
    if (rows.length === 0) cli.out('No resource servers. Add one with `latchkey resource-server add NAME`.');
    for (const r of rows) cli.out(`${r.name}\tcreated ${date(r.createdAt)}\tlast used ${date(r.lastUsedAt)}`);
  });
}

async function resourceServerRemove(cli: Cli, name: string): Promise<void> {
  await cli.withServices('write', async (s) => {
    const removed = await s.resourceServers.remove(name);
    cli.out(removed ? `Removed "${name}".` : `No resource server named "${name}".`);
    if (!removed) cli.exitCode = 1;
  });
}

/** `clients allow|deny` (PROTOCOL §6; store/clients.ts): one `allow` switches to allow-list mode. */
async function clientsDecide(cli: Cli, decision: ClientDecision, url: string): Promise<void> {
  await cli.withServices('write', async (s) => {
    // A rule: origin + optional path prefix, query dropped (SECURITY A10, indieauth/client-rules.ts).
    const change = await s.clientPolicy.set(clientIdArgument(url), decision);
    const { rule: clientId, previous, revokedGrants } = change;
    const verb = decision === 'allow' ? 'Allowed' : 'Denied';
    cli.out(
      previous === decision
        ? `${clientId} was already ${decision === 'allow' ? 'allowed' : 'denied'}.`
        : `${verb} ${clientId} (and everything under it)`,
    );
    if (revokedGrants > 0) cli.out(`Revoked ${revokedGrants} grant(s) held by the clients it covers.`);
    if (decision === 'allow') cli.out('Allow-list mode is on: only allowed clients can be used to sign in.');
  });
}

async function clientsRemove(cli: Cli, url: string): Promise<void> {
  await cli.withServices('write', async (s) => {
    const clientId = clientIdArgument(url);
    const removed = await s.clientPolicy.remove(clientId);
    cli.out(removed ? `Removed the decision about ${clientId}` : `There was no decision about ${clientId}.`);
    if (!removed) cli.exitCode = 1;
    else if (!(await allowListMode(s.store.db)))
      cli.out('Any client can be used to sign in (no client is on the allow-list).');
  });
}

async function clientsList(cli: Cli): Promise<void> {
  await cli.withServices('read', async (s) => {
    const rows = await listClientPolicies(s.store.db);
    if (rows.length === 0) {
      cli.out(
        'No client decisions: any client can be used. Allow or deny one with `latchkey clients allow|deny URL`.',
      );
      return;
    }
    cli.out(
      rows.some((r) => r.decision === 'allow')
        ? 'Allow-list mode: only the allowed clients can be used.'
        : 'Any client can be used, except denied ones.',
    );
    for (const r of rows) cli.out(`${r.decision}\t${r.clientId}\t${date(r.createdAt)}`);
  });
}

/**
 * `backup PATH` (PROTOCOL §14): SQLite is copied online (safe while the server runs); for PostgreSQL
 * the `pg_dump` command is printed, not run. Neither opens the services, so the database is never
 * migrated or created by a backup (store/backup.ts).
 */
async function backup(cli: Cli, path: string, options: { force?: boolean }): Promise<void> {
  const where = locateDatabase(cli.config().databaseUrl);
  const { backupSqlite, pgDumpCommands } = await import('./store/backup.js');
  if (where.dialect === 'postgres') {
    const advice = pgDumpCommands(cli.config().databaseUrl, path);
    cli.out(`Database: ${where.label}`);
    cli.out('Latchkey does not dump PostgreSQL itself. Back it up with (safe while the servers run):\n');
    cli.out(`  ${advice.dump}\n`);
    cli.out(
      advice.hadPassword
        ? 'The password is left out of the URL: set PGPASSWORD to the one in DATABASE_URL (or use ~/.pgpass).'
        : 'Use the same credentials the server uses (PGPASSWORD or ~/.pgpass when a password is needed).',
    );
    cli.out(`Restore into an empty database (stop the servers first) with:\n\n  ${advice.restore}`);
    return;
  }
  if (!where.file) throw new Error('An in-memory database cannot be backed up.');
  if (!existsSync(where.file))
    throw new Error(`No database at ${where.file} (DATABASE_URL=${cli.config().databaseUrl}).`);
  cli.out(`Database: ${where.label}`);
  const copy = await backupSqlite(where.file, path, options);
  cli.out(
    `Backed up to ${copy.file} (${copy.bytes} bytes, ${copy.migrations} migrations, latest ${copy.latest ?? '-'}).`,
  );
}

async function doctor(cli: Cli, url: string): Promise<void> {
  await cli.withServices('read', async (s) => {
    const report = await discoverSite(normaliseSignInInput(url), s.fetcher);
    cli.out(formatDiscovery(report, await s.signIn.diagnose(report)));
  });
}

// ---------------------------------------------------------------------------------------------------
// Grants (PROTOCOL §14, SECURITY D9): an operator's revoke ends the grant's access AND refresh tokens.

function profileOption(url: string): string {
  const check = validateProfileUrl(url);
  if (!check.ok) throw new Error(`--me: ${check.reason}`);
  return check.url;
}

/** `grants list [--me URL] [--client URL] [--all]`: live grants, newest first. */
async function grantsList(cli: Cli, options: { me?: string; client?: string; all?: boolean }): Promise<void> {
  await cli.withServices('read', async (s) => {
    const rows = await s.grants.list({
      ...(options.me ? { me: profileOption(options.me) } : {}),
      ...(options.client ? { clientId: clientIdArgument(options.client) } : {}),
      includeInactive: options.all === true,
    });
    if (rows.length === 0) {
      cli.out('No grants.');
      return;
    }
    cli.out(
      ['ID', 'ME', 'CLIENT', 'SCOPE', 'GRANTED', 'LAST USED', 'EXPIRES', 'TOKENS', 'REVOKED'].join('	'),
    );
    for (const g of rows) {
      cli.out(
        [
          g.id,
          g.me,
          g.clientId,
          g.scope,
          date(g.createdAt),
          date(g.lastUsedAt),
          date(g.expiresAt),
          `${g.accessTokens} access, ${g.refreshTokens} refresh`,
          date(g.revokedAt),
        ].join('	'),
      );
    }
  });
}

/** `grants revoke ID` or `grants revoke --me URL`. */
async function grantsRevoke(cli: Cli, id: string | undefined, options: { me?: string }): Promise<void> {
  if ((id === undefined) === (options.me === undefined)) {
    throw new Error('Give either a grant ID or --me URL (see `latchkey grants list`).');
  }
  await cli.withServices('write', async (s) => {
    if (id !== undefined) {
      const revoked = await s.grants.revoke(id);
      cli.out(
        revoked
          ? `Revoked grant ${id}: its access and refresh tokens no longer work.`
          : `No active grant with ID ${id}.`,
      );
      if (!revoked) cli.exitCode = 1;
      return;
    }
    const me = profileOption(options.me as string);
    const count = await s.grants.revokeForMe(me);
    cli.out(
      count > 0
        ? `Revoked ${count} grant(s) for ${me}: their access and refresh tokens no longer work.`
        : `No active grants for ${me}.`,
    );
    if (count === 0) cli.exitCode = 1;
  });
}

/** The commander program; without a `cli` it writes to the real process streams. */
/** `providers add gitlab|forgejo URL --client-id ID --client-secret SECRET` (PROTOCOL §14). */
async function providersAdd(
  cli: Cli,
  provider: string,
  url: string,
  options: { clientId: string; clientSecret: string },
): Promise<void> {
  const kind = providerArgument(provider);
  const base = providerUrlArgument(url);
  await cli.withServices('write', async (s) => {
    await new ProviderInstances(s.store, s.secrets).add(
      kind,
      base,
      options.clientId,
      options.clientSecret,
      s.tokens.now(),
    );
    cli.out(
      `Added ${kind} at ${base}. Register ${new URL(`signin/${kind}/callback`, s.config.publicUrl).href} as the callback URL there.`,
    );
  });
}

async function providersList(cli: Cli): Promise<void> {
  await cli.withServices('read', async (s) => {
    const instances = new ProviderInstances(s.store, s.secrets);
    const offered = new Set((await s.signIn.offeredMethods()).map((method) => method.id));
    for (const id of ['github', 'gitlab', 'forgejo', 'mastodon', 'ssh']) {
      cli.out(`${id.padEnd(9)}${offered.has(id) ? 'offered' : 'not offered (no credentials)'}`);
    }
    for (const kind of ADDABLE_PROVIDERS) {
      for (const app of await instances.list(kind, undefined))
        cli.out(`  ${kind} instance ${app.url} (client ${app.clientId})`);
    }
  });
}

async function providersRemove(cli: Cli, provider: string, url: string): Promise<void> {
  const kind = providerArgument(provider);
  const base = providerUrlArgument(url);
  await cli.withServices('write', async (s) => {
    const removed = await new ProviderInstances(s.store, s.secrets).remove(kind, base);
    cli.out(removed ? `Removed ${kind} at ${base}.` : `${kind} at ${base} was not added.`);
    if (!removed) cli.exitCode = 1;
  });
}

function providerArgument(provider: string): AddableProvider {
  const found = ADDABLE_PROVIDERS.find((kind) => kind === provider.toLowerCase());
  if (!found)
    throw new Error(
      `${provider} cannot be added: use one of ${ADDABLE_PROVIDERS.join(', ')} (GitHub is configured with GITHUB_*, Mastodon needs nothing).`,
    );
  return found;
}

function providerUrlArgument(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${url} is not a URL. Give the instance's address, e.g. https://gitlab.example`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Error('The instance must be an http(s) URL.');
  if (parsed.search || parsed.hash || parsed.username)
    throw new Error('Give the instance address only, without query, fragment or user name.');
  return parsed.href.replace(/\/+$/, '');
}

export function buildProgram(cli: Cli = new Cli()): Command {
  const program = new Command('latchkey')
    .version(VERSION)
    .description('Sign in with your own website.')
    // Set before any subcommand exists: commander copies both settings into each one.
    .exitOverride()
    .configureOutput({ writeOut: (s) => cli.writeOut(s), writeErr: (s) => cli.writeErr(s) });

  program
    .command('serve')
    .description('run the server (HOST:PORT, default 127.0.0.1:3000)')
    .action(() => serve(cli));
  program
    .command('migrate')
    .description('create or update the database schema (also done at start)')
    .action(() => migrate(cli));
  program
    .command('status')
    .description('show the issuer, database, migrations, email, sign-in methods and counts')
    .action(() => status(cli));

  const trust = program
    .command('trust')
    .description('authorization endpoints whose codes the token endpoint accepts');
  trust
    .command('add <url>')
    .description('trust an authorization endpoint, e.g. https://example.com/auth/')
    .action((url: string) => trustAdd(cli, url));
  trust
    .command('remove <url>')
    .description('stop trusting an authorization endpoint')
    .action((url: string) => trustRemove(cli, url));
  trust
    .command('list')
    .description('list trusted authorization endpoints')
    .action(() => trustList(cli));

  const tokens = program.command('tokens').description('issued access tokens');
  tokens
    .command('list')
    .description('list active access tokens (newest first)')
    .option('--me <url>', 'only tokens for this profile URL')
    .option('--all', 'include expired and revoked tokens')
    .action((options: { me?: string; all?: boolean }) => tokensList(cli, options));
  tokens
    .command('revoke <id>')
    .description('revoke an access token by the ID shown in `tokens list`')
    .action((id: string) => tokensRevoke(cli, id));

  const rs = program
    .command('resource-server')
    .description('credentials for resource servers calling /introspect');
  rs.command('add <name>')
    .description('create a credential; its secret is printed once')
    .action((name: string) => resourceServerAdd(cli, name));
  rs.command('list')
    .description('list resource servers')
    .action(() => resourceServerList(cli));
  rs.command('remove <name>')
    .description('delete a resource server and its secret')
    .action((name: string) => resourceServerRemove(cli, name));

  const clients = program
    .command('clients')
    .description('allow or deny client applications (any allowed client turns on allow-list mode)');
  clients
    .command('allow <url>')
    .description('allow a client_id; from then on only allowed clients can be used')
    .action((url: string) => clientsDecide(cli, 'allow', url));
  clients
    .command('deny <url>')
    .description('refuse a client_id')
    .action((url: string) => clientsDecide(cli, 'deny', url));
  clients
    .command('remove <url>')
    .description('forget the decision about a client_id')
    .action((url: string) => clientsRemove(cli, url));
  clients
    .command('list')
    .description('list allowed and denied clients')
    .action(() => clientsList(cli));

  program
    .command('backup <path>')
    .description('copy the SQLite database while it runs; for PostgreSQL, print the pg_dump command')
    .option('--force', 'replace PATH if it exists')
    .action((path: string, options: { force?: boolean }) => backup(cli, path, options));
  program
    .command('doctor <url>')
    .description('discover a site the way sign-in does: what it would offer, and why')
    .action((url: string) => doctor(cli, url));

  const grants = program
    .command('grants')
    .description('what people have granted to apps; revoking ends access and refresh tokens');
  grants
    .command('list')
    .description('list live grants (newest first)')
    .option('--me <url>', 'only grants for this profile URL')
    .option('--client <url>', 'only grants held by this client_id')
    .option('--all', 'include revoked and expired grants')
    .action((options: { me?: string; client?: string; all?: boolean }) => grantsList(cli, options));
  grants
    .command('revoke [id]')
    .description('revoke a grant by the ID shown in `grants list`, or every grant of --me URL')
    .option('--me <url>', 'revoke every grant for this profile URL')
    .action((id: string | undefined, options: { me?: string }) => grantsRevoke(cli, id, options));

  const providers = program
    .command('providers')
    .description('sign-in providers: GitLab and Forgejo instances besides the presets');
  providers
    .command('add <provider> <url>')
    .description('add a gitlab or forgejo instance with the OAuth app registered there')
    .requiredOption('--client-id <id>', "the OAuth app's client ID")
    .requiredOption('--client-secret <secret>', "the OAuth app's secret (stored sealed)")
    .action((provider: string, url: string, options: { clientId: string; clientSecret: string }) =>
      providersAdd(cli, provider, url, options),
    );
  providers
    .command('list')
    .description('which providers are offered, and the added instances')
    .action(() => providersList(cli));
  providers
    .command('remove <provider> <url>')
    .description('remove an added instance')
    .action((provider: string, url: string) => providersRemove(cli, provider, url));

  return program;
}

/**
 * Runs one command line (`argv` without `node` and the script) and resolves to its exit code:
 * 0 done, 1 failed or nothing to do, 2 bad configuration (SECURITY R9: one line naming the variable).
 * `serve` resolves once the server listens; it keeps running.
 */
export async function runCli(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const cli = new Cli(io);
  try {
    await buildProgram(cli).parseAsync([...argv], { from: 'user' });
    return cli.exitCode;
  } catch (error) {
    // Commander has already printed its own message (usage error, --help, --version).
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof ConfigError) {
      cli.err(error.message);
      return 2;
    }
    cli.err(`latchkey: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** The process entry (bin/latchkey calls it): failures exit at once, even with a half-started server. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  // `latchkey tokens list | head`: a reader that stops early is not an error worth a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const code = await runCli(argv);
  if (code !== 0) process.exit(code);
}

/** True when this module is the script node was started with (`node dist/cli.js`, `tsx src/cli.ts`). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main();
