/** Fresh metadata databases for tests: a new database on the run's PostgreSQL server, or a PGlite of its own. */
import { inject } from 'vitest';
import pg from 'pg';
import { generateKek, KekRing } from '../src/keys/kek-ring.ts';
import { openMetadataStore, type MetadataSource } from '../src/metadata/open.ts';
import type { AuditCheckpointPolicy } from '../src/metadata/audit-store.ts';
import { MetadataStore } from '../src/metadata/metadata-store.ts';
import { migrate } from '../src/metadata/migrations.ts';
import { openPglite } from '../src/metadata/pglite-client.ts';
import { openPostgres } from '../src/metadata/postgres-client.ts';
import type { SqlClient } from '../src/metadata/sql.ts';

export type MetadataBackend = 'PGlite' | 'PostgreSQL';
export const METADATA_BACKENDS: MetadataBackend[] = ['PGlite', 'PostgreSQL'];

let created = 0;

/** A new, empty database on the run's server (testkit/global-setup.ts); its URL. */
export async function freshDatabaseUrl(): Promise<string> {
  const admin = new URL(inject('postgres').adminUrl);
  const name = `vsc_${process.pid}_${Date.now().toString(36)}_${created++}`;
  const client = new pg.Client({ connectionString: admin.href });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  admin.pathname = `/${name}`;
  return admin.href;
}

/** A bare, unmigrated connection on `backend`. */
export async function freshSqlClient(backend: MetadataBackend): Promise<SqlClient> {
  return backend === 'PostgreSQL' ? openPostgres(await freshDatabaseUrl()) : openPglite();
}

export interface TestMetadata {
  store: MetadataStore;
  keys: KekRing;
  searchKeys: KekRing;
  /** Where it lives, to open it again. */
  source: MetadataSource;
}

/** A migrated store on `backend` with fresh keys; PGlite in `pgliteDir`, else in memory. */
export async function freshMetadataStore(
  backend: MetadataBackend,
  options: { pgliteDir?: string; keys?: KekRing; searchKeys?: KekRing; wrap?: (db: SqlClient) => SqlClient; checkpoints?: AuditCheckpointPolicy } = {},
): Promise<TestMetadata> {
  const keys = options.keys ?? new KekRing([generateKek('meta-1')]);
  const searchKeys = options.searchKeys ?? new KekRing([generateKek('search-1')]);
  const source: MetadataSource = backend === 'PostgreSQL' ? { databaseUrl: await freshDatabaseUrl() } : options.pgliteDir ? { pgliteDir: options.pgliteDir } : {};
  if (!options.wrap) return { store: await openMetadataStore(source, keys, searchKeys, options.checkpoints), keys, searchKeys, source };
  const db = source.databaseUrl ? openPostgres(source.databaseUrl) : await openPglite(source.pgliteDir);
  await migrate(db);
  return { store: new MetadataStore(options.wrap(db), keys, searchKeys, options.checkpoints), keys, searchKeys, source };
}

/**
 * The next insert into `table` loses its connection, as when the server goes away mid-commit: a
 * trigger terminates its own backend once (a sequence counts, and sequences ignore rollbacks).
 * Returns how to ask whether it fired.
 */
export async function dropConnectionAtNextInsert(databaseUrl: string, table: string): Promise<{ fired(): Promise<boolean> }> {
  const run = async <T extends pg.QueryResultRow>(sql: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  };
  const name = `fault_${table}_${created++}`;
  await run(`
    CREATE SEQUENCE ${name};
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF nextval('${name}') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}();`);
  return { fired: async () => (await run<{ is_called: boolean }>(`SELECT is_called FROM ${name}`))[0]!.is_called };
}
