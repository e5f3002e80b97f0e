/**
 * Verifies the audit chain in the database (docs/audit.md): `npm run audit:verify` and the tests call
 * this. From the newest checkpoint whose signature holds (or, `full`, from the first entry) it streams
 * pages by position — a few read ahead in parallel, so memory stays bounded by pages × page size — and
 * reports altered entries, broken links, deleted entries (gaps), a truncated end and forged checkpoints.
 */
import type { JwkSet } from '../keys/ingest-keys.ts';
import type { AuditRow, AuditStore, StoredCheckpoint } from '../metadata/audit-store.ts';
import { openCheckpoint, type Checkpoint } from './checkpoint.ts';
import type { AuditEntry } from './trail.ts';
import { sha256Hex } from '../kernel/hash.ts';

export type ProblemKind = 'altered' | 'broken_link' | 'missing' | 'truncated' | 'forged_checkpoint';

export interface AuditFinding {
  kind: ProblemKind;
  /** The chain position the finding is about. */
  seq: number;
  entryId?: string;
  documentId?: string;
  message: string;
}

export interface AuditReport {
  ok: boolean;
  mode: 'incremental' | 'full';
  /** The checkpoint verification started from (incremental), or null (from the first entry). */
  from: Checkpoint | null;
  /** Entries read and checked. */
  entries: number;
  /** The newest stored position and its hash: record them outside the database to detect later truncation too. */
  head: { seq: number; hash: string | null };
  /** Tampering (or loss), by position; `problems[0]` is the first. */
  problems: AuditFinding[];
}

export type AuditSource = Pick<AuditStore, 'rows' | 'documentHeadsBefore' | 'extent' | 'checkpointsBefore' | 'checkpointsIn'>;

export interface VerifyOptions {
  full?: boolean;
  /** Public keys the checkpoints must be signed with (the manifest key's). */
  jwks: JwkSet;
  pageSize?: number;
  /** Pages read ahead while one is checked. */
  parallel?: number;
}

const PAGE_SIZE = 1000;
const PARALLEL = 4;
/** A report lists at most this many problems (the first ones): the count stays exact. */
const MAX_LISTED = 1000;

export async function verifyAuditTrail(source: AuditSource, options: VerifyOptions): Promise<AuditReport> {
  const problems = new Problems();
  const extent = await source.extent();
  const start = options.full ? null : await newestValidCheckpoint(source, options.jwks, problems);
  const state: ChainState = { expected: (start?.seq ?? 0) + 1, prevHash: start?.hash ?? null, lastSeq: start?.seq ?? 0, lastHash: start?.hash ?? null, entries: 0 };
  if (start) await checkAnchor(source, start, problems);
  const end = Math.max(extent.counterSeq, extent.maxSeq);
  for await (const page of pages(source, state.lastSeq, end, options.pageSize ?? PAGE_SIZE, options.parallel ?? PARALLEL)) {
    await checkPage(source, page, state, problems);
    if (options.full) await checkCheckpointsOf(source, page, options.jwks, problems);
  }
  if (options.full) await checkCheckpointsAfter(source, state.lastSeq, options.jwks, problems);
  if (state.expected <= extent.counterSeq) {
    problems.add({ kind: 'truncated', seq: state.expected, message: `entries ${state.expected}–${extent.counterSeq} were written (the counter says so) but are gone: the end of the chain was cut off` });
  } else if (state.lastSeq === extent.counterSeq && extent.counterHash !== state.lastHash && state.entries > 0) {
    problems.add({ kind: 'altered', seq: state.lastSeq, message: `the newest entry ${state.lastSeq} does not hash to what the counter recorded` });
  }
  if (extent.maxSeq > extent.counterSeq) {
    problems.add({ kind: 'altered', seq: extent.counterSeq + 1, message: `entries after ${extent.counterSeq} exist that the counter never handed out: inserted` });
  }
  return {
    ok: problems.count === 0,
    mode: options.full ? 'full' : 'incremental',
    from: start,
    entries: state.entries,
    head: { seq: state.lastSeq, hash: state.lastHash },
    problems: problems.sorted(),
  };
}

