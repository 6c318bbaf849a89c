/**
 * The deployment files in deploy/ are tested as they ship, not as hand-written copies:
 * - the systemd unit passes `systemd-analyze verify` without a single warning and keeps its sandbox
 *   (`systemd-analyze security --offline`);
 * - every value in the env example is one the config accepts;
 * - Debian's nginx runs deploy/nginx.conf (only the host name, certificate, ports and webroot
 *   substituted) with TLS in front of a real Latchkey configured from the env example, and a person
 *   signs in by email through it, the app redeems the code and a resource server verifies the token
 *   with `Authorization: Bearer` — all over https through the proxy;
 * - Caddy accepts deploy/Caddyfile as it is.
 * Under CI=true a missing tool is a failure; locally the test that needs it is skipped, saying why.
 *
 * The TLS certificate is the test one in test/fixtures/tls (its CA key is destroyed, so no new
 * certificate can be made from it): it covers `*.mastodon.test`, hence the issuer's host name.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch, type Response } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { openStore } from '../../src/store/db.js';
import { clientApp, type FixtureWeb, homepage, startFixtureWeb } from '../fixtures/sites.js';
import { decodeEntities as decode } from '../helpers/html-text.js';
import { freePort } from '../helpers/server.js';
import { type SmtpFixture, startSmtp } from '../helpers/smtp.js';
import { TEST_CA_PATH } from '../helpers/test-ca.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const TLS = join(ROOT, 'test', 'fixtures', 'tls');
const CI = process.env.CI === 'true';

/** The first of `paths` that is an executable file. */
function findTool(...paths: string[]): string | undefined {
  return paths.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs a program; resolves with its exit code and output, never rejects on a non-zero exit. */
function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Replaces `from` by `to`, insisting on exactly `times` occurrences, so the example cannot drift. */
function substitute(text: string, from: string, to: string, times: number): string {
  const found = text.split(from).length - 1;
  if (found !== times)
    throw new Error(
      `deploy/ changed: expected ${times} × ${JSON.stringify(from)}, found ${found}; update the substitution in this test`,
    );
  return text.split(from).join(to);
}

/** A tool the test needs: under CI its absence fails the test, locally it skips with a reason. */
function needs(tool: string | undefined, name: string): { skip: boolean; title: string } {
  if (!tool && !CI) console.warn(`deploy.test.ts: ${name} is not installed; its test is skipped.`);
  return { skip: !tool && !CI, title: tool ? '' : ` (needs ${name})` };
}

/** Reads `KEY=value` lines; `commented` also yields `#KEY=value` lines that have a value. */
function envLines(text: string, commented: boolean): Array<[string, string]> {
  const pattern = commented ? /^#([A-Z][A-Z0-9_]*)=(.+)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/;
  return text.split('\n').flatMap((line) => {
    const match = pattern.exec(line.trim());
    // Both systemd and a shell drop the double quotes around a value.
    const value = match?.[2]?.replace(/^"(.*)"$/, '$1');
    return match?.[1] && value !== undefined ? [[match[1], value] as [string, string]] : [];
  });
}

const ENV_EXAMPLE = readFileSync(join(DEPLOY, 'latchkey.env.example'), 'utf8');

/** The node flags in bin/latchkey's `#!/usr/bin/env -S node …` line. */
const SHEBANG_FLAGS =
  /^#!\/usr\/bin\/env -S node (.+)$/m.exec(readFileSync(join(ROOT, 'bin', 'latchkey'), 'utf8'))?.[1] ?? '';

describe('deploy/latchkey.service and the backup timer', () => {
  const analyze = findTool('/usr/bin/systemd-analyze', '/bin/systemd-analyze');
  const need = needs(analyze, 'systemd-analyze');
  const unit = readFileSync(join(DEPLOY, 'latchkey.service'), 'utf8');
  const backupUnit = readFileSync(join(DEPLOY, 'latchkey-backup.service'), 'utf8');
  const UNITS = ['latchkey.service', 'latchkey-backup.service', 'latchkey-backup.timer'];
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-unit-'));
    // The units name /opt/latchkey and /usr/bin/node; here they are this checkout and this node,
    // so `verify` checks commands that really exist.
    const here = (text: string, flags = '') =>
      substitute(
        text,
        `/usr/bin/node ${flags}/opt/latchkey/bin/latchkey `,
        `${process.execPath} ${flags}${join(ROOT, 'bin', 'latchkey')} `,
        1,
      );
    writeFileSync(join(dir, 'latchkey.service'), here(unit, `${SHEBANG_FLAGS} `));
    writeFileSync(join(dir, 'latchkey-backup.service'), here(backupUnit));
    writeFileSync(join(dir, 'latchkey-backup.timer'), readFileSync(join(DEPLOY, 'latchkey-backup.timer')));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(need.skip)(`pass systemd-analyze verify without any warning${need.title}`, async () => {
    if (!analyze) throw new Error('CI=true: systemd-analyze must be installed (Debian: systemd)');
    const result = await run(analyze, ['verify', ...UNITS.map((name) => join(dir, name))]);
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.code).toBe(0);
  });

  it.skipIf(need.skip)(
    `keep their sandbox: exposure at most 2.0 (systemd-analyze security)${need.title}`,
    async () => {
      if (!analyze) throw new Error('CI=true: systemd-analyze must be installed (Debian: systemd)');
      for (const name of ['latchkey.service', 'latchkey-backup.service']) {
        // --threshold counts tenths: fail above 2.0, so hardening cannot be dropped unnoticed.
        const result = await run(analyze, [
          'security',
          '--offline=yes',
          '--threshold=20',
          '--no-pager',
          join(dir, name),
        ]);
        expect(result.stdout).toMatch(
          new RegExp(`Overall exposure level for ${name}: [0-2]\\.\\d (OK|SAFE)`),
        );
        expect(result.code, result.stdout).toBe(0);
      }
    },
  );

  it('has the settings the deployment relies on', () => {
    const settings = new Map<string, string[]>();
    for (const line of unit.split('\n')) {
      const match = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (match?.[1]) settings.set(match[1], [...(settings.get(match[1]) ?? []), match[2] ?? '']);
    }
    const one = (key: string) => settings.get(key)?.at(-1);
    // The server runs with the node flags bin/latchkey runs with (see its first lines).
    expect(one('ExecStart')).toBe(`/usr/bin/node ${SHEBANG_FLAGS} /opt/latchkey/bin/latchkey serve`);
    expect(SHEBANG_FLAGS).toContain('--no-memory-reducer');
    expect(one('StateDirectory')).toBe('latchkey');
    expect(one('EnvironmentFile')).toBe('/etc/latchkey/latchkey.env');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(one('Restart')).toBe('on-failure');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(one('RestartPreventExitStatus')).toBe('2'); // configuration errors (SECURITY R9)
    // V8 compiles to writable+executable memory: this setting would kill Node at start.
    expect(settings.has('MemoryDenyWriteExecute')).toBe(false);
    // Above the 10 s drain plus the process's own 5 s backstop (server.ts, cli.ts serve).
    const stop = /^(\d+)s$/.exec(one('TimeoutStopSec') ?? '');
    expect(Number(stop?.[1])).toBeGreaterThan(15);
    // The env example's SQLite path is inside the state directory, the only writable place.
    expect(new Map(envLines(ENV_EXAMPLE, false)).get('DATABASE_URL')).toBe(
      'sqlite:/var/lib/latchkey/latchkey.db',
    );
  });

  it("the backup unit's command, as systemd expands it, writes the day's backup", async () => {
    const command = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(backupUnit)?.[1];
    expect(command).toBeDefined();
    const state = join(dir, 'state');
    mkdirSync(join(state, 'backups'), { recursive: true });
    const store = openStore(`sqlite:${join(state, 'latchkey.db')}`);
    await store.migrate();
    await store.close();
    // systemd turns %% into % and $$ into $; the CLI runs from source here (no build needed).
    const expanded = (command as string).replace(/%%/g, '%').replace(/\$\$/g, '$');
    const script = substitute(
      substitute(expanded, '/var/lib/latchkey', state, 1),
      '/usr/bin/node /opt/latchkey/bin/latchkey ',
      `${process.execPath} --import tsx ${join(ROOT, 'src', 'cli.ts')} `,
      1,
    );
    const env = { ...process.env, DATABASE_URL: `sqlite:${join(state, 'latchkey.db')}`, LOG_LEVEL: 'silent' };
    // Twice: the second run of a day replaces that day's file (--force) instead of failing.
    for (let round = 0; round < 2; round++) {
      const result = await run('/bin/sh', ['-c', script], env);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/Backed up to \S*\/backups\/latchkey-[1-7]\.db \(\d+ bytes/);
    }
    expect(
      readdirSync(join(state, 'backups')).filter((name) => /^latchkey-[1-7]\.db$/.test(name)),
    ).toHaveLength(readdirSync(join(state, 'backups')).length);
  }, 60_000);
});

