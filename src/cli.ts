/**
 * The `latchkey` command. Each command is a small function over the same services the server uses.
 */
import { Command } from 'commander';
import { loadConfig } from './config.js';
import { discoverSite } from './indieauth/discovery.js';
import { formatDiscovery } from './indieauth/doctor.js';
import { normaliseSignInInput, validateClientId, validateProfileUrl } from './indieauth/urls.js';
import { silentLogger } from './log.js';
import { startServer } from './server.js';
import { createServices, type Services } from './services.js';
import {
  allowListMode,
  type ClientDecision,
  listClientPolicies,
  removeClientPolicy,
  setClientPolicy,
} from './store/clients.js';
import { listAccessTokens, revokeAccessToken } from './store/tokens.js';
import {
  addTrustedEndpoint,
  listTrustedEndpoints,
  removeTrustedEndpoint,
} from './store/trusted-endpoints.js';
import { canonicalEndpoint } from './tokens/mintoken.js';
import { VERSION } from './version.js';

/** Runs `fn` with services on a quiet logger, then closes them. */
async function withServices<T>(fn: (services: Services) => Promise<T>): Promise<T> {
  const services = await createServices(loadConfig(), { logger: silentLogger() });
  try {
    return await fn(services);
  } finally {
    await services.close();
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

const date = (epoch: number | null) =>
  epoch === null ? '-' : new Date(epoch * 1000).toISOString().slice(0, 16).replace('T', ' ');

export function buildProgram(): Command {
  const program = new Command('latchkey').version(VERSION).description('Sign in with your own website.');

  program
    .command('serve')
    .description('run the server (HOST:PORT, default 127.0.0.1:3000)')
    .action(async () => {
      const server = await startServer(loadConfig());
      const stop = async (signal: string) => {
        server.services.logger.info({ event: 'server.stopping', signal }, 'stopping');
        await server.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
    });

  program
    .command('migrate')
    .description('create or update the database schema (also done at start)')
    .action(() =>
      withServices(async (s) => {
        console.log(`Database schema is up to date (${s.store.dialect}).`);
      }),
    );

  const trust = program
    .command('trust')
    .description('authorization endpoints whose codes the token endpoint accepts');
  trust
    .command('add <url>')
    .description('trust an authorization endpoint, e.g. https://example.com/auth/')
    .action((url: string) =>
      withServices(async (s) => {
        const endpoint = endpointArgument(url);
        const added = await addTrustedEndpoint(s.store.db, endpoint);
        console.log(added ? `Trusted ${endpoint}` : `${endpoint} was already trusted.`);
      }),
    );
  trust
    .command('remove <url>')
    .description('stop trusting an authorization endpoint')
    .action((url: string) =>
      withServices(async (s) => {
        const endpoint = endpointArgument(url);
        const removed = await removeTrustedEndpoint(s.store.db, endpoint);
        console.log(removed ? `No longer trusting ${endpoint}` : `${endpoint} was not trusted.`);
        if (!removed) process.exitCode = 1;
      }),
    );
  trust
    .command('list')
    .description('list trusted authorization endpoints')
    .action(() =>
      withServices(async (s) => {
        const urls = await listTrustedEndpoints(s.store.db);
        console.log(
          urls.length
            ? urls.join('\n')
            : 'No trusted authorization endpoints. Add one with `latchkey trust add URL`.',
        );
      }),
    );

  const tokens = program.command('tokens').description('issued access tokens');
  tokens
    .command('list')
    .description('list active access tokens (newest first)')
    .option('--me <url>', 'only tokens for this profile URL')
    .option('--all', 'include expired and revoked tokens')
    .action((options: { me?: string; all?: boolean }) =>
      withServices(async (s) => {
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
          console.log('No tokens.');
          return;
        }
        console.log(['ID', 'ME', 'CLIENT', 'SCOPE', 'ISSUED', 'EXPIRES', 'LAST USED', 'REVOKED'].join('\t'));
        for (const t of rows) {
          console.log(
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
      }),
    );
  tokens
    .command('revoke <id>')
    .description('revoke an access token by the ID shown in `tokens list`')
    .action((id: string) =>
      withServices(async (s) => {
        const revoked = await revokeAccessToken(s.store.db, { id }, s.tokens.now());
        console.log(revoked ? `Revoked token ${id}.` : `No active token with ID ${id}.`);
        if (!revoked) process.exitCode = 1;
      }),
    );

  const rs = program
    .command('resource-server')
    .description('credentials for resource servers calling /introspect');
  rs.command('add <name>')
    .description('create a credential; its secret is printed once')
    .action((name: string) =>
      withServices(async (s) => {
        const created = await s.resourceServers.create(name);
        console.log(
          `Resource server "${created.name}" created. Its introspection secret (shown only now):\n`,
        );
        console.log(created.secret);
        console.log('\nCall POST /introspect with the header "Authorization: Bearer <secret>".');
      }),
    );
  rs.command('list')
    .description('list resource servers')
    .action(() =>
      withServices(async (s) => {
        const rows = await s.resourceServers.list();
        if (rows.length === 0)
          console.log('No resource servers. Add one with `latchkey resource-server add NAME`.');
        for (const r of rows)
          console.log(`${r.name}\tcreated ${date(r.createdAt)}\tlast used ${date(r.lastUsedAt)}`);
      }),
    );
  rs.command('remove <name>')
    .description('delete a resource server and its secret')
    .action((name: string) =>
      withServices(async (s) => {
        const removed = await s.resourceServers.remove(name);
        console.log(removed ? `Removed "${name}".` : `No resource server named "${name}".`);
        if (!removed) process.exitCode = 1;
      }),
    );

  // Operator policy for clients (PROTOCOL §6; store/clients.ts): one `allow` switches to allow-list mode.
  const clientIdArgument = (url: string): string => {
    const check = validateClientId(url);
    if (!check.ok) throw new Error(`${url} is not a valid client_id: ${check.reason}.`);
    return check.url;
  };
  const clients = program
    .command('clients')
    .description('allow or deny client applications (any allowed client turns on allow-list mode)');
  const decide = (decision: ClientDecision) => (url: string) =>
    withServices(async (s) => {
      const clientId = clientIdArgument(url);
      const previous = await setClientPolicy(s.store.db, clientId, decision);
      const verb = decision === 'allow' ? 'Allowed' : 'Denied';
      console.log(
        previous === decision
          ? `${clientId} was already ${decision === 'allow' ? 'allowed' : 'denied'}.`
          : `${verb} ${clientId}`,
      );
      if (decision === 'allow') {
        console.log('Allow-list mode is on: only allowed clients can be used to sign in.');
      }
    });
  clients
    .command('allow <url>')
    .description('allow a client_id; from then on only allowed clients can be used')
    .action(decide('allow'));
  clients.command('deny <url>').description('refuse a client_id').action(decide('deny'));
  clients
    .command('remove <url>')
    .description('forget the decision about a client_id')
    .action((url: string) =>
      withServices(async (s) => {
        const clientId = clientIdArgument(url);
        const removed = await removeClientPolicy(s.store.db, clientId);
        console.log(
          removed ? `Removed the decision about ${clientId}` : `There was no decision about ${clientId}.`,
        );
        if (!removed) process.exitCode = 1;
        else if (!(await allowListMode(s.store.db)))
          console.log('Any client can be used to sign in (no client is on the allow-list).');
      }),
    );
  clients
    .command('list')
    .description('list allowed and denied clients')
    .action(() =>
      withServices(async (s) => {
        const rows = await listClientPolicies(s.store.db);
        if (rows.length === 0) {
          console.log(
            'No client decisions: any client can be used. Allow or deny one with `latchkey clients allow|deny URL`.',
          );
          return;
        }
        console.log(
          rows.some((r) => r.decision === 'allow')
            ? 'Allow-list mode: only the allowed clients can be used.'
            : 'Any client can be used, except denied ones.',
        );
        for (const r of rows) console.log(`${r.decision}\t${r.clientId}\t${date(r.createdAt)}`);
      }),
    );

  program
    .command('doctor <url>')
    .description('discover a site the way sign-in does: what it would offer, and why')
    .action((url: string) =>
      withServices(async (s) => {
        const report = await discoverSite(normaliseSignInInput(url), s.fetcher);
        console.log(formatDiscovery(report, s.signIn.candidatesFor(report)));
      }),
    );

  return program;
}

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    console.error(`latchkey: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
