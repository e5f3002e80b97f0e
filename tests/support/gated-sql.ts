/** A SqlClient that fails a chosen statement or holds the next transaction until the test releases it, to replay failing or racing commits on a real database. */
import type { SqlClient, SqlQueryable } from '../../src/metadata/sql.ts';

export class GatedSql implements SqlClient {
  private faults: Array<{ match: (sql: string) => boolean; hit: () => void }> = [];
  private gate: { reached: () => void; released: Promise<void> } | undefined;

  constructor(private readonly inner: SqlClient) {}

  /** The next statement matching `match` fails (its transaction rolls back); `hit` resolves once it did. */
  failNext(match: (sql: string) => boolean): { hit: Promise<void> } {
    let hit!: () => void;
    const promise = new Promise<void>((resolve) => (hit = resolve));
    this.faults.push({ match, hit });
    return { hit: promise };
  }

  /** The next transaction waits, before it begins, for `release()`; `reached` resolves once it waits. */
  holdNextTransaction(): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    this.gate = { reached, released: new Promise<void>((resolve) => (release = resolve)) };
    return { reached: reachedPromise, release };
  }

  query<T extends object = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<{ rows: T[] }> {
    return this.gated(this.inner).query<T>(text, params);
  }

  exec(text: string): Promise<void> {
    return this.inner.exec(text);
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const gate = this.gate;
    this.gate = undefined;
    if (gate) {
      gate.reached();
      await gate.released;
    }
    return this.inner.transaction((tx) => work(this.gated(tx)));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private gated(q: SqlQueryable): SqlQueryable {
    return {
      query: async <T extends object>(text: string, params?: readonly unknown[]) => {
        const index = this.faults.findIndex((f) => f.match(text));
        if (index >= 0) {
          this.faults.splice(index, 1)[0]!.hit();
          throw new Error(`injected fault at ${text.trim().split(/\s+/).slice(0, 3).join(' ')}`);
        }
        return q.query<T>(text, params);
      },
      exec: (text) => q.exec(text),
    };
  }
}
