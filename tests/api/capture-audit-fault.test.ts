/**
 * A committed document always has its `captured` audit entry, and no entry names a document that
 * never appeared: a database connection lost exactly when that entry is written in the commit (or
 * when the document row is, or a blob store fault before the commit) fails the capture with 503,
 * and the client's retry with the same Idempotency-Key ends with one listed document whose trail
 * holds exactly one `captured` entry.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { layout } from '../../src/storage/layout.ts';
import { attachCapture, pdfWithText } from '../../testkit/capture-fixtures.ts';
import { dropConnectionAtNextInsert } from '../../testkit/database.ts';
import { GatedStore } from '../support/gated-store.ts';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

const UNIT = 'BA-Fault';

describe('the captured audit entry under storage faults', () => {
  let gated!: GatedStore;
  const t = withTestApp({
    options: { wrapStore: (backend) => (gated = new GatedStore(backend)) },
    agent: openapiAgent,
    users: {
      capture: { sub: 'cap', roles: ['capture'], units: [UNIT] },
      export: { sub: 'arch', roles: ['export'], units: [UNIT] },
      audit: { sub: 'aud', roles: ['audit'], units: [UNIT] },
    },
  });
  let pdf: Buffer;

  beforeAll(async () => {
    pdf = await pdfWithText('audit fault');
  });

  const capture = (key: string) =>
    attachCapture(
      t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capture}`).set('Idempotency-Key', key),
      { title: 'Audit fault' },
      [{ body: pdf, contentType: 'application/pdf' }],
    );

  async function listedIds(): Promise<string[]> {
    const page = await t.api.get('/v1/documents?limit=100').set('Authorization', `Bearer ${t.tokens.export}`).expect(200);
    return page.body.items.map((d: { id: string }) => d.id);
  }

  async function capturedEntries(id: string): Promise<number> {
    const trail = await t.api.get(`/v1/documents/${id}/audit`).set('Authorization', `Bearer ${t.tokens.audit}`).expect(200);
    return trail.body.entries.filter((e: { type: string }) => e.type === 'captured').length;
  }

  async function auditedIds(): Promise<string[]> {
    const page = await t.api.get('/v1/audit?limit=1000').set('Authorization', `Bearer ${t.tokens.audit}`).expect(200);
    return page.body.items.map((e: { documentId: string }) => e.documentId);
  }

  it.each([
    [
      'while the captured entry is written in the commit',
      async () => {
        const fault = await dropConnectionAtNextInsert(t.databaseUrl!, 'audit_events');
        return () => fault.fired();
      },
    ],
    [
      'while a blob is written, before the commit',
      async () => {
        const fault = gated.failNext((key) => key.startsWith(layout.documentsPrefix));
        return async () => Boolean(await fault.hit);
      },
    ],
    [
      'when the document row is inserted in the commit',
      async () => {
        const fault = await dropConnectionAtNextInsert(t.databaseUrl!, 'documents');
        return () => fault.fired();
      },
    ],
  ])('a fault %s fails the capture; the idempotent retry leaves one document with its entry', async (_moment, arm) => {
    const before = await listedIds();
    const fired = await arm();
    const key = `audit-fault-${before.length}`;
    const failed = await capture(key);
    expect(await fired()).toBe(true);
    expect(failed.status).toBe(503);
    expect(failed.headers['content-type']).toMatch(/application\/problem\+json/);
    // Whatever the failed attempt left, nothing is listed without its entry, and no entry names an unlisted document.
    const listed = await listedIds();
    for (const id of listed) expect(await capturedEntries(id)).toBe(1);
    expect((await auditedIds()).filter((id) => !listed.includes(id))).toEqual([]);

    const retried = await capture(key);
    expect(retried.status).toBe(201);
    const after = await listedIds();
    expect(after.filter((id) => !before.includes(id))).toEqual([retried.body.id]);
    expect(await capturedEntries(retried.body.id)).toBe(1);
    // A second retry replays the same document and writes no second entry.
    const replayed = await capture(key).expect(201);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.body.id).toBe(retried.body.id);
    expect(await capturedEntries(retried.body.id)).toBe(1);
  });
});
