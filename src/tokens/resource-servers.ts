/**
 * Credentials for resource servers calling `/introspect` (RFC 7662 §2.1). A secret looks like
 * `<id>.<random>`: the id finds the row, and the hash of the whole secret is compared in constant
 * time (SECURITY D8), so response timing says nothing about how much of a guess was right.
 */
import { after, type MaybePromise } from '../maybe-promise.js';
import type { Store } from '../store/db.js';
import {
  deleteResourceServer,
  findResourceServerCredential,
  insertResourceServer,
  listResourceServers,
  type ResourceServer,
  touchResourceServer,
} from '../store/resource-servers.js';
import { LastUsedLedger } from './last-used.js';
import { matchesDigest, randomId, randomToken, sha256 } from './secrets.js';

export class ResourceServerService {
  private readonly lastUsed = new LastUsedLedger();
  private readonly touch = (id: string, at: number) => touchResourceServer(this.store.db, id, at);

  constructor(
    private readonly store: Store,
    private readonly clock: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** Registers a resource server and returns its secret: shown once, stored only hashed. */
  async create(name: string): Promise<{ name: string; secret: string }> {
    const clean = name.trim();
    if (!/^[\w .@:/-]{1,100}$/.test(clean)) {
      throw new Error('A resource server name is 1–100 letters, digits, spaces or . _ - @ : /');
    }
    const id = randomId();
    const secret = `${id}.${randomToken()}`;
    try {
      await insertResourceServer(this.store.db, { id, name: clean, secretHash: sha256(secret) });
    } catch (error) {
      if (/unique|duplicate/i.test(String(error)))
        throw new Error(`A resource server named "${clean}" exists already.`);
      throw error;
    }
    return { name: clean, secret };
  }

  /**
   * The resource server a secret belongs to, or undefined. Synchronous on SQLite when the row is
   * cached and `last_used_at` is not due, like token verification; its `lastUsedAt` may be stale
   * (tokens/last-used.ts).
   */
  authenticate(secret: string | undefined): MaybePromise<Readonly<ResourceServer> | undefined> {
    if (!secret) return undefined;
    const dot = secret.indexOf('.');
    if (dot <= 0 || secret.length > 200) return undefined;
    return after(findResourceServerCredential(this.store, secret.slice(0, dot)), (found) => {
      if (!found || !matchesDigest(secret, found.secretDigest)) return undefined;
      const { server } = found;
      const at = this.clock();
      return this.lastUsed.touchIfDue(server.id, server.lastUsedAt, at, server, this.touch);
    });
  }

  list(): Promise<ResourceServer[]> {
    return listResourceServers(this.store.db);
  }

  remove(name: string): Promise<boolean> {
    return deleteResourceServer(this.store.db, name);
  }
}
