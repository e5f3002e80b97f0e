/**
 * The audit trail with two service instances appending to one store at once, and what verification
 * makes of entries deleted or altered in storage: through verifyAuditTrail and `npm run audit:verify`.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditTrail, parseEntry, type AuditEvent, type HashedEntry } from '../../src/audit/trail.ts';
import { verifyAuditTrail, type AuditReport } from '../../src/audit/verify.ts';
import { FsStore } from '../../src/storage/fs-store.ts';
import { layout } from '../../src/storage/layout.ts';
import { attachCapture, pdfWithText } from '../support/capture-fixtures.ts';
import { GatedStore } from '../support/gated-store.ts';
import { openapiAgent, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const UNIT = 'BA-Nord';
const VERIFY_CLI = fileURLToPath(new URL('../../src/cli/audit-verify.ts', import.meta.url));

describe('audit trail written by two instances on one store', () => {
  let first: TestApp;
  let second: TestApp;
  let agents: OpenApiAgent[];
  /** The store's ciphertext, as someone with storage access but without the keys sees it. */
  let raw: FsStore;
  let entries: HashedEntry[];
  let ids: string[];
  const ACTIONS = 36;

  beforeAll(async () => {
    first = await startTestApp();
    second = await startTestApp({}, { sharing: first });
    agents = [openapiAgent(first.app), openapiAgent(second.app)];
    raw = new FsStore(path.join(first.dataDir, 'objects'));
    const capturer = await first.token({ sub: 'cap', roles: ['capture'], units: [UNIT] });
    const worker = await first.token({ sub: 'arch', roles: ['export', 'read'], units: [UNIT] });
    ids = [];
    for (const title of ['Eins', 'Zwei']) {
      const res = await attachCapture(agents[0]!.post('/v1/documents').set('Authorization', `Bearer ${capturer}`), { title }, [
        { body: await pdfWithText(title), contentType: 'application/pdf' },
      ]).expect(201);
      ids.push(res.body.id);
    }
    // Exports, manifests and view tickets on the same documents through both instances at once.
    const paths = ['content', 'manifest', 'views'];
    await Promise.all(
      Array.from({ length: ACTIONS }, (_, i) => {
        const agent = agents[i % 2]!;
        const url = `/v1/documents/${ids[i % ids.length]}/${paths[i % paths.length]}`;
        const req = paths[i % paths.length] === 'views' ? agent.post(url) : agent.get(url);
        return req.set('Authorization', `Bearer ${worker}`).expect((res) => expect(res.status).toBeLessThan(300));
      }),
    );
    entries = await Promise.all((await first.deps.store.list({ prefix: layout.auditLogPrefix })).map(async (o) => parseEntry(await first.deps.store.getBuffer(o.key))));
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('loses no entry and reports no tampering, with one chain per instance', async () => {
    const report = await verifyAuditTrail(first.deps.store);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.entries).toBe(ids.length + ACTIONS);
    expect(report.writers).toBe(2);
    expect(report.documents).toBe(2);
    expect(report.notes.every((n) => n.kind === 'fork')).toBe(true);
  });

  /** Runs `check` with one entry's stored objects tampered with, then puts the ciphertext back. */
  async function tampered(entry: HashedEntry, tamper: () => Promise<void>, check: (report: AuditReport) => void | Promise<void>): Promise<void> {
    const keys = [layout.auditEntry(entry.id), layout.auditDocumentEntry(entry.documentId, entry.id)];
    const saved = await Promise.all(keys.map((k) => raw.getBuffer(k)));
    try {
      await tamper();
      await check(await verifyAuditTrail(first.deps.store));
    } finally {
      await Promise.all(keys.map((k, i) => raw.put(k, saved[i]!)));
    }
  }

  /** An entry in the middle of its writer's chain. */
  function middleEntry(): HashedEntry {
    const entry = entries.find((e) => e.seq === 5);
    if (!entry) throw new Error('no writer wrote 5 entries');
    return entry;
  }

  it('detects an entry deleted from the global log at that entry', async () => {
    const entry = middleEntry();
    await tampered(entry, () => raw.delete(layout.auditEntry(entry.id)), (report) => {
      expect(report.ok).toBe(false);
      expect(report.problems[0]).toMatchObject({ kind: 'missing', entryId: entry.id, writer: entry.writer, seq: 5 });
    });
  });

  it('detects an entry deleted from both places at its position in the writer chain', async () => {
    const entry = middleEntry();
    await tampered(
      entry,
      async () => {
        await raw.delete(layout.auditEntry(entry.id));
        await raw.delete(layout.auditDocumentEntry(entry.documentId, entry.id));
      },
      (report) => expect(report.problems[0]).toMatchObject({ kind: 'missing', writer: entry.writer, seq: 5 }),
    );
  });

  it('detects an entry rewritten by someone holding the storage keys at that entry', async () => {
    const entry = middleEntry();
    const { hash: _hash, ...stored } = entry;
    const forged = Buffer.from(JSON.stringify({ ...stored, actor: { sub: 'someone-else' } }));
    await tampered(
      entry,
      async () => {
        await first.deps.store.put(layout.auditEntry(entry.id), forged);
        await first.deps.store.put(layout.auditDocumentEntry(entry.documentId, entry.id), forged);
      },
      (report) => expect(report.problems[0]).toMatchObject({ kind: 'broken_link', entryId: entry.id }),
    );
  });

  it('detects altered ciphertext at that entry, and the CLI exits 1 naming it', async () => {
    const entry = middleEntry();
    const key = layout.auditEntry(entry.id);
    const ciphertext = await raw.getBuffer(key);
    const flipped = Buffer.from(ciphertext);
    flipped[flipped.length - 20]! ^= 1;
    await tampered(entry, () => raw.put(key, flipped), async (report) => {
      expect(report.problems[0]).toMatchObject({ kind: 'unreadable', entryId: entry.id });
      const cli = await runVerify(first.dataDir);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain(`BROKEN at entry ${entry.id}`);
    });
    const intact = await runVerify(first.dataDir);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/intact/);
  });
});

describe('AuditTrail appends racing on one document', () => {
  it('forks the document chain, which verification reports as a fork, not as tampering', async () => {
    const t = await startTestApp();
    try {
      const gated = new GatedStore(t.deps.store);
      const a = new AuditTrail({ store: gated, settleMs: 0 });
      const b = new AuditTrail({ store: t.deps.store, settleMs: 0 });
      const event: AuditEvent = { type: 'page_viewed', documentId: '01JD3Z0J3T3X4Q8V5N2M7K9R6S', unit: UNIT, actor: { sub: 'r' }, details: { page: 1 } };
      const start = await b.append(event);
      const held = gated.hold((key) => key.startsWith(layout.auditDocumentsPrefix));
      const racing = a.append(event);
      await held.reached;
      const other = await b.append(event);
      held.release();
      const raced = await racing;
      expect(raced.prevDoc).toBe(start.hash);
      expect(other.prevDoc).toBe(start.hash);
      const report = await verifyAuditTrail(t.deps.store);
      expect(report.problems).toEqual([]);
      expect(report.notes).toEqual([expect.objectContaining({ kind: 'fork', position: expect.any(String) })]);
      // The next append joins the branches' newest entry, so the trail goes on from there.
      expect((await a.append(event)).prevDoc).toBe([raced, other].sort((x, y) => x.id.localeCompare(y.id)).at(-1)!.hash);
    } finally {
      await t.close();
    }
  });
});

function runVerify(dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', VERIFY_CLI], { env: { ...process.env, NODE_ENV: 'test', DATA_DIR: dataDir } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
