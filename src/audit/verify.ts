/**
 * Recomputes the audit trail's hash chains from the store and reports every broken link
 * (docs/audit.md): `npm run audit:verify` and the tests call this.
 */
import type { ObjectStore } from '../storage/object-store.ts';
import { layout } from '../storage/layout.ts';
import { keysUnder, parseEntry, type HashedEntry } from './trail.ts';

export type ProblemKind = 'unreadable' | 'missing' | 'altered' | 'broken_link';

export interface AuditFinding {
  kind: ProblemKind | 'fork' | 'unconfirmed';
  message: string;
  entryId?: string;
  documentId?: string;
  writer?: string;
  seq?: number;
  /** Sort key: the entry's id, or for a missing entry its predecessor's id followed by '+'. */
  position: string;
}

export interface AuditReport {
  ok: boolean;
  entries: number;
  writers: number;
  documents: number;
  /** Tampering (or loss), oldest position first; `problems[0]` is the first broken link. */
  problems: AuditFinding[];
  /** Not tampering: forks of concurrent appends, and copies whose append was interrupted before the global log. */
  notes: AuditFinding[];
  /** The newest entry of every writer: anchor these outside the store to make truncation detectable too. */
  heads: Array<{ writer: string; seq: number; id: string; hash: string }>;
}

interface Read {
  entries: Map<string, HashedEntry>;
  problems: AuditFinding[];
}

export async function verifyAuditTrail(store: ObjectStore): Promise<AuditReport> {
  const problems: AuditFinding[] = [];
  const notes: AuditFinding[] = [];
  const global = await readAll(store, layout.auditLogPrefix, (key) => ({ id: key.slice(layout.auditLogPrefix.length) }));
  const copies = await readAll(store, layout.auditDocumentsPrefix, (key) => {
    const [documentId, id] = key.slice(layout.auditDocumentsPrefix.length).split('/') as [string, string];
    return { id, documentId };
  });
  problems.push(...global.problems, ...copies.problems);

  const docOnly = compareCopies(global.entries, copies.entries, problems);
  const writers = checkWriterChains(global.entries, docOnly, problems, notes);
  const documents = checkDocumentChains([...global.entries.values(), ...docOnly.values()], problems, notes);
  problems.sort((a, b) => a.position.localeCompare(b.position));
  return {
    ok: problems.length === 0,
    entries: global.entries.size,
    writers: writers.length,
    documents,
    problems,
    notes,
    heads: writers,
  };
}

/** Reads every entry under a prefix; one that fails decryption or names another place than its key is a problem. */
async function readAll(store: ObjectStore, prefix: string, expected: (key: string) => { id: string; documentId?: string }): Promise<Read> {
  const entries = new Map<string, HashedEntry>();
  const problems: AuditFinding[] = [];
  for (const key of await keysUnder(store, prefix)) {
    const { id, documentId } = expected(key);
    let entry: HashedEntry;
    try {
      entry = parseEntry(await store.getBuffer(key));
    } catch {
      problems.push({ kind: 'unreadable', message: `${key} fails decryption or parsing: altered in storage`, entryId: id, position: id });
      continue;
    }
    if (entry.id !== id || (documentId !== undefined && entry.documentId !== documentId)) {
      problems.push({ kind: 'altered', message: `${key} holds entry ${entry.id} of ${entry.documentId}: moved or altered`, entryId: id, position: id });
      continue;
    }
    entries.set(id, entry);
  }
  return { entries, problems };
}

/** Each document copy must equal its global entry and each global entry must have its copy; returns copies not in the log. */
function compareCopies(global: Map<string, HashedEntry>, copies: Map<string, HashedEntry>, problems: AuditFinding[]): Map<string, HashedEntry> {
  const docOnly = new Map<string, HashedEntry>();
  for (const [id, copy] of copies) {
    const logged = global.get(id);
    if (!logged) docOnly.set(id, copy);
    else if (logged.hash !== copy.hash) {
      problems.push({ kind: 'altered', message: `entry ${id}: the document copy and the global log differ`, entryId: id, documentId: copy.documentId, position: id });
    }
  }
  for (const [id, entry] of global) {
    if (!copies.has(id)) {
      problems.push({ kind: 'missing', message: `entry ${id} is missing from the trail of document ${entry.documentId}`, entryId: id, documentId: entry.documentId, position: id });
    }
  }
  return docOnly;
}

