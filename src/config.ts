/**
 * Environment → typed Config. This is the only module that reads `process.env`;
 * everything else receives a Config (or the slice it needs), which keeps tests explicit.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

/** `host=ip:port` mappings (like curl's --connect-to), used for tests and local development. */
export interface ConnectToRule {
  host: string;
  address: string;
  port: number | undefined;
}

export interface Config {
  /** Public base URL, always ending in `/`; it is the OAuth `issuer` (RFC 8414 §2). */
  publicUrl: string;
  host: string;
  port: number;
  databaseUrl: string;
  /** HMAC/cookie keys; the first signs, the others still verify (SECURITY R7). Empty: generated and stored. */
  secrets: string[];
  connectTo: ConnectToRule[];
  /** CIDRs and host names the fetcher may reach although they are private (PROTOCOL §4). */
  allowPrivateNetwork: string[];
  trustProxy: string[];
  smtpUrl: string | undefined;
  mailFrom: string | undefined;
  /** Lifetimes in seconds. */
  codeTtl: number;
  tokenTtl: number;
  refreshTokenTtl: number;
  refreshTokens: boolean;
  /** Operator switch: accept authorization requests without PKCE (legacy clients, SECURITY B6). */
  allowNoPkce: boolean;
  logLevel: string;
  fetch: {
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    totalTimeoutMs: number;
  };
}

const DURATION = /^(\d+)\s*(s|m|h|d)?$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `600`, `90s`, `10m`, `12h`, `7d` into seconds. */
export function parseDuration(value: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new Error(`not a duration: ${JSON.stringify(value)} (use e.g. 60s, 10m, 7d)`);
  const seconds = Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new Error(`duration must be positive: ${value}`);
  return seconds;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

export function parseConnectTo(value: string | undefined): ConnectToRule[] {
  return list(value).map((rule) => {
    const eq = rule.indexOf('=');
    if (eq <= 0)
      throw new Error(`LATCHKEY_CONNECT_TO: expected host=address[:port], got ${JSON.stringify(rule)}`);
    const host = rule.slice(0, eq).toLowerCase();
    const target = rule.slice(eq + 1);
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
    const plain = /^([^:]+)(?::(\d+))?$/.exec(target);
    const match = bracketed ?? plain;
    if (!match?.[1]) throw new Error(`LATCHKEY_CONNECT_TO: bad address in ${JSON.stringify(rule)}`);
    return { host, address: match[1], port: match[2] ? Number(match[2]) : undefined };
  });
}

const bool = z
  .string()
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v.toLowerCase()))
  .optional();

const EnvSchema = z.object({
  LATCHKEY_URL: z.string().url().optional(),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.string().default('sqlite:./data/latchkey.db'),
  LATCHKEY_SECRET: z.string().optional(),
  LATCHKEY_CONNECT_TO: z.string().optional(),
  LATCHKEY_ALLOW_PRIVATE_NETWORK: z.string().optional(),
  LATCHKEY_TRUST_PROXY: z.string().optional(),
  SMTP_URL: z.string().optional(),
  MAIL_FROM: z.string().optional(),
  CODE_TTL: z.string().default('60s'),
  TOKEN_TTL: z.string().default('7d'),
  REFRESH_TOKEN_TTL: z.string().default('30d'),
  REFRESH_TOKENS: bool,
  ALLOW_NO_PKCE: bool,
  LOG_LEVEL: z.string().default('info'),
  FETCH_CONNECT_TIMEOUT: z.string().default('3s'),
  FETCH_HEADERS_TIMEOUT: z.string().default('5s'),
  FETCH_TOTAL_TIMEOUT: z.string().default('10s'),
});

/** Reads `KEY=value` lines from a `.env` file; real environment variables win. */
export function readDotEnv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const out: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** Builds the Config from an environment (default: `.env` merged under `process.env`). */
export function loadConfig(env: Record<string, string | undefined> = defaultEnv()): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`configuration: ${problems}`);
  }
  const e = parsed.data;
  const publicUrl = withTrailingSlash(e.LATCHKEY_URL ?? `http://localhost:${e.PORT}/`);
  return {
    publicUrl: new URL(publicUrl).href,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    secrets: list(e.LATCHKEY_SECRET),
    connectTo: parseConnectTo(e.LATCHKEY_CONNECT_TO),
    allowPrivateNetwork: list(e.LATCHKEY_ALLOW_PRIVATE_NETWORK),
    trustProxy: list(e.LATCHKEY_TRUST_PROXY),
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    codeTtl: parseDuration(e.CODE_TTL),
    tokenTtl: parseDuration(e.TOKEN_TTL),
    refreshTokenTtl: parseDuration(e.REFRESH_TOKEN_TTL),
    refreshTokens: e.REFRESH_TOKENS ?? true,
    allowNoPkce: e.ALLOW_NO_PKCE ?? false,
    logLevel: e.LOG_LEVEL,
    fetch: {
      connectTimeoutMs: parseDuration(e.FETCH_CONNECT_TIMEOUT) * 1000,
      headersTimeoutMs: parseDuration(e.FETCH_HEADERS_TIMEOUT) * 1000,
      totalTimeoutMs: parseDuration(e.FETCH_TOTAL_TIMEOUT) * 1000,
    },
  };
}

function defaultEnv(): Record<string, string | undefined> {
  return { ...readDotEnv('.env'), ...process.env };
}

/** A Config for tests: defaults, with overrides. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), databaseUrl: 'sqlite::memory:', ...overrides };
}
