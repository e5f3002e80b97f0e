/**
 * The audit trail in the database, written by two service instances at once, and what
 * `npm run audit:verify` (a process of its own, as an operator runs it) makes of rows altered,
 * re-chained, deleted from the middle, cut off at the end, and of a forged checkpoint.
 */
import { exportJWK, generateKeyPair } from 'jose';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointSigner } from '../../src/audit/checkpoint.ts';
import type { AuditEntry } from '../../src/audit/trail.ts';
import { sha256Hex } from '../../src/kernel/hash.ts';
import { encryptObject } from '../../src/crypto/at-rest.ts';
import { STORAGE_KEY_RING } from '../../src/keys/kek-ring.ts';
import { loadKey } from '../../src/keys/key-source.ts';
import { binding } from '../../src/metadata/audit-store.ts';
import { auditReport, runAuditVerify } from '../support/audit-verify.ts';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { openapiAgent, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';

const UNIT = 'BA-Nord';
/** A checkpoint every 10 entries: the 38 entries below have them at 10, 20 and 30. */
const EVERY = 10;
const ACTIONS = 36;
const TOTAL = 2 + ACTIONS;

describe('audit trail in the database, two instances, verified by npm run audit:verify', () => {
  let first: TestApp;
  let second: TestApp;
  let agents: OpenApiAgent[];
  let db: pg.Client;
  let auditor: string;
  let ids: string[];

  beforeAll(async () => {
    first = await startTestApp({ AUDIT_CHECKPOINT_ENTRIES: String(EVERY) });
    second = await startTestApp({ AUDIT_CHECKPOINT_ENTRIES: String(EVERY) }, { sharing: first });
    agents = [openapiAgent(first.app), openapiAgent(second.app)];
    const capturer = await first.token({ sub: 'cap', roles: ['capture'], units: [UNIT] });
    const worker = await first.token({ sub: 'arch', roles: ['export', 'read'], units: [UNIT] });
    auditor = await first.token({ sub: 'aud', roles: ['audit'], units: [UNIT] });
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
    db = new pg.Client({ connectionString: first.databaseUrl });
    await db.connect();
    // What every test starts from; each puts it back.
    await db.query(`CREATE TABLE saved_events AS SELECT * FROM audit_events;
      CREATE TABLE saved_checkpoints AS SELECT * FROM audit_checkpoints;
      CREATE TABLE saved_counter AS SELECT * FROM audit_counter`);
  });
  afterEach(async () => {
    await db.query(`BEGIN;
      DELETE FROM audit_events; INSERT INTO audit_events SELECT * FROM saved_events;
      DELETE FROM audit_checkpoints; INSERT INTO audit_checkpoints SELECT * FROM saved_checkpoints;
      UPDATE audit_counter SET last_seq = s.last_seq, last_hash = s.last_hash FROM saved_counter s;
      COMMIT`);
  });
  afterAll(async () => {
    await db?.end();
    await second?.close();
    await first?.close();
  });

  it('keeps one gap-free chain in commit order, with each document linked to its previous entry', async () => {
    const feed = await agents[1]!.get(`/v1/audit?limit=1000`).set('Authorization', `Bearer ${auditor}`).expect(200);
    const entries = feed.body.items as Array<AuditEntry & { hash: string }>;
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.prev).toBe(entries[i - 1]!.hash);
    for (const id of ids) {
      const trail = (await agents[0]!.get(`/v1/documents/${id}/audit`).set('Authorization', `Bearer ${auditor}`).expect(200)).body.entries as Array<AuditEntry & { hash: string }>;
      expect(trail[0]).toMatchObject({ type: 'captured', prevDoc: null });
      for (let i = 1; i < trail.length; i++) expect(trail[i]!.prevDoc).toBe(trail[i - 1]!.hash);
    }
    expect((await db.query('SELECT seq FROM audit_checkpoints ORDER BY seq')).rows.map((r) => Number(r.seq))).toEqual([10, 20, 30]);
  });

  it('verifies from the newest checkpoint by default and everything with --full', async () => {
    const incremental = await auditReport(first);
    expect(incremental).toMatchObject({ code: 0, ok: true, mode: 'incremental', from: { seq: 30 }, entries: TOTAL - 30, head: { seq: TOTAL } });
    const full = await auditReport(first, ['--full']);
    expect(full).toMatchObject({ code: 0, ok: true, mode: 'full', from: null, entries: TOTAL, problems: [] });
    const text = await runAuditVerify(first);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`intact; head #${TOTAL}`);
  });

  it('detects altered sealed content at that entry, and the CLI exits 1 naming it', async () => {
    await db.query('UPDATE audit_events SET sealed = set_byte(sealed, length(sealed) - 20, get_byte(sealed, length(sealed) - 20) # 1) WHERE seq = 35');
    const run = await runAuditVerify(first);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^BROKEN at entry 35 \([0-9A-Z]{26}\): \[altered\]/m);
  });

  it('detects with --full an altered entry older than the newest checkpoint', async () => {
    await db.query(`UPDATE audit_events SET unit = 'BA-Sued' WHERE seq = 5`);
    expect((await auditReport(first, ['--full'])).problems[0]).toMatchObject({ kind: 'altered', seq: 5 });
  });

  it('detects an entry rewritten by someone holding the keys as a broken link at its successor', async () => {
    const keys = await loadKey({ devDataDir: first.dataDir }, STORAGE_KEY_RING);
    const { rows } = await db.query<{ id: string; hash: string }>('SELECT id, hash FROM audit_events WHERE seq = 33');
    const [entry] = (await agents[0]!.get(`/v1/audit?limit=1000`).set('Authorization', `Bearer ${auditor}`).expect(200)).body.items.filter((e: AuditEntry) => e.seq === 33) as Array<AuditEntry & { hash?: string }>;
    const { hash: _hash, ...stored } = entry!;
    const forged = Buffer.from(JSON.stringify({ ...stored, actor: { sub: 'someone-else' } }));
    await db.query('UPDATE audit_events SET sealed = $1, hash = $2 WHERE seq = 33', [encryptObject(forged, binding(33, rows[0]!.id), keys.active), sha256Hex(forged)]);
    const report = await auditReport(first);
    expect(report.code).toBe(1);
    expect(report.problems[0]).toMatchObject({ kind: 'broken_link', seq: 34 });
  });

  it('detects an entry deleted from the middle as a gap at its position', async () => {
    await db.query('DELETE FROM audit_events WHERE seq = 34');
    const report = await auditReport(first);
    expect(report.code).toBe(1);
    expect(report.problems[0]).toMatchObject({ kind: 'missing', seq: 34 });
  });

  it('detects the newest entries cut off, also when the counter was wound back to hide it', async () => {
    await db.query('DELETE FROM audit_events WHERE seq > 36');
    expect((await auditReport(first)).problems[0]).toMatchObject({ kind: 'truncated', seq: 37 });
    // Back to before the newest checkpoint, the counter too: the checkpoint still names entry 30.
    await db.query(`BEGIN; DELETE FROM audit_events WHERE seq > 27;
      UPDATE audit_counter SET last_seq = 27, last_hash = (SELECT hash FROM audit_events WHERE seq = 27); COMMIT`);
    const run = await runAuditVerify(first);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^BROKEN at entry 30: \[truncated\]/m);
  });

  it('detects a forged checkpoint and verifies from the newest genuine one', async () => {
    const other = await generateKeyPair('ES384', { extractable: true });
    const sign = await createCheckpointSigner(await exportJWK(other.privateKey), 'not-the-manifest-key');
    // A forger's checkpoint at the newest entry, to make verification skip everything before it.
    const { rows } = await db.query<{ hash: string }>(`SELECT hash FROM audit_events WHERE seq = ${TOTAL}`);
    const jws = await sign({ seq: TOTAL, hash: rows[0]!.hash, at: new Date().toISOString() });
    await db.query('INSERT INTO audit_checkpoints (seq, at, jws) VALUES ($1, now(), $2)', [TOTAL, jws]);
    const report = await auditReport(first);
    expect(report).toMatchObject({ code: 1, from: { seq: 30 }, entries: TOTAL - 30 });
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'forged_checkpoint', seq: TOTAL })]);
  });
});

