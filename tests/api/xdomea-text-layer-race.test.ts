/**
 * Review finding (#13): an xdomea export that overlaps the OCR job's finish packs the first rendition
 * but a manifest signing the final one. XdomeaExport.prepare reads the record through content() (first
 * rendition, its hash), pack() then appends the xdomea_exported audit entry and only after that asks
 * documents.manifest(), which reads the record again: when the text layer landed in between, the sealed
 * manifest names a rendition hash the ZIP does not hold. Timed by events: the OCR run is held at its
 * store write, the export at its audit append, on two instances sharing store and database.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditLog } from '../../src/audit/trail.ts';
import { germanPage } from '../../testkit/fixtures/photos.ts';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import { GatedStore } from '../support/gated-store.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';
import { binary, unpack } from '../support/xdomea.ts';

const UNIT = 'BA-Race';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Holds the instance's next audit append that `match`es until `release()`; `reached` once it waits. */
function holdAppend(app: TestApp, match: (event: AuditEvent) => boolean): { reached: Promise<void>; release: () => void } {
  // The store the export appends to (the app's deps type shows only the health check of it).
  const { audit } = app.deps.metadata as unknown as { audit: AuditLog };
  const append = audit.append.bind(audit);
  let reached!: () => void;
  let release!: () => void;
  const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  audit.append = async (event: AuditEvent) => {
    if (match(event)) {
      audit.append = append;
      reached();
      await released;
    }
    return append(event);
  };
  return { reached: reachedPromise, release };
}

describe('xdomea export while the text layer lands', () => {
  let a: TestApp;
  let b: TestApp;
  let gatedA!: GatedStore;
  let gatedB!: GatedStore;

  beforeAll(async () => {
    a = await startTestApp({ OCR: 'on' }, { wrapStore: (backend) => (gatedA = new GatedStore(backend)) });
    b = await startTestApp({ OCR: 'on' }, { sharing: a, wrapStore: (backend) => (gatedB = new GatedStore(backend)) });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('packs the rendition the sealed manifest names', async () => {
    const token = await a.token({ sub: 'u-arch', roles: ['capture', 'read', 'export'], units: [UNIT] });
    // Whichever instance claims the OCR job stops right before writing the text rendition.
    const isText = (key: string) => key.endsWith('/rendition-text');
    const holds = [gatedA.hold(isText), gatedB.hold(isText)];
    const created = await attachCapture(request(a.app).post('/v1/documents').set('Authorization', `Bearer ${token}`), { title: 'Wettlauf', caseNumber: 'AZ 1/26', source: 'scanner' }, [
      { body: germanPage(1240), contentType: 'image/png' },
    ]).expect(201);
    const id = created.body.id as string;
    const runner = await Promise.race(holds.map((h, i) => h.reached.then(() => i)));
    const exporter = runner === 0 ? b : a;

    // The export stops at its audit entry: prepare() has read the record (first rendition) by then.
    const exportAudit = holdAppend(exporter, (event) => event.type === 'xdomea_exported' && event.documentId === id);
    const exported = request(exporter.app).get(`/v1/documents/${id}/xdomea`).set('Authorization', `Bearer ${token}`).buffer(true).parse(binary).then((r) => r);
    await exportAudit.reached;

    // The text layer lands meanwhile.
    holds[runner]!.release();
    for (;;) {
      const doc = (await request(a.app).get(`/v1/documents/${id}`).set('Authorization', `Bearer ${token}`).expect(200)).body;
      if (doc.textLayer.status !== 'pending') break;
      await sleep(100);
    }
    exportAudit.release();
    const res = await exported;
    expect(res.status).toBe(200);

    const zip = await unpack(res.body as Buffer);
    const rendition = [...zip.files].find(([name]) => name.endsWith('_Scanprodukt.pdf'))![1];
    const seal = [...zip.files].find(([, bytes]) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(bytes.toString('utf8').trim()))![1];
    const claims = decodeJwt(seal.toString('utf8').trim()) as { rendition: { sha256: string } };
    expect(claims.rendition.sha256).toBe(sha256(rendition));
  });
});
