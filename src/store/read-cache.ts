/**
 * Hot reads answered from memory on SQLite, safe for SECURITY D4 ("revoked everywhere at once").
 *
 * A cached row is served only while nothing it could depend on has been written since it was read:
 * - writes by this process go through Kysely, and the plugin below bumps the stamp before and after
 *   every statement that may change a table a cached query reads (each cached query names its
 *   tables; one that does not makes every write count). Raw SQL counts, except BEGIN and COMMIT;
 *   ROLLBACK counts. So a sign-in's writes (sessions, attempts, rate limits) leave cached tokens be,
 *   and so does a `last_used_at` touch, which the cached queries declare `untracked`;
 * - writes by any other connection (the CLI, a second process on the same file), to any table, are
 *   looked for once per turn of the event loop that does a cached lookup, before its first lookup
 *   (see `OtherWrites` below for how).
 *
 * Why once per turn is enough: a turn (one I/O callback and the microtasks after it) begins after
 * the bytes it handles were read from their socket, so every request answered in it arrived before
 * the check. A revocation committed before such a request arrived is therefore seen; one committed
 * later is concurrent with the request, and either answer is correct. Any `await` ends the turn
 * for what follows it, so a lookup after one checks again. Introspection's two lookups (the
 * resource server, then the token) share one check this way.
 *
 * better-sqlite3 runs each statement synchronously, so a row and the stamp it is filed under are
 * read with no write in between; the bump comes after the write ran, so a row read before it is
 * never served after it. PostgreSQL has no such cheap local signal, so its hot reads always go to
 * the database.
 */
import { closeSync, openSync, readSync, realpathSync } from 'node:fs';
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import {
  ColumnNode,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  TableNode,
  type UnknownRow,
  type UpdateQueryNode,
} from 'kysely';
import { atEndOfTurn } from '../maybe-promise.js';

/** Enough for every token a busy server sees in a minute; each entry is one small row. */
const DEFAULT_MAX_ENTRIES = 10_000;

interface Entry {
  stamp: number;
  row: unknown;
}

/** Tells whether another connection committed anything since it was last asked. */
interface OtherWrites {
  readonly kind: 'wal-index' | 'data_version';
  happened(): boolean;
  close(): void;
}

/**
 * `PRAGMA data_version` (https://sqlite.org/pragma.html#pragma_data_version): exact, but each call
 * opens and ends a read transaction, two lock calls on the shared-memory file.
 */
function dataVersionWatch(raw: SqliteDatabase): OtherWrites {
  const statement: Statement<[], number> = raw.prepare<[], number>('PRAGMA data_version').pluck();
  let last = statement.get() ?? 0;
  return {
    kind: 'data_version',
    happened() {
      const version = statement.get() ?? 0;
      if (version === last) return false;
      last = version;
      return true;
    },
    close() {},
  };
}

/**
 * The WAL-index header, read straight from the `-shm` file: one `pread`, no lock. Every commit in
 * WAL mode, by any connection, rewrites this header (its change counter, frame count and checksum;
 * https://sqlite.org/walformat.html#the_wal_index_header), and the committing connection writes
 * both of its copies before the commit returns. So while the header is unchanged nobody has
 * committed, and the check costs one system call. When it has changed (or is caught mid-rewrite,
 * its copies differing), `data_version` tells whether the commit was another connection's: this
 * process's own writes are counted by the plugin instead, table by table.
 * SQLite names the file after the database's real path, symbolic links resolved, and so does this.
 * Undefined when there is no such file (an in-memory database, or not WAL mode).
 */
function walIndexWatch(file: string, exact: OtherWrites): OtherWrites | undefined {
  let fd: number;
  try {
    fd = openSync(`${realpathSync(file)}-shm`, 'r');
  } catch {
    return undefined;
  }
  const headers = Buffer.alloc(2 * WAL_INDEX_HEADER_BYTES);
  const last = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
  const read = () => readSync(fd, headers, 0, headers.length, 0) === headers.length;
  if (!read()) {
    closeSync(fd);
    return undefined;
  }
  headers.copy(last, 0, 0, WAL_INDEX_HEADER_BYTES);
  const first = headers.subarray(0, WAL_INDEX_HEADER_BYTES);
  const second = headers.subarray(WAL_INDEX_HEADER_BYTES);
  return {
    kind: 'wal-index',
    happened() {
      const whole = read() && first.equals(second);
      if (whole && first.equals(last)) return false;
      if (whole) first.copy(last);
      return exact.happened();
    },
    close: () => closeSync(fd),
  };
}