interface ChainState {
  /** The next position the chain must have. */
  expected: number;
  /** Hash of the entry at `expected - 1`, or null when it is missing (or there is none). */
  prevHash: string | null;
  lastSeq: number;
  lastHash: string | null;
  entries: number;
}

class Problems {
  count = 0;
  private readonly listed: AuditFinding[] = [];
  add(finding: AuditFinding): void {
    this.count++;
    if (this.listed.length < MAX_LISTED) this.listed.push(finding);
  }
  sorted(): AuditFinding[] {
    return [...this.listed].sort((a, b) => a.seq - b.seq);
  }
}

/** The newest checkpoint whose signature holds; every newer one that does not is a forgery. */
async function newestValidCheckpoint(source: AuditSource, jwks: JwkSet, problems: Problems): Promise<Checkpoint | null> {
  let before: number | undefined;
  for (;;) {
    const batch = await source.checkpointsBefore(before, 100);
    if (batch.length === 0) return null;
    for (const stored of batch) {
      const checkpoint = await validCheckpoint(stored, jwks, problems);
      if (checkpoint) return checkpoint;
    }
    before = batch.at(-1)!.seq;
  }
}

async function validCheckpoint(stored: StoredCheckpoint, jwks: JwkSet, problems: Problems): Promise<Checkpoint | undefined> {
  const checkpoint = await openCheckpoint(stored.jws, jwks);
  if (checkpoint && checkpoint.seq === stored.seq) return checkpoint;
  problems.add({ kind: 'forged_checkpoint', seq: stored.seq, message: `the checkpoint at entry ${stored.seq} is not signed by the manifest key (or names another entry): forged or altered` });
  return undefined;
}

/** The entry a checkpoint names must still be there, with the hash it signed. */
async function checkAnchor(source: AuditSource, checkpoint: Checkpoint, problems: Problems): Promise<void> {
  const [row] = await source.rows(checkpoint.seq - 1, checkpoint.seq);
  if (!row) {
    problems.add({ kind: 'truncated', seq: checkpoint.seq, message: `entry ${checkpoint.seq}, signed in the checkpoint of ${checkpoint.at}, is gone: entries were deleted` });
  } else if (row.bytes instanceof Error || sha256Hex(row.bytes) !== checkpoint.hash) {
    problems.add({ kind: 'altered', seq: row.seq, entryId: row.id, documentId: row.documentId, message: `entry ${row.seq} differs from the hash its checkpoint of ${checkpoint.at} signed` });
  }
}

/** Pages of rows `after < seq <= end`, in order, with up to `parallel` reads in flight. */
async function* pages(source: AuditSource, after: number, end: number, size: number, parallel: number): AsyncGenerator<AuditRow[]> {
  const inFlight: Array<Promise<AuditRow[]>> = [];
  let next = after;
  const fill = () => {
    while (inFlight.length < parallel && next < end) {
      const from = next;
      next = Math.min(end, from + size);
      inFlight.push(source.rows(from, next));
    }
  };
  fill();
  while (inFlight.length > 0) {
    const page = await inFlight.shift()!;
    fill();
    yield page;
  }
}

async function checkPage(source: AuditSource, page: AuditRow[], state: ChainState, problems: Problems): Promise<void> {
  if (page.length === 0) return;
  const firsts = [...new Set(page.map((r) => r.documentId))];
  const docHeads = await source.documentHeadsBefore(firsts, page[0]!.seq);
  for (const row of page) {
    if (row.seq > state.expected) {
      const range = row.seq - 1 === state.expected ? `${state.expected}` : `${state.expected}–${row.seq - 1}`;
      problems.add({ kind: 'missing', seq: state.expected, message: `entry ${range} was deleted from the middle of the chain` });
      state.prevHash = null;
    }
    const hash = checkRow(row, state.prevHash, docHeads, problems);
    docHeads.set(row.documentId, row.hash);
    state.expected = row.seq + 1;
    state.prevHash = hash;
    state.lastSeq = row.seq;
    state.lastHash = row.hash;
    state.entries++;
  }
}

