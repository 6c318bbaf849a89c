/**
 * Builds Latchkey in-process for integration tests: real store (SQLite or PostgreSQL), real
 * fetcher reaching fixture sites on loopback through connect-to rules, and `app.request()`.
 */
import type { Hono } from 'hono';
import { buildApp } from '../../src/app.js';
import { type Config, type ConnectToRule, testConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { createServices, type Services } from '../../src/services.js';
import type { StoreTarget } from './stores.js';

export interface TestApp {
  app: Hono;
  services: Services;
  /** Moves the services' clock; starts at the real time. */
  clock: { now: number };
  close(): Promise<void>;
}

export async function createTestApp(
  target: StoreTarget,
  options: { connectTo?: ConnectToRule[]; config?: Partial<Config> } = {},
): Promise<TestApp> {
  const { url, dispose } = await target.create();
  const clock = { now: Math.floor(Date.now() / 1000) };
  const config = testConfig({
    databaseUrl: url,
    publicUrl: 'https://login.test/',
    connectTo: options.connectTo ?? [],
    fetch: { connectTimeoutMs: 1000, headersTimeoutMs: 1000, totalTimeoutMs: 1500 },
    ...options.config,
  });
  // The target's own store handle is closed by dispose(); the services open their own.
  const services = await createServices(config, { logger: silentLogger(), clock: () => clock.now });
  return {
    app: buildApp(services),
    services,
    clock,
    async close() {
      await services.close();
      await dispose();
    },
  };
}

/** Form-encodes a body for `app.request`. */
export function form(values: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(values).toString(),
  };
}
