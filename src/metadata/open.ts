import path from 'node:path';
import type { KekLookup, KekRing } from '../keys/kek-ring.ts';
import type { AuditCheckpointPolicy } from './audit-store.ts';
import { MetadataStore } from './metadata-store.ts';
import { migrate } from './migrations.ts';
import { openPglite } from './pglite-client.ts';
import { openPostgres } from './postgres-client.ts';
import type { SqlClient } from './sql.ts';

export interface MetadataSource {
  /** A PostgreSQL server; without it, PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Embedded database directory; undefined with no databaseUrl: in memory (tests). */
  pgliteDir?: string;
}

/** Where the embedded database lives inside DATA_DIR. */
export function pgliteDirOf(dataDir: string): string {
  return path.join(dataDir, 'metadata');
}

/** Opens the configured database, brings its schema up to date and returns the store on it. */
export async function openMetadataStore(source: MetadataSource, keys: KekLookup, searchKeys: KekRing, checkpoints?: AuditCheckpointPolicy): Promise<MetadataStore> {
  const db: SqlClient = source.databaseUrl ? openPostgres(source.databaseUrl) : await openPglite(source.pgliteDir);
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return new MetadataStore(db, keys, searchKeys, checkpoints);
}
