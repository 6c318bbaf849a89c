/**
 * Trust in the test CA (test/fixtures/tls/) for every process the test runner starts. The stand-in
 * `https` providers (PROTOCOL §9.1: Mastodon is reached only over https) present a certificate from
 * that CA, and Latchkey trusts it as an operator would trust a private CA: through Node's
 * `NODE_EXTRA_CA_CERTS`, read once when a process starts — so this runs in vitest.config.ts, before
 * the worker forks inherit the environment. Nothing in src/ knows about the test CA.
 *
 * `NODE_EXTRA_CA_CERTS` names one file. When the machine already sets it (e.g. to the system bundle
 * behind a TLS-inspecting proxy), that file and the test CA are written together to one bundle in
 * the temporary directory, named by its content hash, so parallel runs share it without races.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEST_CA_PATH = fileURLToPath(new URL('../fixtures/tls/ca.pem', import.meta.url));
const BUNDLE_PREFIX = 'latchkey-test-ca-';

export function trustTestCa(env: NodeJS.ProcessEnv = process.env): string {
  const current = env.NODE_EXTRA_CA_CERTS;
  if (current === TEST_CA_PATH || current?.includes(BUNDLE_PREFIX)) return current;
  let existing = '';
  try {
    existing = current ? readFileSync(current, 'utf8') : '';
  } catch {
    // Unreadable: Node would ignore it with a warning; the test CA alone is then enough.
  }
  if (existing === '') {
    env.NODE_EXTRA_CA_CERTS = TEST_CA_PATH;
    return TEST_CA_PATH;
  }
  const bundle = `${existing.trimEnd()}\n${readFileSync(TEST_CA_PATH, 'utf8')}`;
  const hash = createHash('sha256').update(bundle).digest('hex').slice(0, 16);
  const file = join(tmpdir(), `${BUNDLE_PREFIX}${hash}.pem`);
  if (!existsSync(file)) {
    const partial = `${file}.${process.pid}`;
    writeFileSync(partial, bundle);
    renameSync(partial, file);
  }
  env.NODE_EXTRA_CA_CERTS = file;
  return file;
}
