/**
 * The shipped build, not the sources: `npm start` runs the esbuild bundle, whose lazily loaded
 * modules are chunks or `require`d packages. A module that works from src can still break there
 * (an `import()` of a CommonJS package has only a `default` in a chunk), so this builds the bundle
 * into test/artifacts/dist and starts it for real, through a copy of bin/latchkey beside it, run as
 * a program the way `npm start` and `latchkey serve` run it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build as esbuild, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script, without types
import { synchronousJsxContext } from '../scripts/synchronous-jsx.mjs';
import { freePort } from './helpers/server.js';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'test', 'artifacts', 'dist');
/** bin/latchkey imports ../dist/latchkey.js: beside OUT, it runs this build. */
const BIN = join(ROOT, 'test', 'artifacts', 'bin', 'latchkey');

describe('the shipped build (npm run build)', () => {
  const data = mkdtempSync(join(tmpdir(), 'latchkey-build-'));
  let url = '';
  let stop: () => Promise<void> = async () => {};
  let pid = 0;

  beforeAll(async () => {
    rmSync(OUT, { recursive: true, force: true });
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), OUT], { cwd: ROOT });
    mkdirSync(join(BIN, '..'), { recursive: true });
    copyFileSync(join(ROOT, 'bin', 'latchkey'), BIN); // keeps its mode: executable
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const child = spawn(BIN, ['serve'], {
      cwd: data,
      stdio: 'ignore',
      env: {
        // `env` in its first line finds node on PATH: this node.
        PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
        DATABASE_URL: `sqlite:${join(data, 'latchkey.db')}`,
        LATCHKEY_URL: `${url}/`,
        PORT: String(port),
        LOG_LEVEL: 'warn',
      },
    });
    pid = child.pid ?? 0;
    stop = () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the built server exited with ${child.exitCode}`);
      const ok = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 120_000);

  afterAll(async () => {
    await stop();
    rmSync(data, { recursive: true, force: true });
  });

  it('serves /health, /metrics (prom-client loaded on the first scrape) and the favicon', async () => {
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: 'ok' });
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/latchkey_http_requests_total\{[^}]*route="\/health"/);
    expect((await fetch(`${url}/favicon.svg`)).headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  });

  it('runs node with the flags in bin/latchkey (its first line: env -S)', () => {
    // `env -S` replaces itself with node, so the server's process is node with the flags.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv[0]).toMatch(/node$/);
    expect(argv.slice(1, 3)).toEqual(['--no-memory-reducer', BIN]);
  });

  it('renders pages as Hono does, without switching async_hooks on (scripts/synchronous-jsx.mjs)', async () => {
    // A real page (the layout has <head> and the <svg> logo, both rendered through Hono's context),
    // bundled with and without the plugin; then whether a promise made after rendering is tracked.
    const entry = [
      `import { ErrorPage } from ${JSON.stringify(join(ROOT, 'src', 'views', 'pages', 'error.js'))};`,
      "const html = ErrorPage({ title: 'Gone', message: 'It <went>.', next: 'Try again.' }).toString();",
      'const tracked = Object.getOwnPropertySymbols(Promise.resolve().then(() => {})).length > 0;',
      'console.log(JSON.stringify({ html, tracked }));',
    ].join('\n');
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-jsx-'));
    const run = async (plugins: Plugin[]) => {
      const outfile = join(dir, `page-${plugins.length}.mjs`);
      await esbuild({
        stdin: { contents: entry, loader: 'ts', resolveDir: ROOT },
        outfile,
        bundle: true,
        format: 'esm',
        platform: 'node',
        tsconfig: join(ROOT, 'tsconfig.build.json'),
        plugins,
        logLevel: 'silent',
      });
      return JSON.parse(execFileSync(process.execPath, [outfile], { encoding: 'utf8' })) as {
        html: string;
        tracked: boolean;
      };
    };
    const withHooks = await run([]);
    const withoutHooks = await run([synchronousJsxContext]);
    rmSync(dir, { recursive: true, force: true });
    expect(withHooks.tracked).toBe(true);
    expect(withoutHooks.tracked).toBe(false);
    expect(withoutHooks.html).toBe(withHooks.html);
    expect(withoutHooks.html).toContain('<svg');
    expect(withoutHooks.html).toContain('It &lt;went&gt;.');
  });

  it('its lazily loaded chunks have the exports the code calls', async () => {
    const chunks = readdirSync(join(OUT, 'chunks')).filter((name) => name.endsWith('.js'));
    const load = async (test: (m: Record<string, unknown>) => boolean) => {
      for (const name of chunks) {
        const m = (await import(pathToFileURL(join(OUT, 'chunks', name)).href)) as Record<string, unknown>;
        if (test(m)) return true;
      }
      return false;
    };
    const fn = (v: unknown) => typeof v === 'function';
    // src/signin/methods/pgp: `openpgp.readKeys`, `readCleartextMessage`, `verify`.
    expect(await load((m) => fn(m.readKeys) && fn(m.readCleartextMessage) && fn(m.verify))).toBe(true);
    // src/mail/mailer.ts: `nodemailer.default.createTransport`.
    expect(await load((m) => fn((m.default as Record<string, unknown> | undefined)?.createTransport))).toBe(
      true,
    );
    // src/account/passkeys.ts: the four @simplewebauthn/server calls.
    expect(await load((m) => fn(m.generateRegistrationOptions) && fn(m.verifyAuthenticationResponse))).toBe(
      true,
    );
  });
});
