/**
 * Review finding (#13, minor): a document deleted while its OCR job runs gets a `text_layer_added`
 * audit entry after its `deleted` one, naming a rendition hash that was never stored for it. The
 * handler appends the entry before it learns (finishTextLayer → false) that the document is gone; the
 * blob it wrote is removed again, the entry stays.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layout } from '../../src/storage/layout.ts';
import { germanPage } from '../../testkit/fixtures/photos.ts';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import { GatedStore } from '../support/gated-store.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';

const UNIT = 'BA-Weg';

describe('a document deleted while its OCR job runs', () => {
  let t: TestApp;
  let gated!: GatedStore;
  beforeAll(async () => {
    t = await startTestApp({ OCR: 'on' }, { wrapStore: (backend) => (gated = new GatedStore(backend)) });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records no text layer after its deletion, and nothing of the run stays', async () => {
    const token = await t.token({ sub: 'u-admin', roles: ['capture', 'admin', 'audit'], units: [UNIT] });
    const hold = gated.hold((key) => key.endsWith('/rendition-text'));
    const created = await attachCapture(request(t.app).post('/v1/documents').set('Authorization', `Bearer ${token}`), { title: 'Weg', source: 'scanner' }, [{ body: germanPage(1240), contentType: 'image/png' }]).expect(201);
    const id = created.body.id as string;
    await hold.reached;
    await request(t.app).delete(`/v1/documents/${id}`).set('Authorization', `Bearer ${token}`).send({ reason: 'Fehlerfassung' }).expect(204);
    hold.release();
    const job = async () => ((await (t.deps.metadata as any).db.query(`SELECT state FROM jobs WHERE document_id = $1 AND kind = 'document.ocr'`, [id])).rows[0]?.state as string);
    while (['queued', 'running'].includes(await job())) await sleep(100);
    expect(await t.deps.store.list({ prefix: layout.documentPrefix(id) })).toEqual([]);
    const trail = await request(t.app).get(`/v1/documents/${id}/audit`).set('Authorization', `Bearer ${token}`).expect(200);
    const types = (trail.body.entries as Array<{ type: string }>).map((e) => e.type);
    expect(types.slice(types.indexOf('deleted') + 1)).toEqual([]);
  });
});
