/**
 * The Mastodon case of bench/providers.ts speaks https to a stand-in whose certificate comes from the
 * test CA (test/fixtures/tls/), and Latchkey — in the bench process — must trust it the way an
 * operator trusts a private CA: through `NODE_EXTRA_CA_CERTS`. Node reads that variable only when a
 * process starts, so setting it from inside is too late. Instead, the bench re-executes itself once:
 * test/helpers/test-ca.ts `trustTestCa()` (the same logic vitest.config.ts uses) names the bundle to
 * trust — the test CA alone, or the machine's current NODE_EXTRA_CA_CERTS file plus the test CA,
 * written once to the temporary directory — and when this process was not started with exactly that
 * bundle, the same Node, loader flags (tsx) and script run again as a child with it set; this
 * process only waits for the child and exits with its code. The child sees the bundle already set
 * and carries on, so there is never a second re-execution.
 */
import { spawn } from 'node:child_process';
import { trustTestCa } from '../test/helpers/test-ca.js';

/** Returns when this process trusts the test CA; otherwise runs the script again and never returns. */
export async function reexecTrustingTestCa(): Promise<void> {
  const env = { ...process.env };
  const bundle = trustTestCa(env);
  if (process.env.NODE_EXTRA_CA_CERTS === bundle) return;
  if (process.env.LATCHKEY_BENCH_REEXEC === '1') {
    throw new Error(`NODE_EXTRA_CA_CERTS is ${process.env.NODE_EXTRA_CA_CERTS}, expected ${bundle}`);
  }
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...env, LATCHKEY_BENCH_REEXEC: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) =>
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))),
  );
  process.exit(code);
}
