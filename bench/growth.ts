/**
 * Growth of the metadata store: per-request database cost at 10^4, 10^5 (and, with --max 1000000,
 * 10^6) documents on a throwaway PostgreSQL 15. Rows are seeded directly (sealed like the service's,
 * with their blind index tokens, in batches of 1,000), so reaching 10^6 takes minutes, not days.
 * At each size it measures, by median of --samples requests: the commit transaction of one capture,
 * a document by id, a feed page (100 documents after a random position of the caller's units), a
 * search page (case number) and a title-word search. Ratios are against the 10^4 figure of the same run.
 *
 *   npx tsx bench/growth.ts [--max 100000] [--samples 200]
 *
 * Only the database's share of a request is measured (no HTTP, processing or blob store).
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ulid } from 'ulid';
import { encryptObject } from '../src/crypto/at-rest.ts';
import { BlindIndex, indexWords, normalizeCaseNumber } from '../src/crypto/blind-index.ts';
import { generateKek, KekRing } from '../src/crypto/kek-ring.ts';
import { MetadataStore, type NewDocument } from '../src/metadata/metadata-store.ts';
import { migrate } from '../src/metadata/migrations.ts';
import { openPostgres } from '../src/metadata/postgres-client.ts';
import type { SqlClient } from '../src/metadata/sql.ts';
import { startPostgres } from '../tests/support/postgres.ts';

const UNITS = Array.from({ length: 20 }, (_, i) => `BA-${i}`);
/** About ten documents per case number, as in a real file (Akte). */
const DOCS_PER_CASE = 10;
const TITLE_WORDS = ['Antrag', 'Bescheid', 'Widerspruch', 'Anhörung', 'Vermerk', 'Rechnung', 'Vollmacht', 'Gutachten', 'Meldung', 'Vertrag'];
const BATCH = 1_000;

const { values } = parseArgs({ options: { max: { type: 'string', default: '100000' }, samples: { type: 'string', default: '200' } } });
const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= Number(values.max));
const samples = Number(values.samples);

const keys = new KekRing([generateKek('bench-1')]);
const searchKeys = new KekRing([generateKek('bench-search-1')]);
const index = new BlindIndex(searchKeys);

function documentOf(n: number): NewDocument & { caseNumber: string } {
  const id = ulid();
  const caseNumber = `AZ ${Math.floor(n / DOCS_PER_CASE)}/26`;
  const title = `${TITLE_WORDS[n % TITLE_WORDS.length]} ${TITLE_WORDS[(n * 7) % TITLE_WORDS.length]} Nr ${n}`;
  const record = { id, title, caseNumber, unit: UNITS[n % UNITS.length], transferNote: { findings: [], review: { status: 'pending' } }, padding: 'x'.repeat(1200) };
  return {
    id,
    unit: UNITS[n % UNITS.length]!,
    createdAt: new Date(Date.UTC(2026, 0, 1) + n * 1_000).toISOString(),
    reviewStatus: 'pending',
    pageCount: 1,
    sizeBytes: 200_000,
    body: Buffer.from(JSON.stringify(record)),
    search: { title, caseNumber },
    caseNumber,
  };
}

/** Inserts documents [from, to) as the commit does, but many per statement. */
async function seed(db: SqlClient, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += BATCH) {
    const docs = Array.from({ length: Math.min(BATCH, to - start) }, (_, i) => documentOf(start + i));
    await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ seq: string }>('UPDATE feed_counter SET last_seq = last_seq + $1 RETURNING (last_seq - $1)::text AS seq', [docs.length]);
      const first = Number(rows[0]!.seq) + 1;
      await tx.query(
        `INSERT INTO documents (id, feed_seq, unit, created_at, review_status, page_count, size_bytes, case_token, search_key_id, kek_id, sealed)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[], $6::int[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bytea[])`,
        [
          docs.map((d) => d.id),
          docs.map((_, i) => first + i),
          docs.map((d) => d.unit),
          docs.map((d) => d.createdAt),
          docs.map((d) => d.reviewStatus),
          docs.map((d) => d.pageCount),
          docs.map((d) => d.sizeBytes),
          docs.map((d) => index.token('case', normalizeCaseNumber(d.caseNumber))),
          docs.map(() => index.activeKeyId),
          docs.map(() => keys.active.id),
          docs.map((d) => encryptObject(d.body, `db/documents/${d.id}`, keys.active)),
        ],
      );
      const words = docs.flatMap((d) => indexWords(d.search.title).map((w) => [index.token('word', w), d.id] as const));
      await tx.query('INSERT INTO document_words (token, document_id) SELECT * FROM unnest($1::text[], $2::text[])', [words.map((w) => w[0]), words.map((w) => w[1])]);
    });
  }
  await db.exec('ANALYZE');
}

async function median(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

interface Row {
  size: number;
  commit: number;
  get: number;
  feed: number;
  caseSearch: number;
  wordSearch: number;
}

async function measure(store: MetadataStore, size: number): Promise<Row> {
  const pick = () => Math.floor(Math.random() * size);
  const units = UNITS.slice(0, 2);
  // Ids spread over the whole table, so reads do not all hit the same few pages.
  const known = (await Promise.all(Array.from({ length: 200 }, () => store.query({ after: pick(), limit: 1, units: UNITS })))).flat().map((d) => d.id);
  let next = size;
  return {
    size,
    commit: await median(() => store.commitDocument(documentOf(next++))),
    get: await median(() => store.document(known[Math.floor(Math.random() * known.length)]!)),
    feed: await median(() => store.query({ after: pick(), limit: 100, units })),
    caseSearch: await median(() => store.query({ after: 0, limit: 100, units: UNITS, caseNumber: `AZ ${Math.floor(pick() / DOCS_PER_CASE)}/26` })),
    wordSearch: await median(() => store.query({ after: pick(), limit: 100, units, words: `${TITLE_WORDS[pick() % TITLE_WORDS.length]} Nr` })),
  };
}

async function main(): Promise<void> {
  const server = await startPostgres();
  const db = openPostgres(await server.createDatabase(`growth_${randomUUID().slice(0, 8)}`));
  try {
    await migrate(db);
    const store = new MetadataStore(db, keys, searchKeys);
    const rows: Row[] = [];
    let seeded = 0;
    for (const size of sizes) {
      const began = Date.now();
      await seed(db, seeded, size);
      seeded = size;
      console.error(`[growth] ${size} documents seeded (${((Date.now() - began) / 1000).toFixed(0)} s)`);
      rows.push(await measure(store, size));
      // The measurement's own commits are part of the next size.
      seeded += samples;
    }
    const base = rows[0]!;
    const cell = (row: Row, key: Exclude<keyof Row, 'size'>) => `${row[key].toFixed(2)} ms (${(row[key] / base[key]).toFixed(2)}×)`;
    console.log(`machine: ${availableParallelism()} cores, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; median of ${samples} each`);
    console.log('| documents | commit | get by id | feed page (100) | case-number search | title-word search |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const row of rows) {
      console.log(`| ${row.size.toLocaleString('en')} | ${cell(row, 'commit')} | ${cell(row, 'get')} | ${cell(row, 'feed')} | ${cell(row, 'caseSearch')} | ${cell(row, 'wordSearch')} |`);
    }
  } finally {
    await db.close();
    await server.stop();
  }
}

await main();