describe('deploy/latchkey.env.example', () => {
  it('every value in it, set or commented out, is one the config accepts', () => {
    const active = Object.fromEntries(envLines(ENV_EXAMPLE, false));
    const config = loadConfig(active);
    expect(config.publicUrl).toBe('https://login.example.com/');
    expect(config.host).toBe('127.0.0.1');
    expect(config.trustProxy).toEqual(['127.0.0.1']);
    const alternatives = envLines(ENV_EXAMPLE, true);
    expect(alternatives.length).toBeGreaterThan(3);
    for (const [key, value] of alternatives) {
      expect(() => loadConfig({ ...active, [key]: value }), `${key}=${value}`).not.toThrow();
    }
  });

  it('reads the same in a shell (`set -a; . latchkey.env`), every line uncommented', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-env-'));
    try {
      const file = join(dir, 'latchkey.env');
      writeFileSync(file, ENV_EXAMPLE.replace(/^#([A-Z][A-Z0-9_]*=.+)$/gm, '$1'));
      // A key set twice (DATABASE_URL) ends with its last value, as in the shell.
      const expected = [...new Map([...envLines(ENV_EXAMPLE, false), ...envLines(ENV_EXAMPLE, true)])];
      const show = expected.map(([key]) => `printf '%s=%s\\n' ${key} "$${key}"`).join('; ');
      const result = await run('/bin/sh', ['-c', `set -a; . "$1"; ${show}`, 'sh', file], {});
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(expected.map(([key, value]) => `${key}=${value}\n`).join(''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/Caddyfile', () => {
  const caddy = findTool('/usr/bin/caddy', '/usr/local/bin/caddy');
  const need = needs(caddy, 'caddy');

  it.skipIf(need.skip)(`is a valid, formatted Caddy configuration${need.title}`, async () => {
    if (!caddy) throw new Error('CI=true: caddy must be installed (Debian: caddy)');
    const home = mkdtempSync(join(tmpdir(), 'latchkey-caddy-'));
    try {
      // Validation provisions the TLS automation offline; its storage goes to a throwaway home.
      const env = { ...process.env, HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home };
      const file = join(DEPLOY, 'Caddyfile');
      const result = await run(caddy, ['validate', '--adapter', 'caddyfile', '--config', file], env);
      expect(result.stdout + result.stderr).toContain('Valid configuration');
      expect(result.code).toBe(0);
      expect(result.stderr).not.toMatch(/"level":"(warn|error)"/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// nginx in front of Latchkey.

const NAME = 'login.mastodon.test';
const CLIENT_ID = 'http://app.test/';
const REDIRECT_URI = 'http://app.test/callback';
const ME = 'http://dave.test/';
const ADDRESS = 'dave@dave.test';
/** Where the test's requests come from, and what they claim to come from. */
const CLIENT_ADDRESS = '127.0.0.2';
const SPOOFED = '203.0.113.9';

const nginxBinary = findTool('/usr/sbin/nginx', '/usr/bin/nginx');
const nginxNeed = needs(nginxBinary, 'nginx');

describe.skipIf(nginxNeed.skip)(`deploy/nginx.conf in front of Latchkey${nginxNeed.title}`, () => {
  let dir: string;
  let web: FixtureWeb;
  let smtp: SmtpFixture;
  let server: RunningServer;
  let nginx: ChildProcess | undefined;
  let nginxLog = '';
  let agent: Agent;
  let httpsOrigin: string;
  let httpOrigin: string;
  const setCookies: string[] = [];
  const cookies = new Map<string, string>();

  /** A browser over the network: made-up host name → 127.0.0.1, from CLIENT_ADDRESS, trusting the test CA. */
  async function request(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ) {
    const response: Response = await fetch(url, {
      ...init,
      redirect: 'manual',
      dispatcher: agent,
      headers: {
        'x-forwarded-for': SPOOFED,
        ...(cookies.size ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...init.headers,
      },
    });
    for (const header of response.headers.getSetCookie()) {
      setCookies.push(header);
      const [pair] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 0) continue;
      if (/Max-Age=0/i.test(header)) cookies.delete(pair.slice(0, eq));
      else cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    const body = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      location: response.headers.get('location') ?? undefined,
      body,
      step(action: string) {
        const at = body.indexOf(`action="${action}"`);
        if (at < 0) throw new Error(`no form posting to ${action} on the page:\n${body.slice(0, 2000)}`);
        const match = /name="step" value="([^"]+)"/.exec(body.slice(at));
        if (!match?.[1]) throw new Error(`no step token in the form posting to ${action}`);
        return decode(match[1]);
      },
    };
  }

  const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    request(new URL(path, httpsOrigin).href, {
      method: 'POST',
      headers: {
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
        origin: httpsOrigin,
        ...headers,
      },
      body: new URLSearchParams(fields).toString(),
    });

  beforeAll(async () => {
    if (!nginxBinary) throw new Error('CI=true: nginx must be installed (Debian: nginx)');
    dir = mkdtempSync(join(tmpdir(), 'latchkey-nginx-'));
    // nginx's workers run as an unprivileged user when the test runs as root: let them in.
    chmodSync(dir, 0o755);
    const [httpPort, httpsPort, latchkeyPort] = [await freePort(), await freePort(), await freePort()];
    httpsOrigin = `https://${NAME}:${httpsPort}`;
    httpOrigin = `http://${NAME}:${httpPort}`;

    web = await startFixtureWeb();
    smtp = await startSmtp();
    web.page(CLIENT_ID, clientApp('Deploy App', CLIENT_ID, [REDIRECT_URI]));
    web.page(ME, homepage('Dave', `<link rel="me" href="mailto:${ADDRESS}">`));

    // Latchkey configured as the env example says, with only the test's addresses on top.
    const env = {
      ...Object.fromEntries(envLines(ENV_EXAMPLE, false)),
      LATCHKEY_URL: `${httpsOrigin}/`,
      PORT: String(latchkeyPort),
      DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`,
      SMTP_URL: smtp.url,
      LATCHKEY_CONNECT_TO: web.connectTo.map((r) => `${r.host}=${r.address}:${r.port}`).join(','),
      LOG_LEVEL: 'silent',
    };
    const config = loadConfig(env);
    expect(config.trustProxy).toEqual(['127.0.0.1']);
    server = await startServer(config, { logger: silentLogger() });

    // deploy/nginx.conf with the host name, certificate, ports, upstream and webroot of this test.
    let site = readFileSync(join(DEPLOY, 'nginx.conf'), 'utf8');
    site = substitute(
      site,
      '/etc/letsencrypt/live/login.example.com/fullchain.pem',
      join(TLS, 'server.pem'),
      1,
    );
    site = substitute(
      site,
      '/etc/letsencrypt/live/login.example.com/privkey.pem',
      join(TLS, 'server-key.pem'),
      1,
    );
    site = substitute(site, 'server_name login.example.com;', `server_name ${NAME};`, 2);
    site = substitute(site, '    listen [::]:80;\n', '', 1); // loopback IPv4 only here
    site = substitute(site, '    listen [::]:443 ssl http2;\n', '', 1);
    site = substitute(site, 'listen 80;', `listen 127.0.0.1:${httpPort};`, 1);
    site = substitute(site, 'listen 443 ssl http2;', `listen 127.0.0.1:${httpsPort} ssl http2;`, 1);
    site = substitute(site, 'server 127.0.0.1:3000;', `server 127.0.0.1:${latchkeyPort};`, 1);
    site = substitute(site, 'root /var/www/html;', `root ${join(dir, 'webroot')};`, 1);
    expect(site.replace(/^\s*#.*$/gm, '')).not.toContain('login.example.com');
    writeFileSync(join(dir, 'latchkey.conf'), site);
    mkdirSync(join(dir, 'webroot', '.well-known', 'acme-challenge'), { recursive: true });
    writeFileSync(join(dir, 'webroot', '.well-known', 'acme-challenge', 'probe'), 'acme-probe\n');
    // The rest is what Debian's /etc/nginx/nginx.conf provides, kept inside the test's directory.
    const temp = (name: string) => `${name}_temp_path ${join(dir, `${name}-temp`)};`;
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        'worker_processes 1;',
        'events { worker_connections 128; }',
        'http {',
        `  access_log ${join(dir, 'access.log')};`,
        `  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}`,
        `  include ${join(dir, 'latchkey.conf')};`,
        '}',
        '',
      ].join('\n'),
    );
    const errorLog = join(dir, 'error.log');
    nginx = spawn(
      nginxBinary,
      [
        '-p',
        dir,
        '-e',
        errorLog,
        '-c',
        join(dir, 'nginx.conf'),
        '-g',
        `daemon off; pid ${join(dir, 'nginx.pid')}; error_log ${errorLog} warn;`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    nginx.stdout?.on('data', (chunk: Buffer) => {
      nginxLog += chunk.toString();
    });
    nginx.stderr?.on('data', (chunk: Buffer) => {
      nginxLog += chunk.toString();
    });
    const exited = new Promise<never>((_, reject) =>
      nginx?.once('exit', (code) => {
        let log = nginxLog;
        try {
          log += readFileSync(errorLog, 'utf8');
        } catch {}
        reject(new Error(`nginx exited (${code}):\n${log}`));
      }),
    );
    exited.catch(() => {});

    agent = new Agent({
      localAddress: CLIENT_ADDRESS,
      connect: {
        ca: readFileSync(TEST_CA_PATH),
        // Every host name this browser visits is this machine (like curl --resolve).
        lookup: (_host, options, callback) => {
          if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
          else (callback as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4);
        },
      },
    });
    // Ready once /health answers through the proxy; no fixed wait, only a generous deadline.
    const ready = (async () => {
      for (let attempt = 0; attempt < 600; attempt++) {
        const answer = await fetch(`${httpsOrigin}/health`, { dispatcher: agent }).catch(() => undefined);
        if (answer?.status === 200) return;
        await answer?.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`nginx did not answer on ${httpsOrigin}:\n${nginxLog}`);
    })();
    await Promise.race([ready, exited]);
  }, 90_000);

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const gone = new Promise((resolve) => nginx?.once('exit', resolve));
      nginx.kill('SIGTERM');
      await gone;
    }
    await agent?.close();
    await server?.close();
    await smtp?.close();
    await web?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers /health over https with the certificate and HSTS', async () => {
    const health = await request(`${httpsOrigin}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    expect(health.headers.get('strict-transport-security')).toBe('max-age=63072000');
    expect(health.headers.get('server')).toBe('nginx');
  });

  it('redirects plain http to https, except certbot challenge files', async () => {
    const moved = await request(`${httpOrigin}/authorize?client_id=x&y=%20z`);
    expect(moved.status).toBe(301);
    // The shipped configuration serves https on 443, so the redirect names no port.
    expect(moved.location).toBe(`https://${NAME}/authorize?client_id=x&y=%20z`);
    const challenge = await request(`${httpOrigin}/.well-known/acme-challenge/probe`);
    expect(challenge.status).toBe(200);
    expect(challenge.body).toBe('acme-probe\n');
  });

  it('publishes https endpoints and serves its pages on the issuer host without a redirect loop', async () => {
    const metadata = await request(`${httpsOrigin}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
    const document = JSON.parse(metadata.body) as Record<string, unknown>;
    expect(document.issuer).toBe(`${httpsOrigin}/`);
    expect(document.token_endpoint).toBe(`${httpsOrigin}/token`);
    const home = await request(`${httpsOrigin}/`, { headers: { accept: 'text/html' } });
    expect(home.status).toBe(200);
  });

  it('walks an email sign-in, the code redemption and a token verification through nginx', async () => {
    const verifier = createHash('sha256').update(String(Math.random())).digest('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = 'deploy-state-1';
    const authorize = new URL('/authorize', httpsOrigin);
    for (const [key, value] of Object.entries({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: REDIRECT_URI,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      scope: 'profile create',
    }))
      authorize.searchParams.set(key, value);

    const form = await request(authorize.href, { headers: { accept: 'text/html' } });
    expect(form.status).toBe(200);
    const method = await post('/signin/site', { step: form.step('/signin/site'), me: ME });
    expect(method.status).toBe(200);
    const sent = await post('/signin/step/email.send', { step: method.step('/signin/step/email.send') });
    expect(sent.status).toBe(200);
    const code = smtp.codeIn(await smtp.nextMessage(ADDRESS, 30_000));
    const consent = await post('/signin/step/email.verify', {
      step: sent.step('/signin/step/email.verify'),
      code,
    });
    expect(consent.status).toBe(200);
    const done = await post('/signin/consent', {
      step: consent.step('/signin/consent'),
      decision: 'approve',
      'scope.profile': 'on',
      'scope.create': 'on',
    });
    expect(done.status).toBe(303);
    const callback = new URL(done.location as string);
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('state')).toBe(state);
    // Latchkey knows it is reached over https on the proxy's host and port.
    expect(callback.searchParams.get('iss')).toBe(`${httpsOrigin}/`);

    // The session cookie is the https one: __Host-, Secure.
    expect(setCookies.length).toBeGreaterThan(0);
    for (const header of setCookies) expect(header).toMatch(/;\s*Secure(;|$)/);
    expect(setCookies.some((header) => header.startsWith('__Host-latchkey='))).toBe(true);

    // The app redeems the code at the token endpoint, through the proxy.
    const redeemed = await request(`${httpsOrigin}/token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') as string,
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }).toString(),
    });
    expect(redeemed.status).toBe(200);
    const tokens = JSON.parse(redeemed.body) as { access_token: string; me: string; scope: string };
    expect(tokens.me).toBe(ME);
    expect(tokens.scope).toBe('profile create');

    // A resource server verifies it: the Authorization header reaches Latchkey through nginx.
    const verified = await request(`${httpsOrigin}/token`, {
      headers: { accept: 'application/json', authorization: `Bearer ${tokens.access_token}` },
    });
    expect(verified.status).toBe(200);
    expect(JSON.parse(verified.body)).toEqual({ me: ME, client_id: CLIENT_ID, scope: 'profile create' });
    const missing = await request(`${httpsOrigin}/token`, { headers: { accept: 'application/json' } });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await request(`${httpsOrigin}/token`, {
      headers: { accept: 'application/json', authorization: `Bearer ${tokens.access_token}x` },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('counts rate limits against the visitor nginx saw, not nginx and not what the visitor claimed', async () => {
    const keys = (await server.services.store.db.selectFrom('rate_limits').select('key').execute()).map(
      (row) => row.key,
    );
    expect(keys).toContain(`signin-ip:${CLIENT_ADDRESS}`);
    expect(keys).toContain(`email-ip:${CLIENT_ADDRESS}`);
    expect(keys.filter((key) => key.endsWith(':127.0.0.1') || key.includes(SPOOFED))).toEqual([]);
  });
});