/** Statements that change no rows by themselves (ROLLBACK does: it is not here). */
const TRANSACTION_START_OR_COMMIT = /^\s*(BEGIN|COMMIT|END)\b[^;]*$/i;

/** Each of the two copies of the WAL-index header at the start of the `-shm` file is 48 bytes. */
const WAL_INDEX_HEADER_BYTES = 48;

export class SqliteReadCache {
  private stamp = 0;
  private checkedThisTurn = false;
  private readonly otherWrites: OtherWrites;
  /** One map per query name, keyed by its parameters: no composite key is built per lookup. */
  private readonly tables = new Map<string, Map<string, Entry>>();
  private size = 0;
  private readonly writes = new WeakSet<object>();
  /**
   * Statements judged unable to change cached rows, with the `readsVersion` they were judged at. A
   * statement is judged when it is built, but may run later (queued behind a transaction holding
   * the one connection); if a cached query declared its tables in between, the judgement may be
   * stale, and the statement counts after all once it has run.
   */
  private readonly judgedUncounted = new WeakMap<object, number>();
  /** Moves whenever a cached query declares what it reads (`reads`). */
  private readsVersion = 0;
  /** What the cached queries read; `all` once one did not say. */
  private readTables: Set<string> | 'all' = new Set();
  /** Per read table, the columns that every cached query reading it declared untracked. */
  private readonly untracked = new Map<string, ReadonlySet<string>>();
  private readonly endTurn = () => {
    this.checkedThisTurn = false;
  };

