import { describe, expect, it, vi } from 'vitest';

// Wrap the real comparison so the test can see who calls it.
vi.mock('../../src/tokens/secrets.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/tokens/secrets.js')>();
  return {
    ...actual,
    constantTimeEqual: vi.fn(actual.constantTimeEqual),
    matchesDigest: vi.fn(actual.matchesDigest),
  };
});

const secrets = await import('../../src/tokens/secrets.js');
const { ResourceServerService } = await import('../../src/tokens/resource-servers.js');
const { openStore } = await import('../../src/store/db.js');

describe('secrets', () => {
  it('random tokens carry 256 bits and never repeat', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => secrets.randomToken()));
    expect(seen.size).toBe(1000);
    for (const t of seen) expect(Buffer.from(t, 'base64url')).toHaveLength(32);
  });

  it('sha256 is hex and stable', () => {
    expect(secrets.sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('D8: secret comparisons are constant-time and compare whole values', async () => {
    const { constantTimeEqual } = await vi.importActual<typeof import('../../src/tokens/secrets.js')>(
      '../../src/tokens/secrets.js',
    );
    expect(constantTimeEqual('same', 'same')).toBe(true);
    expect(constantTimeEqual('same', 'Same')).toBe(false);
    expect(constantTimeEqual('short', 'shorter')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);

    // Stored digests are compared as 32 bytes in constant time; anything not a SHA-256 hex matches nothing.
    const digest = secrets.sha256('a secret');
    expect(secrets.matchesDigest('a secret', secrets.digestBytes(digest))).toBe(true);
    expect(secrets.matchesDigest('a secreT', secrets.digestBytes(digest))).toBe(false);
    expect(secrets.digestBytes(digest.toUpperCase())).toBeUndefined();
    expect(secrets.digestBytes(digest.slice(0, 62))).toBeUndefined();
    expect(secrets.matchesDigest('', secrets.digestBytes(''))).toBe(false);

    // Resource-server credentials are checked through the constant-time comparison, not `===`.
    const store = openStore('sqlite::memory:');
    await store.migrate();
    const service = new ResourceServerService(store);
    const { secret } = await service.create('rs');
    vi.mocked(secrets.matchesDigest).mockClear();
    expect(await service.authenticate(secret)).toMatchObject({ name: 'rs' });
    expect(await service.authenticate(`${secret.split('.')[0]}.guess`)).toBeUndefined();
    expect(vi.mocked(secrets.matchesDigest)).toHaveBeenCalledTimes(2);
    await store.close();
  });
});
