/**
 * Hot reads answered from memory on SQLite, safe for SECURITY D4 ("revoked everywhere at once").
 *
 * A cached row is served only while nothing has been written to the database since it was read:
 * - writes by this process go through Kysely, and the plugin below bumps the stamp after every
 *   statement that is not a SELECT (revocations, policy changes, purges, BEGIN/COMMIT/ROLLBACK…);
 * - writes by any other connection (the CLI, a second process on the same file) change
 *   `PRAGMA data_version`, which every lookup reads first (https://sqlite.org/pragma.html#pragma_data_version).
 *
 * better-sqlite3 runs each statement synchronously, so a row and the stamp it is filed under are
 * read with no write in between; the bump comes after the write ran, so a row read before it is
 * never served after it. The price of a hit is one `PRAGMA data_version` (no table is read).
 * PostgreSQL has no such cheap local signal, so its hot reads always go to the database.
 */
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';

/** Enough for every token a busy server sees in a minute; each entry is one small row. */
const DEFAULT_MAX_ENTRIES = 10_000;

interface Entry {
  stamp: number;
  row: unknown;
}

export class SqliteReadCache {
  private stamp = 0;
  private lastDataVersion: number;
  private readonly dataVersion: Statement<[], number>;
  private readonly rows = new Map<string, Entry>();
  private readonly writes = new WeakSet<object>();

  constructor(
    raw: SqliteDatabase,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {
    this.dataVersion = raw.prepare<[], number>('PRAGMA data_version').pluck();
    this.lastDataVersion = this.dataVersion.get() ?? 0;
  }

  /** The stamp now; changes when anything may have been written since the last call. */
  current(): number {
    const version = this.dataVersion.get() ?? 0;
    if (version !== this.lastDataVersion) {
      this.lastDataVersion = version;
      this.stamp++;
    }
    return this.stamp;
  }

  /** The row cached under `key` if it was read at `stamp`. Callers must not change it. */
  get(key: string, stamp: number): unknown {
    const entry = this.rows.get(key);
    return entry !== undefined && entry.stamp === stamp ? entry.row : undefined;
  }

  /** Files a row read at `stamp`. Missing rows are not cached: guessed tokens must not evict real ones. */
  set(key: string, stamp: number, row: unknown): void {
    if (row === undefined) return;
    this.rows.delete(key);
    if (this.rows.size >= this.maxEntries) {
      // Maps iterate in insertion order: the first key is the longest since it was (re)filed.
      const oldest = this.rows.keys().next().value;
      if (oldest !== undefined) this.rows.delete(oldest);
    }
    this.rows.set(key, { stamp, row });
  }

  /** Drops everything; the next read of each row goes to the database. */
  clear(): void {
    this.stamp++;
    this.rows.clear();
  }

  /** The Kysely plugin that bumps the stamp before and after every statement that is not a SELECT. */
  readonly plugin: KyselyPlugin = {
    transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => {
      if (args.node.kind !== 'SelectQueryNode') {
        this.writes.add(args.queryId);
        this.stamp++;
      }
      return args.node;
    },
    transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
      // After the statement ran: a row read while it was queued is not served from now on.
      if (this.writes.delete(args.queryId)) this.stamp++;
      return args.result;
    },
  };
}