/** Every writer's chain: seq 1, 2, 3 … each naming its predecessor's hash. Returns the heads. */
function checkWriterChains(global: Map<string, HashedEntry>, docOnly: Map<string, HashedEntry>, problems: AuditFinding[], notes: AuditFinding[]) {
  const heads: AuditReport['heads'] = [];
  const copiesOf = groupBy(docOnly.values(), (e) => e.writer, (e) => e.seq);
  for (const [writer, bySeq] of groupBy(global.values(), (e) => e.writer, (e) => e.seq)) {
    const max = largest(bySeq.keys());
    let previous: HashedEntry[] = [];
    for (let seq = 1; seq <= max; seq++) {
      const here = bySeq.get(seq) ?? [];
      if (here.length === 0) {
        const copy = copiesOf.get(writer)?.get(seq)?.[0];
        const after = previous[0]?.id ?? '';
        problems.push({
          kind: 'missing',
          message: `writer ${writer} entry ${seq}${copy ? ` (${copy.id})` : ''} was deleted from the global log`,
          writer,
          seq,
          ...(copy ? { entryId: copy.id, documentId: copy.documentId } : {}),
          position: copy?.id ?? `${after}+`,
        });
      }
      if (here.length > 1) notes.push(fork(`writer ${writer} entry ${seq}`, here));
      // After a gap the link is already reported as the missing entry.
      const linked = seq === 1 || bySeq.has(seq - 1);
      if (linked) for (const entry of here) checkLink(entry, entry.prev, seq === 1 ? null : previous, 'writer chain', problems);
      if (here.length > 0) previous = here;
    }
    const head = (bySeq.get(max) ?? [])[0]!;
    heads.push({ writer, seq: max, id: head.id, hash: head.hash });
    for (const copy of [...(copiesOf.get(writer)?.values() ?? [])].flat()) {
      if (copy.seq > max || bySeq.has(copy.seq)) {
        notes.push({ kind: 'unconfirmed', message: `entry ${copy.id} is in its document trail only: an append interrupted before the global log`, entryId: copy.id, writer, seq: copy.seq, position: copy.id });
      }
    }
  }
  return heads;
}

/** Every document's entries each name the hash of an earlier entry of that document (forks allowed). */
function checkDocumentChains(entries: HashedEntry[], problems: AuditFinding[], notes: AuditFinding[]): number {
  const byDocument = groupBy(entries, (e) => e.documentId, (e) => e.prevDoc ?? '');
  for (const byPrev of byDocument.values()) {
    const all = [...byPrev.values()].flat();
    for (const [prevDoc, successors] of byPrev) {
      if (successors.length > 1) notes.push(fork(`document ${successors[0]!.documentId} after ${prevDoc || 'its start'}`, successors));
      for (const entry of successors) checkLink(entry, entry.prevDoc, prevDoc === '' ? null : all, 'document trail', problems);
    }
  }
  return byDocument.size;
}

/** `recorded` must be null exactly when there is no predecessor, else the hash of one of `candidates`. */
function checkLink(entry: HashedEntry, recorded: string | null, candidates: HashedEntry[] | null, chain: string, problems: AuditFinding[]): void {
  if (candidates === null) {
    if (recorded !== null) problems.push(brokenLink(entry, `names a predecessor in the ${chain} at its start`, entry.id));
    return;
  }
  if (recorded === null) {
    if (chain === 'writer chain') problems.push(brokenLink(entry, 'names no predecessor in the writer chain', entry.id));
    return;
  }
  if (candidates.some((c) => c.hash === recorded)) return;
  // One candidate: it no longer hashes to what its successor recorded, so it is the altered one.
  const culprit = candidates.length === 1 && chain === 'writer chain' ? candidates[0]! : entry;
  problems.push(
    brokenLink(
      culprit,
      culprit === entry
        ? `its predecessor in the ${chain} (${recorded.slice(0, 12)}…) was deleted or altered`
        : `does not match the hash its successor ${entry.id} recorded: altered`,
      culprit.id,
    ),
  );
}

function brokenLink(entry: HashedEntry, what: string, position: string): AuditFinding {
  return { kind: 'broken_link', message: `entry ${entry.id} ${what}`, entryId: entry.id, documentId: entry.documentId, writer: entry.writer, seq: entry.seq, position };
}

function fork(where: string, entries: HashedEntry[]): AuditFinding {
  return { kind: 'fork', message: `${where}: ${entries.length} concurrent entries (${entries.map((e) => e.id).join(', ')})`, position: entries[0]!.id };
}

/** A loop, not `Math.max(...keys)`: spreading 10^5 arguments overflows the stack. */
function largest(values: Iterable<number>): number {
  let max = 0;
  for (const value of values) if (value > max) max = value;
  return max;
}

function groupBy<K1, K2>(entries: Iterable<HashedEntry>, outer: (e: HashedEntry) => K1, inner: (e: HashedEntry) => K2): Map<K1, Map<K2, HashedEntry[]>> {
  const groups = new Map<K1, Map<K2, HashedEntry[]>>();
  for (const entry of entries) {
    const group = groups.get(outer(entry)) ?? new Map<K2, HashedEntry[]>();
    groups.set(outer(entry), group);
    const list = group.get(inner(entry));
    if (list) list.push(entry);
    else group.set(inner(entry), [entry]);
  }
  return groups;
}
