/**
 * A real Latchkey over HTTP for browser and interoperability tests, with its issuer equal to the
 * address it listens on (so redirects and `iss` point back at it). The port is picked free first.
 */
import { createServer } from 'node:net';
import { type Config, testConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningServer, startServer } from '../../src/server.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export async function startTestServer(config: Partial<Config> = {}): Promise<RunningServer> {
  const port = await freePort();
  return startServer(
    testConfig({
      host: '127.0.0.1',
      port,
      publicUrl: `http://127.0.0.1:${port}/`,
      fetch: { connectTimeoutMs: 2000, headersTimeoutMs: 2000, totalTimeoutMs: 3000 },
      ...config,
    }),
    { logger: silentLogger() },
  );
}
