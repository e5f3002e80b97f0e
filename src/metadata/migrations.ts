/**
 * Versioned schema migrations, applied at start in order, each once, under an advisory lock so two
 * instances starting together never both apply one. A small runner of our own: the migration
 * libraries for Node (node-pg-migrate, Umzug's pg storage, Knex) talk to node-postgres only, and this
 * one must run the same files on PGlite.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { SqlClient } from './sql.ts';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE_PATTERN = /^(\d{3})-[a-z0-9-]+\.sql$/;
/** Any constant both drivers agree on; names this application's migration lock. */
const LOCK_KEY = 0x7673_6361;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations shipped with this version, oldest first. */
export async function shippedMigrations(): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => FILE_PATTERN.test(f)).sort();
  return Promise.all(
    files.map(async (name, index) => {
      const version = Number(FILE_PATTERN.exec(name)![1]);
      if (version !== index + 1) throw new Error(`migration ${name} is out of sequence: expected version ${index + 1}`);
      return { version, name, sql: await readFile(new URL(name, MIGRATIONS_DIR), 'utf8') };
    }),
  );
}

/** Brings the schema to the newest shipped version; returns the versions applied now. Refuses a newer schema. */
export async function migrate(db: SqlClient, migrations?: Migration[]): Promise<number[]> {
  const wanted = migrations ?? (await shippedMigrations());
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    const applied = new Set(rows.map((r) => r.version));
    const newest = rows.at(-1)?.version ?? 0;
    const known = wanted.at(-1)?.version ?? 0;
    if (newest > known) throw new Error(`the database schema is at version ${newest}, newer than this service knows (${known}): run a newer release`);
    const now: number[] = [];
    for (const migration of wanted) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      now.push(migration.version);
    }
    return now;
  });
}
