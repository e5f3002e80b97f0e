/**
 * `npm run audit:verify`'s cost as the trail grows: at 10^4 and 10^5 entries (--max) on a throwaway
 * PostgreSQL 15, the incremental run (from the newest checkpoint: what was appended since) against
 * `--full`. Entries are seeded through the store's own append (1,000 per transaction, sealed and
 * chained as the service does, checkpoints every 1,000 signed with an ES384 key); then 250 more, so
 * the incremental run has something since its checkpoint. Median of --samples runs of verifyAuditTrail
 * in this process (the CLI adds its start, ~2 s of tsx, and nothing per entry).
 *
 *   npx tsx bench/audit-verify.ts [--max 100000] [--samples 3]
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { ulid } from 'ulid';
import { createCheckpointSigner } from '../src/audit/checkpoint.ts';
import type { AuditEvent } from '../src/audit/trail.ts';
import { verifyAuditTrail } from '../src/audit/verify.ts';
import type { JwkSet } from '../src/keys/ingest-keys.ts';
import { generateKek, KekRing } from '../src/keys/kek-ring.ts';
import { MetadataStore } from '../src/metadata/metadata-store.ts';
import { migrate } from '../src/metadata/migrations.ts';
import { openPostgres } from '../src/metadata/postgres-client.ts';
import type { SqlClient } from '../src/metadata/sql.ts';
import { startPostgres } from '../testkit/postgres.ts';

const { values } = parseArgs({ options: { max: { type: 'string', default: '100000' }, samples: { type: 'string', default: '3' } } });
const max = Number(values.max);
const samples = Number(values.samples);
const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= max);
const BATCH = 1000;
const SINCE = 250;
/** About five entries per document (capture, views, exports), as a trail has. */
const ENTRIES_PER_DOCUMENT = 5;

async function seed(db: SqlClient, store: MetadataStore, count: number): Promise<void> {
  const docs = Array.from({ length: Math.max(1, Math.ceil(count / ENTRIES_PER_DOCUMENT)) }, () => ulid());
  for (let done = 0; done < count; done += BATCH) {
    await db.transaction(async (tx) => {
      for (let i = done; i < Math.min(count, done + BATCH); i++) {
        const event: AuditEvent = { type: 'page_viewed', documentId: docs[i % docs.length]!, unit: `BA-${i % 4}`, actor: { sub: `u${i % 50}` }, details: { page: (i % 9) + 1 } };
        await store.audit.appendIn(tx, event);
      }
    });
  }
}

async function median(work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint();
    await work();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const server = await startPostgres();
  const db = openPostgres(await server.createDatabase(`audit_${randomUUID().slice(0, 8)}`));
  try {
    await migrate(db);
    const pair = await generateKeyPair('ES384', { extractable: true });
    const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'bench', alg: 'ES384', use: 'sig' }] } as JwkSet;
    const sign = await createCheckpointSigner(await exportJWK(pair.privateKey), 'bench');
    const keys = new KekRing([generateKek('bench')]);
    const store = new MetadataStore(db, keys, new KekRing([generateKek('search')]), { every: BATCH, sign });
    const rows: string[] = [];
    let seeded = 0;
    for (const size of sizes) {
      const began = Date.now();
      await seed(db, store, size - seeded);
      await seed(db, store, SINCE);
      seeded = size + SINCE;
      console.error(`[audit-verify] ${seeded} entries seeded (${((Date.now() - began) / 1000).toFixed(0)} s)`);
      let checked = { incremental: 0, full: 0 };
      const incremental = await median(async () => {
        const report = await verifyAuditTrail(store.audit, { jwks });
        if (!report.ok) throw new Error(`incremental verification failed: ${report.problems[0]?.message}`);
        checked = { ...checked, incremental: report.entries };
      });
      const heapBefore = process.memoryUsage().heapUsed;
      let heapPeak = heapBefore;
      const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20);
      const full = await median(async () => {
        const report = await verifyAuditTrail(store.audit, { jwks, full: true });
        if (!report.ok) throw new Error(`full verification failed: ${report.problems[0]?.message}`);
        checked = { ...checked, full: report.entries };
      });
      clearInterval(sampler);
      rows.push(
        `| ${seeded.toLocaleString('en')} | ${incremental.toFixed(0)} ms (${checked.incremental} entries) | ${(full / 1000).toFixed(2)} s (${checked.full.toLocaleString('en')} entries) | ${(full / incremental).toFixed(0)}× | ${((heapPeak - heapBefore) / 2 ** 20).toFixed(0)} MiB |`,
      );
    }
    console.log(`machine: ${availableParallelism()} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; median of ${samples} runs each`);
    console.log('| entries | incremental (from the newest checkpoint) | --full | full / incremental | heap growth during --full |');
    console.log('|---:|---:|---:|---:|---:|');
    for (const row of rows) console.log(row);
  } finally {
    await db.close();
    await server.stop();
  }
}

await main();