describe('audit checkpoints on a quiet trail', () => {
  it('signs the newest entry every AUDIT_CHECKPOINT_MINUTES, so verification starts there', async () => {
    // 30 ms: the timer fires while the test waits; every 1,000 entries would never come.
    const t = await startTestApp({ AUDIT_CHECKPOINT_MINUTES: '0.0005' });
    try {
      const capturer = await t.token({ sub: 'cap', roles: ['capture'], units: [UNIT] });
      await attachCapture(openapiAgent(t.app).post('/v1/documents').set('Authorization', `Bearer ${capturer}`), { title: 'Ruhig' }, [
        { body: await pdfWithText('Ruhig'), contentType: 'application/pdf' },
      ]).expect(201);
      const db = new pg.Client({ connectionString: t.databaseUrl });
      await db.connect();
      try {
        // Waits for the timer's checkpoint (an event in the database), however loaded the machine is.
        while ((await db.query('SELECT 1 FROM audit_checkpoints WHERE seq = 1')).rows.length === 0) await new Promise((r) => setTimeout(r, 20));
      } finally {
        await db.end();
      }
      expect(await auditReport(t)).toMatchObject({ code: 0, ok: true, from: { seq: 1 }, entries: 0, head: { seq: 1 } });
    } finally {
      await t.close();
    }
  });
});
