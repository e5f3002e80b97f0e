/** The embedded driver: PGlite (WASM PostgreSQL) in one directory, one connection, in this process only. */
import { PGlite } from '@electric-sql/pglite';
import type { SqlClient, SqlQueryable } from './sql.ts';

/** Opens (creating on first use) the database under `dataDir`; without one, in memory. */
export async function openPglite(dataDir?: string): Promise<SqlClient> {
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  const queryable = (q: Pick<PGlite, 'query' | 'exec'>): SqlQueryable => ({
    async query<T>(text: string, params: readonly unknown[] = []) {
      return { rows: (await q.query<T>(text, [...params])).rows };
    },
    async exec(text: string) {
      await q.exec(text);
    },
  });
  return {
    ...queryable(db),
    // PGlite runs one transaction at a time, so concurrent callers queue here as they would on a row lock.
    transaction: (work) => db.transaction((tx) => work(queryable(tx))),
    close: () => db.close(),
  };
}
