/**
 * The second baseline for `npm run bench` (DESIGN "Performance targets"): panva's node-oidc-provider
 * with its default in-memory adapter, introspection enabled, and one client_credentials token per
 * load-generator request set. Prints one JSON line ({url, tokens, basic}) and serves until killed.
 * It runs only here, as a yardstick; Latchkey does not depend on it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

const CLIENT_ID = 'bench-resource-server';
const CLIENT_SECRET = 'a-long-client-secret-for-the-benchmark-only-0123456789';

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'create',
    },
  ],
  scopes: ['create'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
  },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
});
// Its warnings (development keys, no TLS) are about production use, which this is not.
provider.on('server_error', (_ctx: unknown, error: Error) => console.error(error));
server.on('request', provider.callback());

const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
const tokens: string[] = [];
for (let i = 0; i < 256; i++) {
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=create',
  });
  const body = (await response.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`no client_credentials token: ${JSON.stringify(body)}`);
  tokens.push(body.access_token);
}
const check = await fetch(`${issuer}/token/introspection`, {
  method: 'POST',
  headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
  body: `token=${encodeURIComponent(tokens[0] ?? '')}`,
});
const introspected = (await check.json()) as { active?: boolean };
if (!introspected.active)
  throw new Error(`introspection did not answer active: ${JSON.stringify(introspected)}`);

console.log(JSON.stringify({ url: issuer, tokens, basic, path: '/token/introspection' }));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