  /** `file` is the database file in WAL mode, if there is one (see walIndexWatch). */
  constructor(
    raw: SqliteDatabase,
    file: string | undefined,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {
    // The pragma's read transaction also creates the `-shm` file, which SQLite makes lazily.
    const pragma = dataVersionWatch(raw);
    const wal = file !== undefined && raw.pragma('journal_mode', { simple: true }) === 'wal';
    this.otherWrites = (wal ? walIndexWatch(file, pragma) : undefined) ?? pragma;
  }

  /**
   * The stamp now; changes when anything may have been written since the last call. Other
   * connections' writes are looked for once per turn (see above).
   */
  current(): number {
    if (!this.checkedThisTurn) {
      this.checkedThisTurn = true;
      atEndOfTurn(this.endTurn);
      if (this.otherWrites.happened()) this.stamp++;
    }
    return this.stamp;
  }

  /** The row of query `name` cached under `key` if it was read at `stamp`. Callers must not change it. */
  get(name: string, key: string, stamp: number): unknown {
    const entry = this.tables.get(name)?.get(key);
    return entry !== undefined && entry.stamp === stamp ? entry.row : undefined;
  }

  /** Files a row read at `stamp`. Missing rows are not cached: guessed tokens must not evict real ones. */
  set(name: string, key: string, stamp: number, row: unknown): void {
    if (row === undefined) return;
    let rows = this.tables.get(name);
    if (rows === undefined) {
      rows = new Map();
      this.tables.set(name, rows);
    }
    if (rows.delete(key)) this.size--;
    if (this.size >= this.maxEntries) this.evictOne(rows);
    rows.set(key, { stamp, row });
    this.size++;
  }

  /**
   * Declares the tables a cached query reads (every table its rows depend on, foreign-key parents
   * included; undefined means any table), and the `table.column`s it never decides from. An update
   * that sets only columns every cached reader of its table declared untracked is not counted.
   */
  reads(tables: readonly string[] | undefined, untracked: readonly string[] = []): void {
    this.readsVersion++;
    if (tables === undefined) this.readTables = 'all';
    if (this.readTables === 'all') return;
    for (const table of tables ?? []) {
      const mine = new Set(
        untracked.filter((c) => c.startsWith(`${table}.`)).map((c) => c.slice(table.length + 1)),
      );
      const others = this.readTables.has(table) ? (this.untracked.get(table) ?? new Set()) : mine;
      this.untracked.set(table, new Set([...mine].filter((column) => others.has(column))));
      this.readTables.add(table);
    }
  }

  /** How other connections' writes are noticed (tests, diagnostics). */
  get watching(): OtherWrites['kind'] {
    return this.otherWrites.kind;
  }

  /** Lets go of the `-shm` file; call when the database is closed. */
  close(): void {
    this.otherWrites.close();
  }

  /** Drops everything; the next read of each row goes to the database. */
  clear(): void {
    this.stamp++;
    this.tables.clear();
    this.size = 0;
  }

  /** Maps iterate in insertion order: the first key is the longest since it was (re)filed. */
  private evictOne(preferred: Map<string, Entry>): void {
    for (const rows of [preferred, ...this.tables.values()]) {
      const oldest = rows.keys().next();
      if (!oldest.done) {
        rows.delete(oldest.value);
        this.size--;
        return;
      }
    }
  }

  /**
   * Whether a statement of this process may change rows a cached query reads. Anything it cannot
   * tell is counted: raw SQL other than BEGIN/COMMIT, CTEs (a WITH clause may write), aliased or
   * unusual targets, schema changes.
   */
  private mayChangeCachedRows(node: RootOperationNode): boolean {
    switch (node.kind) {
      case 'SelectQueryNode':
        return node.with !== undefined;
      case 'RawNode':
        return !TRANSACTION_START_OR_COMMIT.test(node.sqlFragments.join(' '));
      case 'InsertQueryNode':
        return node.with !== undefined || this.mayRead(node.into);
      case 'UpdateQueryNode':
        return node.with !== undefined || (this.mayRead(node.table) && !this.setsOnlyUntracked(node));
      case 'DeleteQueryNode':
        return node.with !== undefined || node.from.froms.some((from) => this.mayRead(from));
      default:
        return true;
    }
  }

  /** `UPDATE t SET <untracked columns only> WHERE …`, with nothing joined that could be written. */
  private setsOnlyUntracked(node: UpdateQueryNode): boolean {
    const { table, updates } = node;
    // A cached query that named no tables may read any column: nothing is untracked then.
    if (this.readTables === 'all') return false;
    if (table === undefined || !TableNode.is(table) || table.table.schema !== undefined) return false;
    if (node.from !== undefined || node.joins !== undefined || !updates?.length) return false;
    const untracked = this.untracked.get(table.table.identifier.name);
    return (
      untracked !== undefined &&
      updates.every(({ column }) => ColumnNode.is(column) && untracked.has(column.column.name))
    );
  }

  /** True for a statement judged uncounted before the latest `reads`: see `judgedUncounted`. */
  private judgedUncountedUntilNow(queryId: object): boolean {
    const version = this.judgedUncounted.get(queryId);
    if (version === undefined) return false;
    this.judgedUncounted.delete(queryId);
    return version !== this.readsVersion;
  }

  private mayRead(target: OperationNode | undefined): boolean {
    if (this.readTables === 'all' || target === undefined || !TableNode.is(target)) return true;
    return this.readTables.has(target.table.identifier.name);
  }

  /** The Kysely plugin that bumps the stamp before and after every statement that may change cached rows. */
  readonly plugin: KyselyPlugin = {
    transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => {
      if (this.mayChangeCachedRows(args.node)) {
        this.writes.add(args.queryId);
        this.stamp++;
      } else if (args.node.kind !== 'SelectQueryNode') {
        this.judgedUncounted.set(args.queryId, this.readsVersion);
      }
      return args.node;
    },
    transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
      // After the statement ran: a row read while it was queued is not served from now on.
      if (this.writes.delete(args.queryId)) this.stamp++;
      else if (this.judgedUncountedUntilNow(args.queryId)) this.stamp++;
      return args.result;
    },
  };
}