/** One entry: it opens, agrees with its plain columns, and links to its predecessors. Its hash, or null when it cannot be trusted. */
function checkRow(row: AuditRow, prevHash: string | null, docHeads: Map<string, string | null>, problems: Problems): string | null {
  const at = { seq: row.seq, entryId: row.id, documentId: row.documentId };
  if (row.bytes instanceof Error) {
    problems.add({ kind: 'altered', ...at, message: `entry ${row.seq} (${row.id}) fails decryption: altered in the database` });
    return null;
  }
  const hash = sha256Hex(row.bytes);
  let entry: AuditEntry;
  try {
    entry = JSON.parse(row.bytes.toString('utf8')) as AuditEntry;
  } catch {
    problems.add({ kind: 'altered', ...at, message: `entry ${row.seq} (${row.id}) is no entry` });
    return null;
  }
  if (hash !== row.hash || !agrees(entry, row)) {
    problems.add({ kind: 'altered', ...at, message: `entry ${row.seq} (${row.id}): its stored columns and its sealed content differ` });
    return null;
  }
  // After a deleted or altered predecessor, that one is the finding.
  if (prevHash !== null && entry.prev !== prevHash) {
    problems.add({ kind: 'broken_link', ...at, message: `entry ${row.seq} (${row.id}) does not name its predecessor's hash: the chain is broken here` });
  } else if (row.seq === 1 && entry.prev !== null) {
    problems.add({ kind: 'broken_link', ...at, message: `entry 1 (${row.id}) names a predecessor` });
  }
  const docHead = docHeads.get(row.documentId);
  if (docHead !== undefined && entry.prevDoc !== docHead) {
    problems.add({ kind: 'broken_link', ...at, message: `entry ${row.seq} (${row.id}) does not name the previous entry of document ${row.documentId}` });
  }
  return hash;
}

function agrees(entry: AuditEntry, row: AuditRow): boolean {
  return (
    entry.v === 2 &&
    entry.seq === row.seq &&
    entry.id === row.id &&
    entry.at === row.at &&
    entry.documentId === row.documentId &&
    entry.unit === row.unit &&
    entry.type === row.type &&
    entry.prev === row.prevHash &&
    entry.prevDoc === row.prevDocHash
  );
}

/** `full`: every checkpoint in the page's range is signed and names its entry's hash. */
async function checkCheckpointsOf(source: AuditSource, page: AuditRow[], jwks: JwkSet, problems: Problems): Promise<void> {
  if (page.length === 0) return;
  const hashes = new Map(page.map((r) => [r.seq, r.bytes instanceof Error ? null : sha256Hex(r.bytes)]));
  for (const stored of await source.checkpointsIn(page[0]!.seq - 1, page.at(-1)!.seq)) {
    const checkpoint = await validCheckpoint(stored, jwks, problems);
    if (checkpoint && hashes.has(checkpoint.seq) && hashes.get(checkpoint.seq) !== checkpoint.hash) {
      problems.add({ kind: 'altered', seq: checkpoint.seq, message: `entry ${checkpoint.seq} differs from the hash its checkpoint of ${checkpoint.at} signed` });
    }
  }
}

/** `full`: a signed checkpoint beyond the newest stored entry names entries that were deleted since. */
async function checkCheckpointsAfter(source: AuditSource, lastSeq: number, jwks: JwkSet, problems: Problems): Promise<void> {
  for (const stored of await source.checkpointsIn(lastSeq, Number.MAX_SAFE_INTEGER)) {
    const checkpoint = await validCheckpoint(stored, jwks, problems);
    if (checkpoint) problems.add({ kind: 'truncated', seq: checkpoint.seq, message: `entry ${checkpoint.seq}, signed in the checkpoint of ${checkpoint.at}, is gone: entries were deleted` });
  }
}
