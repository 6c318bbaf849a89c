/**
 * Environment → typed Config. This is the only module that reads `process.env`;
 * everything else receives a Config (or the slice it needs), which keeps tests explicit.
 *
 * SECURITY R9: a bad value stops the process before it listens. Each variable has one reader that
 * either returns a good value or throws a ConfigError: one line naming the variable, what is wrong
 * and an example of a good value. Nothing is coerced silently (`REFRESH_TOKENS=maybe` is an error,
 * not `false`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

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
  /** `METRICS_TOKEN`: the Bearer token `GET /metrics` asks for; unset, it answers loopback only. */
  metricsToken: string | undefined;
  logLevel: LogLevel;
  /** OAuth providers with credentials (PROTOCOL §9.1); a provider without them is not offered. */
  providers: ProvidersConfig;
  fetch: {
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    totalTimeoutMs: number;
  };
}

/**
 * A setting the process cannot run with (SECURITY R9, PROTOCOL §14). The message is one line:
 * `VARIABLE: what is wrong, e.g. VARIABLE=good-value`; the CLI prints it and exits with code 2.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
    example: string,
  ) {
    super(`${variable}: ${problem}, e.g. ${variable}=${example}`.replace(/\s*\n\s*/g, ' '));
    this.name = 'ConfigError';
  }
}

/** A value's problem in plain words; `read` adds the variable, the value and the example. */
class Invalid extends Error {}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type Env = Record<string, string | undefined>;

/** Hides the password of `scheme://user:password@host` before a value is echoed in an error. */
function redactUserinfo(value: string): string {
  return value.replace(/(\/\/[^/?#@:]*:)[^/?#@]*@/, '$1***@');
}

/** The value as the error shows it: quoted, without a password, and not a screenful. */
function shown(value: string): string {
  const safe = redactUserinfo(value);
  return JSON.stringify(safe.length > 80 ? `${safe.slice(0, 77)}...` : safe);
}

/**
 * Reads one variable. Unset or blank means "use the default" (a `KEY=` line in `.env` is common);
 * anything else must parse, or the ConfigError names the variable and shows a good example.
 */
function read<T>(env: Env, name: string, example: string, parse: (value: string) => T): T | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  try {
    return parse(raw);
  } catch (error) {
    if (error instanceof Invalid) throw new ConfigError(name, `${shown(raw)} ${error.message}`, example);
    throw error;
  }
}

const DURATION = /^(\d+)\s*(s|m|h|d)?$/i;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `600`, `90s`, `10m`, `12h`, `7d` into seconds. */
export function parseDuration(value: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new Invalid('is not a duration (a number with s, m, h or d)');
  const seconds = Number(match[1]) * (UNIT_SECONDS[(match[2] ?? 's').toLowerCase()] ?? 1);
  if (!Number.isSafeInteger(seconds)) throw new Invalid('is too long');
  if (seconds <= 0) throw new Invalid('must be longer than 0');
  return seconds;
}

/** Outbound deadlines become timers; Node fires timers longer than ~24 days at once, so cap them. */
const MAX_FETCH_SECONDS = 600;
function fetchTimeoutMs(value: string): number {
  const seconds = parseDuration(value);
  if (seconds > MAX_FETCH_SECONDS) throw new Invalid('is too long for a request deadline (at most 10m)');
  return seconds * 1000;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** An IP address or a DNS name; a dotted all-numeric name must be a real IPv4 address. */
function isHostSyntax(value: string): boolean {
  if (isIP(value)) return true;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // WHATWG URL reads a name ending in a numeric label as IPv4, so `999.1.1.1` is a bad address.
  if (/^\d+$/.test(labels.at(-1) ?? '')) return false;
  return labels.every((label) => LABEL.test(label));
}

function host(value: string): string {
  if (isHostSyntax(value)) return value;
  if (/^[\d.]+$/.test(value)) throw new Invalid('is not a valid IPv4 address');
  if (/^\[.*\]$/.test(value)) throw new Invalid('must be written without brackets');
  throw new Invalid('is not an IP address or host name');
}

/** 0 asks the system for a free port (tests do). */
function port(value: string): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 0 && n <= 65535)) throw new Invalid('must be a port number from 0 to 65535');
  return n;
}

function publicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Invalid('must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Invalid('must be an http:// or https:// URL');
  if (url.username || url.password) throw new Invalid('must not contain a user name or password');
  // The issuer is compared as a string (RFC 9207); a query or fragment cannot be part of it.
  if (/[?#]/.test(value)) throw new Invalid('must not have a query (?…) or fragment (#…)');
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** Latchkey's OAuth app at one provider (PROTOCOL §9.1). */
export interface OAuthAppConfig {
  clientId: string;
  clientSecret: string;
  /** The provider's web base URL, no trailing slash (`https://github.com`). */
  url: string;
  /** Its API base URL, no trailing slash (`https://api.github.com`; GitLab and Forgejo: the web URL). */
  apiUrl: string;
}

export interface ProvidersConfig {
  github?: OAuthAppConfig;
  gitlab?: OAuthAppConfig;
  /** Forgejo/Gitea; the preset is Codeberg (`CODEBERG_*`). */
  forgejo?: OAuthAppConfig;
}

/** A provider's base URL: http(s), no query, no trailing slash (paths are kept: GitLab may live under one). */
function baseUrl(value: string): string {
  const url = publicUrl(value);
  return url.replace(/\/+$/, '');
}

function secretValue(value: string): string {
  if (/\s/.test(value)) throw new Invalid('must not contain spaces');
  return value;
}

/** One provider's credentials: both or neither; the URLs have presets (PROTOCOL §9.1). */
function oauthApp(
  env: Env,
  prefix: string,
  defaults: { url: string; apiUrl?: string },
): OAuthAppConfig | undefined {
  const clientId = read(env, `${prefix}_CLIENT_ID`, 'Iv1.0123456789abcdef', secretValue);
  const clientSecret = read(env, `${prefix}_CLIENT_SECRET`, 'the secret the provider showed', secretValue);
  const url = read(env, `${prefix}_URL`, defaults.url, baseUrl) ?? defaults.url;
  const apiUrl =
    prefix === 'GITHUB'
      ? (read(env, 'GITHUB_API_URL', 'https://api.github.com', baseUrl) ?? defaults.apiUrl ?? url)
      : url;
  if (clientId === undefined && clientSecret === undefined) return undefined;
  if (clientId === undefined) {
    throw new ConfigError(
      `${prefix}_CLIENT_ID`,
      `is missing while ${prefix}_CLIENT_SECRET is set`,
      'Iv1.0123456789abcdef',
    );
  }
  if (clientSecret === undefined) {
    throw new ConfigError(
      `${prefix}_CLIENT_SECRET`,
      `is missing while ${prefix}_CLIENT_ID is set`,
      'the secret the provider showed',
    );
  }
  return { clientId, clientSecret, url, apiUrl };
}

function providersFrom(env: Env): ProvidersConfig {
  const github = oauthApp(env, 'GITHUB', { url: 'https://github.com', apiUrl: 'https://api.github.com' });
  const gitlab = oauthApp(env, 'GITLAB', { url: 'https://gitlab.com' });
  const forgejo = oauthApp(env, 'CODEBERG', { url: 'https://codeberg.org' });
  return { ...(github ? { github } : {}), ...(gitlab ? { gitlab } : {}), ...(forgejo ? { forgejo } : {}) };
}

function databaseUrl(value: string): string {
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length);
    // `sqlite:` alone used to mean "in memory": every restart lost all data without a word.
    if (path === '') throw new Invalid('has no file path after sqlite:');
    if (path.startsWith('//')) throw new Invalid('must be sqlite:PATH, without //');
    return value;
  }
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      new URL(value);
    } catch {
      throw new Invalid('is not a valid PostgreSQL URL');
    }
    return value;
  }
  throw new Invalid('must start with sqlite: or postgres://');
}

function smtpUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || !url.hostname)
    throw new Invalid('must be an smtp:// or smtps:// URL with a host');
  return value;
}

const ADDRESS = /^[^\s@<>",;]+@[^\s@<>",;]+$/;
function mailFrom(value: string): string {
  const named = /^[^<>]*<([^<>]+)>$/.exec(value);
  if (ADDRESS.test(named?.[1] ?? value)) return value;
  throw new Invalid('is not an email address (name@example.com or Name <name@example.com>)');
}

function bool(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Invalid('must be true or false (or 1 or 0)');
}

/**
 * A Bearer token (RFC 6750 b64token characters), long enough not to be guessed. Checked here rather
 * than through `read`, whose error echoes the value: this one is a secret.
 */
function metricsToken(value: string | undefined): string | undefined {
  const raw = value?.trim();
  if (raw === undefined || raw === '') return undefined;
  const example = '$(openssl rand -hex 32)';
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(raw)) {
    throw new ConfigError(
      'METRICS_TOKEN',
      'may contain only letters, digits and -._~+/ (it is sent as a Bearer token)',
      example,
    );
  }
  if (raw.length < 16) {
    throw new ConfigError('METRICS_TOKEN', `is ${raw.length} characters long; use at least 16`, example);
  }
  return raw;
}

function logLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase());
  if (!level) throw new Invalid(`is not a log level (use one of ${LOG_LEVELS.join(', ')})`);
  return level;
}

