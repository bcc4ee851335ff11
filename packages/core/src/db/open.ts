import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { errorMessage, RummyError } from "../errors.js";
import { MIGRATIONS } from "./migrations.js";

/** The better-sqlite3 handle. Internal: the core's public types never name it. */
export type Db = Database.Database;

export interface OpenOptions {
  /** A file path, or ":memory:" for a throwaway store. */
  readonly path: string;
  readonly readonly?: boolean;
}

/**
 * Opens (creating if needed) the store's SQLite file: WAL journaling so
 * readers never block the writer, foreign keys on, NORMAL sync (durable
 * across process crashes, which is the promise we make), and every pending
 * migration applied before anything else touches it.
 */
export function openDatabase(options: OpenOptions): Db {
  let db: Db | undefined;
  try {
    if (options.path !== ":memory:") {
      // The store holds file contents, prompts and the RPC log: a folder and a file made here are
      // the user's alone. SQLite gives its -wal and -shm files the database file's permissions.
      mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
      if (!options.readonly && !existsSync(options.path))
        closeSync(openSync(options.path, "a", 0o600));
    }
    db = new Database(options.path, { readonly: options.readonly ?? false });
    db.pragma("journal_mode = WAL");
    // A core's store checkpoints on a worker thread (db/checkpointer.ts), which turns the automatic
    // checkpoint off; any other connection checkpoints in a commit only past 32 MiB of WAL.
    // A checkpointed WAL is cut back as it restarts, so it takes no disk space it no longer needs
    // (and a full disk refuses the next write instead of it landing in space kept from before).
    db.pragma("wal_autocheckpoint = 8192");
    db.pragma("journal_size_limit = 0");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    if (!options.readonly) migrate(db);
    return db;
  } catch (error) {
    db?.close();
    const code = (error as NodeJS.ErrnoException).code ?? "";
    // A read-only folder, a full disk, or no permission: say where and what to fix.
    if (/^(SQLITE_|EROFS|EACCES|EPERM|ENOSPC)/.test(code))
      throw new RummyError(
        503,
        `cannot open the database ${options.path} for writing (${code}: ${errorMessage(error)}); check that its folder is writable and has free space`,
        { code },
      );
    throw error;
  }
}

function migrate(db: Db): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  )`);
  const applied = new Set(
    db
      .prepare("SELECT version FROM schema_migrations")
      .all()
      .map((row) => (row as { version: number }).version),
  );
  const record = db.prepare("INSERT INTO schema_migrations (version, name) VALUES (?, ?)");
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(migration.version, migration.name);
    })();
  }
}
