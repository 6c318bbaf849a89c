/**
 * `latchkey backup PATH` (PROTOCOL §14). SQLite: an online backup through SQLite's backup API, safe
 * while the server runs (readers and writers go on; the copy is one consistent snapshot). PostgreSQL:
 * the `pg_dump` command to run, because a dump belongs to the operator's own tooling and credentials.
 *
 * The backup never goes through `createServices`, so it never migrates the database it copies: an
 * operator takes it *before* an upgrade, possibly with the new build already in place.
 */
import { closeSync, existsSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';

/** Kysely's default migration table; a file without it is not a Latchkey database. */
const MIGRATION_TABLE = 'kysely_migration';

export interface SqliteBackup {
  /** Absolute path of the finished copy. */
  file: string;
  bytes: number;
  /** Migrations recorded in the copy, and the latest one's name. */
  migrations: number;
  latest: string | undefined;
}

/**
 * Copies the SQLite database `source` to `target`. The copy is written to a temporary file beside
 * the target (mode 0600: it holds the generated secret and token hashes), switched to a single-file
 * journal mode, checked (integrity and the migration table), and only then renamed into place, so
 * `target` is either a good backup or absent. Refuses an existing target unless `force`.
 */
export async function backupSqlite(
  source: string,
  target: string,
  options: { force?: boolean } = {},
): Promise<SqliteBackup> {
  const file = resolve(target);
  if (file === resolve(source)) throw new Error('The backup must not be the database itself.');
  if (!existsSync(dirname(file))) throw new Error(`The directory ${dirname(file)} does not exist.`);
  if (existsSync(file) && !options.force)
    throw new Error(`${file} already exists. Choose a new file, or add --force to replace it.`);

  // `fileMustExist`: a backup from the wrong directory must not create an empty database.
  const db = new SQLite(source, { fileMustExist: true });
  const partial = join(dirname(file), `.${basename(file)}.partial-${process.pid}`);
  try {
    db.pragma('busy_timeout = 5000');
    closeSync(openSync(partial, 'wx', 0o600));
    await db.backup(partial);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }

  let copy: SqliteBackup;
  try {
    copy = checkCopy(partial, file);
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  // A replaced backup that was itself once opened in WAL mode may have left side files behind.
  for (const side of ['-wal', '-shm']) rmSync(`${file}${side}`, { force: true });
  return { ...copy, bytes: statSync(file).size };
}

/** Makes the copy one self-contained file and proves it is a whole Latchkey database. */
function checkCopy(partial: string, file: string): SqliteBackup {
  const copy = new SQLite(partial, { fileMustExist: true });
  try {
    // The source runs in WAL mode; a backup should not need its -wal file to be complete.
    copy.pragma('journal_mode = DELETE');
    const integrity = copy.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new Error(`The copy failed its integrity check: ${String(integrity)}`);
    const table = copy
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(MIGRATION_TABLE);
    if (!table) throw new Error('The database has no migrations table: it is not a Latchkey database.');
    const names = copy.prepare(`SELECT name FROM ${MIGRATION_TABLE} ORDER BY name`).pluck().all() as string[];
    return { file, bytes: 0, migrations: names.length, latest: names.at(-1) };
  } finally {
    copy.close();
  }
}

/** Quotes one word for a POSIX shell. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface PgDumpAdvice {
  /** The `pg_dump` command line, with the password removed from the URL. */
  dump: string;
  /** The matching `pg_restore` command line. */
  restore: string;
  /** True when DATABASE_URL carries a password, which then has to come from PGPASSWORD or ~/.pgpass. */
  hadPassword: boolean;
}

/**
 * The commands for a PostgreSQL backup: custom format (compressed, restorable table by table),
 * no owners or privileges, so it restores into a database owned by another role. The password is
 * left out of the printed URL; libpq takes it from PGPASSWORD or ~/.pgpass.
 */
export function pgDumpCommands(databaseUrl: string, target: string): PgDumpAdvice {
  const url = new URL(databaseUrl);
  const hadPassword = url.password !== '';
  url.password = '';
  const connection = url.href;
  const file = resolve(target);
  return {
    dump: ['pg_dump', '--format=custom', '--no-owner', '--no-privileges', `--file=${file}`, connection]
      .map(shellQuote)
      .join(' '),
    restore: [
      'pg_restore',
      '--clean',
      '--if-exists',
      '--no-owner',
      '--no-privileges',
      `--dbname=${connection}`,
      file,
    ]
      .map(shellQuote)
      .join(' '),
    hadPassword,
  };
}