/** Names the bad entry of a comma-separated value, unless it is the whole value. */
function entry(entries: readonly string[], bad: string, problem: string): Invalid {
  return new Invalid(entries.length > 1 ? `has ${JSON.stringify(bad)}, which ${problem}` : problem);
}

export function parseConnectTo(value: string | undefined): ConnectToRule[] {
  const rules = list(value);
  return rules.map((rule) => {
    const eq = rule.indexOf('=');
    const hostName = rule.slice(0, Math.max(eq, 0)).toLowerCase();
    const target = rule.slice(eq + 1);
    const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(target) ?? /^([^:]+)(?::(\d+))?$/.exec(target);
    const address = match?.[1];
    const portText = match?.[2];
    const portNumber = portText ? Number(portText) : undefined;
    if (
      eq <= 0 ||
      !isHostSyntax(hostName) ||
      !address ||
      !isHostSyntax(address) ||
      (portNumber !== undefined && !(portNumber >= 1 && portNumber <= 65535))
    )
      throw entry(rules, rule, 'is not host=address[:port] (with a port from 1 to 65535)');
    return { host: hostName, address, port: portNumber };
  });
}

/** CIDRs, addresses and host names for the allow-lists in net/address.ts (checked here, at start). */
function allowList(value: string): string[] {
  const entries = list(value);
  for (const item of entries) {
    if (item.includes('/')) {
      try {
        ipaddr.parseCIDR(item);
      } catch {
        throw entry(entries, item, 'is not a CIDR range');
      }
    } else if (!isHostSyntax(item.replace(/^\*\.|^\./, '').replace(/^\[(.*)\]$/, '$1'))) {
      throw entry(entries, item, 'is not an address, CIDR range or host name');
    }
  }
  return entries;
}

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

export const DEFAULT_DATABASE_URL = 'sqlite:./data/latchkey.db';

/**
 * Builds the Config from an environment (default: `.env` merged under `process.env`).
 * Throws a ConfigError for the first bad variable (SECURITY R9).
 */
export function loadConfig(env: Env = defaultEnv()): Config {
  const listenPort = read(env, 'PORT', '3000', port) ?? 3000;
  const duration = (name: string, fallback: string) =>
    read(env, name, fallback, parseDuration) ?? parseDuration(fallback);
  const timeout = (name: string, fallback: string) =>
    read(env, name, fallback, fetchTimeoutMs) ?? fetchTimeoutMs(fallback);
  return {
    publicUrl:
      read(env, 'LATCHKEY_URL', 'https://login.example/', publicUrl) ?? `http://localhost:${listenPort}/`,
    host: read(env, 'HOST', '127.0.0.1', host) ?? '127.0.0.1',
    port: listenPort,
    databaseUrl: read(env, 'DATABASE_URL', 'sqlite:./data/latchkey.db', databaseUrl) ?? DEFAULT_DATABASE_URL,
    secrets: list(env.LATCHKEY_SECRET),
    connectTo: read(env, 'LATCHKEY_CONNECT_TO', 'alice.example=127.0.0.1:8080', parseConnectTo) ?? [],
    allowPrivateNetwork:
      read(env, 'LATCHKEY_ALLOW_PRIVATE_NETWORK', '10.0.0.0/8,intranet.example', allowList) ?? [],
    trustProxy: read(env, 'LATCHKEY_TRUST_PROXY', '127.0.0.1', allowList) ?? [],
    smtpUrl: read(env, 'SMTP_URL', 'smtp://user:password@mail.example:587', smtpUrl),
    mailFrom: read(env, 'MAIL_FROM', 'login@example.com', mailFrom),
    codeTtl: duration('CODE_TTL', '60s'),
    tokenTtl: duration('TOKEN_TTL', '7d'),
    refreshTokenTtl: duration('REFRESH_TOKEN_TTL', '30d'),
    refreshTokens: read(env, 'REFRESH_TOKENS', 'false', bool) ?? true,
    allowNoPkce: read(env, 'ALLOW_NO_PKCE', 'false', bool) ?? false,
    metricsToken: metricsToken(env.METRICS_TOKEN),
    logLevel: read(env, 'LOG_LEVEL', 'info', logLevel) ?? 'info',
    providers: providersFrom(env),
    fetch: {
      connectTimeoutMs: timeout('FETCH_CONNECT_TIMEOUT', '3s'),
      headersTimeoutMs: timeout('FETCH_HEADERS_TIMEOUT', '5s'),
      totalTimeoutMs: timeout('FETCH_TOTAL_TIMEOUT', '10s'),
    },
  };
}

function defaultEnv(): Env {
  return { ...readDotEnv('.env'), ...process.env };
}

/** A Config for tests: defaults, with overrides. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({}), databaseUrl: 'sqlite::memory:', ...overrides };
}
