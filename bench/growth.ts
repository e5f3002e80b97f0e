/**
 * Growth of the metadata store: per-request database cost at 10^4, 10^5 and 10^6 documents on a
 * throwaway PostgreSQL 15 (docs/BENCHMARKS-growth.md). Rows are seeded directly, sealed like the
 * service's and with their blind index tokens, 5,000 per statement (secondary indexes built after
 * the load), so 10^6 takes minutes. Each size is its own database, measured in turns with the others.
 * At each size it measures, by median of --samples requests, every database path of a request
 * (see PATHS below), and the incremental orphan sweep over an FsStore holding one directory per
 * document (where the layout puts it), after the same few changes at every size. Ratios are against the 10^4 figure of the same run.
 *
 *   npx tsx bench/growth.ts [--max 1000000] [--samples 200] [--changes 100] [--explain] [--sweep-only]
 *
 * --explain prints to stderr, per size, the plan (EXPLAIN ANALYZE) of one query of each list or search path.
 * --sweep-only measures only the sweep (the database is seeded all the same: the sweep looks up its changes there).
 *
 * Only the database's (and for the sweep the object store's) share is measured: no HTTP, processing or audit.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ulid } from 'ulid';
import { encryptObject } from '../src/crypto/at-rest.ts';
import { BlindIndex, indexWords, normalizeCaseNumber } from '../src/crypto/blind-index.ts';
import { KekRing } from '../src/keys/kek-ring.ts';
import { IdempotencyKeys } from '../src/documents/idempotency.ts';
import { sweepOrphans } from '../src/maintenance/orphan-sweep.ts';
import { MetadataStore, type DocumentQuery, type NewDocument } from '../src/metadata/metadata-store.ts';
import { migrate } from '../src/metadata/migrations.ts';
import { openPostgres } from '../src/metadata/postgres-client.ts';
import type { SqlClient } from '../src/metadata/sql.ts';
import { FsStore } from '../src/storage/fs-store.ts';
import { layout, ulidFloor } from '../src/storage/layout.ts';
import { ObjectUploadStore } from '../src/uploads/upload-store.ts';
import { startPostgres, type PostgresServer } from '../testkit/postgres.ts';

const UNITS = Array.from({ length: 20 }, (_, i) => `BA-${i}`);
/** The caller: an office of 2 of the 20 units. */
const CALLER = UNITS.slice(0, 2);
/** About ten documents per case number, as in a real file (Akte). */
const DOCS_PER_CASE = 10;
/** 20,000 captures a day. */
const CAPTURE_INTERVAL_MS = 86_400_000 / 20_000;
const DAY_MS = 86_400_000;
const START = Date.UTC(2025, 0, 1);
/** Title words: two per title from 2,000, Zipf-distributed (the most common in ~12 % of titles), plus "Nr <n>". */
const VOCABULARY = 2_000;
/** Only the newest documents wait for review, and for OCR: backlogs do not grow with the archive. */
const REVIEW_BACKLOG = 2_000;
const OCR_BACKLOG = 200;
const BATCH = 5_000;
const OTHER_UNIT = 'BA-19';
const OTHER_WORD = 'Sonderakte';

const { values } = parseArgs({
  options: {
    max: { type: 'string', default: '1000000' },
    samples: { type: 'string', default: '200' },
    changes: { type: 'string', default: '100' },
    explain: { type: 'boolean', default: false },
    'sweep-only': { type: 'boolean', default: false },
    'seed-slice': { type: 'string' },
  },
});
const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= Number(values.max));
const samples = Number(values.samples);
const changes = Number(values.changes);

// Fixed keys, the same in every seeding process (bench data only).
const keys = new KekRing([{ id: 'bench-1', key: Buffer.alloc(32, 1) }]);
const searchKeys = new KekRing([{ id: 'bench-search-1', key: Buffer.alloc(32, 2) }]);
const index = new BlindIndex(searchKeys);

