/** The server driver: a node-postgres pool on DATABASE_URL; connection failures become StorageUnavailableError (503). */
import pg from 'pg';
import { StorageUnavailableError } from '../storage/object-store.ts';
import type { SqlClient, SqlQueryable } from './sql.ts';

/** SQLSTATE classes of a server that is gone or going: connection (08), shutdown/admin (57), resources (53). */
const UNAVAILABLE_STATES = /^(08|53|57)/;

export function openPostgres(url: string, options: { maxConnections?: number; connectTimeoutMs?: number } = {}): SqlClient {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000 });
  // An idle connection the server dropped must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const queryable = (q: Pick<pg.Pool | pg.PoolClient, 'query'>): SqlQueryable => ({
    async query<T extends object>(text: string, params: readonly unknown[] = []) {
      try {
        return { rows: (await q.query<T & pg.QueryResultRow>(text, [...params])).rows };
      } catch (err) {
        throw translate(err);
      }
    },
    async exec(text: string) {
      // Without parameters node-postgres uses the simple protocol, which runs several statements.
      await q.query(text).catch((err: unknown) => {
        throw translate(err);
      });
    },
  });
  return {
    ...queryable(pool),
    async transaction(work) {
      const client = await pool.connect().catch((err: unknown) => {
        throw translate(err);
      });
      let broken = false;
      // A checked-out client has no listener of the pool's: a server going away mid-transaction must not crash the process.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        const tx = queryable(client);
        await tx.query('BEGIN');
        const result = await work(tx);
        await tx.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw translate(err);
      } finally {
        // A connection that failed or could not roll back is not returned to the pool.
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

function translate(err: unknown): unknown {
  if (err instanceof StorageUnavailableError) return err;
  const code = (err as { code?: unknown }).code;
  const state = typeof code === 'string' ? code : '';
  const network = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(state);
  const lost = err instanceof Error && /Connection terminated|connection timeout|Client has encountered a connection error/i.test(err.message);
  if (network || lost || UNAVAILABLE_STATES.test(state)) return new StorageUnavailableError('database unavailable', { cause: err });
  return err;
}