/** Deterministic pseudo-random numbers in [0, 1) per (n, salt): the same archive on every run. */
function random(n: number, salt: number): number {
  let x = Math.imul(n ^ Math.imul(salt, 0x9e3779b1), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

const zipfWeights = Array.from({ length: VOCABULARY }, (_, i) => 1 / (i + 1));
const zipfTotal = zipfWeights.reduce((a, b) => a + b, 0);
const zipfCumulative = zipfWeights.reduce<number[]>((acc, w) => [...acc, (acc.at(-1) ?? 0) + w / zipfTotal], []);
/** A word of the vocabulary, common ones more often (as a caseworker types them, and as titles hold them). */
function zipfWord(u: number): string {
  let lo = 0;
  let hi = VOCABULARY - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (zipfCumulative[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return `Wort${lo}`;
}

function documentOf(n: number, id = ulid(START + n * CAPTURE_INTERVAL_MS)): NewDocument & { caseNumber: string } {
  const caseNumber = `AZ ${Math.floor(n / DOCS_PER_CASE)}/26`;
  const unit = UNITS[n % UNITS.length]!;
  // A word frequent in another unit and absent from the caller's: a search for it must not read that unit's postings.
  const title = `${zipfWord(random(n, 1))} ${zipfWord(random(n, 2))} Nr ${n}${unit === OTHER_UNIT ? ` ${OTHER_WORD}` : ''}`;
  const record = { id, title, caseNumber, unit, transferNote: { findings: [], review: { status: 'pending' } }, padding: 'x'.repeat(1200) };
  return {
    id,
    unit,
    createdAt: new Date(START + n * CAPTURE_INTERVAL_MS).toISOString(),
    reviewStatus: random(n, 3) < 0.05 ? 'rejected' : 'approved',
    pageCount: 1,
    sizeBytes: 200_000,
    body: Buffer.from(JSON.stringify(record)),
    search: { title, caseNumber },
    caseNumber,
  };
}

/** Processes inserting at once: with the machine shared, one client and one backend would get a small share of its cores. */
const SEEDERS = 4;
/** A shared, loaded machine can take longer than the service's 5 s to open a connection. */
const CONNECT_TIMEOUT_MS = 120_000;

/**
 * Seeds documents [from, to) as the commit writes them (feed position n + 1 for document n), in SEEDERS
 * processes at once; secondary indexes are built once after the load (as a restore does) and foreign
 * keys are not checked per row, so 10^6 takes minutes. Then only the newest wait for review and OCR.
 */
async function seed(db: SqlClient, url: string, from: number, to: number): Promise<void> {
  const { rows: indexes } = await db.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes i WHERE tablename IN ('documents', 'document_words') AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
  );
  for (const { indexname } of indexes) await db.exec(`DROP INDEX ${indexname}`);
  const slice = Math.ceil((to - from) / SEEDERS);
  await Promise.all(
    Array.from({ length: SEEDERS }, async (_, k) => {
      const [start, end] = [from + k * slice, Math.min(to, from + (k + 1) * slice)];
      if (start >= end) return;
      const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--seed-slice', `${url} ${start} ${end}`], { stdio: ['ignore', 'inherit', 'inherit'] });
      const [code] = (await once(child, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`seeding documents ${start}–${end} failed (exit ${code})`);
    }),
  );
  for (const { indexdef } of indexes) await db.exec(indexdef);
  await db.query('UPDATE feed_counter SET last_seq = $1', [to]);
  await db.exec(`UPDATE documents SET review_status = 'approved' WHERE review_status = 'pending'`);
  await db.exec(`UPDATE documents SET text_layer = 'ready' WHERE text_layer = 'pending'`);
  await db.query(`UPDATE documents SET review_status = 'pending' WHERE feed_seq > $1`, [to - REVIEW_BACKLOG]);
  await db.query(`UPDATE documents SET text_layer = 'pending' WHERE feed_seq > $1`, [to - OCR_BACKLOG]);
  // What autovacuum does on its own after inserts (visibility map, statistics), done at once.
  await db.exec('VACUUM ANALYZE documents');
  await db.exec('VACUUM ANALYZE document_words');
}

/** One seeding process's part: documents [from, to), BATCH per statement. */
async function seedSlice(url: string, from: number, to: number): Promise<void> {
  const db = openPostgres(url, { maxConnections: 1, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    for (let start = from; start < to; start += BATCH) {
      const docs = Array.from({ length: Math.min(BATCH, to - start) }, (_, i) => documentOf(start + i));
      const seqs = docs.map((_, i) => start + i + 1);
      await db.transaction(async (tx) => {
        await tx.exec('SET LOCAL session_replication_role = replica');
        await tx.query(
          `INSERT INTO documents (id, feed_seq, unit, created_at, review_status, page_count, size_bytes, case_token, search_key_id, kek_id, sealed, text_layer)
           SELECT *, 'ready' FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::text[], $6::int[], $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bytea[])`,
          [
            docs.map((d) => d.id),
            seqs,
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
        const words = docs.flatMap((d, i) => indexWords(d.search.title).map((w) => [index.token('word', w), d.id, d.unit, seqs[i]!] as const));
        await tx.query('INSERT INTO document_words (token, document_id, unit, feed_seq) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])', [
          words.map((w) => w[0]),
          words.map((w) => w[1]),
          words.map((w) => w[2]),
          words.map((w) => w[3]),
        ]);
      });
    }
  } finally {
    await db.close();
  }
}

/** Median ms per archive of `count` rounds; each round runs once on every archive in turn, so a change of the machine's load hits every size alike. */
async function interleaved(archives: readonly Archive[], run: (archive: Archive) => Promise<unknown>, count = samples): Promise<number[]> {
  const times = archives.map(() => [] as number[]);
  for (let i = 0; i < count; i++) {
    for (const [k, archive] of archives.entries()) {
      const start = process.hrtime.bigint();
      const reported = await run(archive);
      // A run may time itself (the sweep, without its setup).
      times[k]!.push(typeof reported === 'number' ? reported : Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return times.map((t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)]!);
}

/** Every database path of a request, as the use cases call the store (the feed asks for limit + 1 to know `hasMore`). */
const PATHS = ['commit', 'get', 'feed', 'finalFeed', 'caseSearch', 'wordSearch', 'twoWordSearch', 'otherWordSearch', 'statusSearch', 'daySearch'] as const;
type Path = (typeof PATHS)[number];
const LABELS: Record<Path, string> = {
  commit: 'capture commit',
  get: 'get by id = a viewed page',
  feed: 'feed page',
  finalFeed: 'feed page, final=true',
  caseSearch: 'caseNumber',
  wordSearch: 'q, one word',
  twoWordSearch: 'q, two words',
  otherWordSearch: 'q, a word only another unit has',
  statusSearch: 'status=pending',
  daySearch: 'one capture day',
};

/** A client that, while `explaining` names a path, prints the plan of each query before running it. */
let explaining: string | undefined;
function explained(db: SqlClient): SqlClient {
  return {
    transaction: (work) => db.transaction(work),
    close: () => db.close(),
    exec: (text) => db.exec(text),
    async query(text, params) {
      if (explaining) {
        const { rows } = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
        console.error(`[growth] plan of ${explaining}:\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
      }
      return db.query(text, params);
    },
  };
}

/** One database (and object store) per size, seeded once. */
interface Archive {
  size: number;
  db: SqlClient;
  store: MetadataStore;
  objects: FsStore;
  /** Ids spread over the whole table, so reads do not all hit the same few pages. */
  known: string[];
}

async function openArchive(server: PostgresServer, size: number): Promise<Archive> {
  const began = Date.now();
  const url = await server.createDatabase(`growth_${size}`);
  const db = openPostgres(url, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
  await migrate(db);
  const objects = new FsStore(await mkdtemp(path.join(tmpdir(), 'vsc-growth-')));
  await objects.ensureRoot();
  await Promise.all([seed(db, url, 0, size), seedDirectories(objects, 0, size)]);
  const store = new MetadataStore(explained(db), keys, searchKeys);
  const known = (await Promise.all(Array.from({ length: 200 }, () => store.query({ after: Math.floor(Math.random() * size), limit: 1, units: UNITS })))).flat().map((d) => d.id);
  console.error(`[growth] ${size} documents seeded (${((Date.now() - began) / 1000).toFixed(0)} s)`);
  return { size, db, store, objects, known };
}

/** What each path asks the store, for one archive; searches ask for the first page. */
function requests(): Record<Path, (archive: Archive) => Promise<unknown>> {
  const pick = (a: Archive) => Math.floor(Math.random() * a.size);
  const page = (a: Archive, q: Partial<DocumentQuery>) => a.store.query({ after: 0, limit: 101, units: CALLER, ...q });
  const day = (a: Archive) => START + Math.floor(Math.random() * Math.max(1, Math.floor((a.size * CAPTURE_INTERVAL_MS) / DAY_MS))) * DAY_MS;
  return {
    commit: (a) => a.store.commitDocument(documentOf(nextNumber())),
    get: (a) => a.store.document(a.known[Math.floor(Math.random() * a.known.length)]!),
    feed: (a) => page(a, { after: pick(a) }),
    finalFeed: (a) => page(a, { after: pick(a), final: true }),
    caseSearch: (a) => page(a, { units: UNITS, caseNumber: `AZ ${Math.floor(pick(a) / DOCS_PER_CASE)}/26` }),
    // Words that fill a page at every size (the cost of a page depends on how full it is: each row is opened).
    wordSearch: (a) => page(a, { words: zipfWord(Math.random() * 0.18) }),
    twoWordSearch: (a) => page(a, { words: `${zipfWord(Math.random() * 0.18)} Nr` }),
    otherWordSearch: (a) => page(a, { words: OTHER_WORD }),
    statusSearch: (a) => page(a, { status: 'pending' }),
    daySearch: (a) => {
      const from = day(a);
      return page(a, { capturedFrom: new Date(from).toISOString(), capturedTo: new Date(from + DAY_MS).toISOString() });
    },
  };
}

/** The measurement's own commits get numbers above every seeded one. */
let extraNumber = 10_000_000;
const nextNumber = () => extraNumber++;

/**
 * The incremental sweep after `changes` new captures since its last run (half of them committed, half
 * abandoned after their blobs), over an FsStore with one directory per seeded document. Returns ms of one run.
 */
async function sweepAfterChanges({ store, objects }: Archive): Promise<number> {
  // Each run's changes get their own milliseconds, after every earlier run's.
  const since = sweepClock;
  const now = since + changes + 1;
  sweepClock = now + 1;
  // The last run reached here: everything before was examined.
  await objects.put(layout.sweepCursor, Buffer.from(JSON.stringify({ documentsAfter: ulidFloor(since) })));
  for (let i = 0; i < changes; i++) {
    const doc = documentOf(nextNumber(), ulid(since + i));
    await objects.put(layout.rendition(doc.id), Buffer.from('%PDF-1.7 bench'));
    if (i % 2 === 0) await store.commitDocument(doc);
  }
  const idempotency = new IdempotencyKeys(store, 86_400_000, 60_000);
  const uploads = new ObjectUploadStore({ store: objects, ttlMs: 86_400_000, chunkBytes: 1 << 20 });
  const start = process.hrtime.bigint();
  const report = await sweepOrphans({ store: objects, metadata: store, idempotency, uploads, graceMs: 0, now: () => now });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (report.documents !== changes / 2) throw new Error(`the sweep removed ${report.documents} abandoned captures, expected ${changes / 2}`);
  return ms;
}

let sweepClock = Date.now();

/** One (empty) directory per seeded document where the layout puts its blobs, as the listing sees them: the sweep reads none below its cursor. */
async function seedDirectories(objects: FsStore, from: number, to: number): Promise<void> {
  const dirOf = (n: number) => path.join(objects.rootDir, ...layout.documentPrefix(ulid(START + n * CAPTURE_INTERVAL_MS)).split('/'));
  for (let start = from; start < to; start += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, to - start) }, (_, i) => mkdir(dirOf(start + i), { recursive: true })));
  }
}

async function main(): Promise<void> {
  const server = await startPostgres();
  const archives: Archive[] = [];
  const loads: number[] = [];
  try {
    for (const size of sizes) archives.push(await openArchive(server, size));
    const medians: Partial<Record<Path | 'sweep', number[]>> = {};
    const measured = values['sweep-only'] ? [] : (Object.entries(requests()) as [Path, (a: Archive) => Promise<unknown>][]);
    for (const [key, run] of measured) {
      if (values.explain) {
        for (const archive of archives) {
          explaining = `${LABELS[key]} at ${archive.size}`;
          await run(archive);
        }
        explaining = undefined;
      }
      loads.push(loadavg()[0]!);
      medians[key] = await interleaved(archives, run);
    }
    loads.push(loadavg()[0]!);
    medians.sweep = await interleaved(archives, sweepAfterChanges, 5);
    loads.push(loadavg()[0]!);
    const cell = (key: Path | 'sweep', k: number) => `${medians[key]![k]!.toFixed(2)} ms (${(medians[key]![k]! / medians[key]![0]!).toFixed(2)}×)`;
    console.log(`machine: ${availableParallelism()} cores; 1-minute load average during the measurement ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; median of ${measured.length > 0 ? samples : 5} each`);
    console.log(`| path | ${archives.map((a) => a.size.toLocaleString('en')).join(' | ')} |`);
    console.log(`|---|${archives.map(() => '---:').join('|')}|`);
    for (const key of PATHS.filter((k) => medians[k])) console.log(`| ${LABELS[key]} | ${archives.map((_, k) => cell(key, k)).join(' | ')} |`);
    console.log(`| incremental sweep after ${changes} captures (median of 5) | ${archives.map((_, k) => cell('sweep', k)).join(' | ')} |`);
  } finally {
    for (const archive of archives) {
      await archive.db.close();
      await rm(archive.objects.rootDir, { recursive: true, force: true });
    }
    await server.stop();
  }
}

if (values['seed-slice']) {
  const [url, from, to] = values['seed-slice'].split(' ');
  await seedSlice(url!, Number(from), Number(to));
} else {
  await main();
}
