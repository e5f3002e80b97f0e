/**
 * The text layer after the 201, through the API: a capture answers `pending`, the `document.ocr` job
 * adds the layer (pdftotext finds the page's words in the current rendition, `q=` finds the document by
 * them, the manifest's hash is the final rendition's, `final=true` hands it over once it is in); a job
 * that cannot finish ends `failed` with a reason after its retries, the document still readable.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { germanPage } from '../../testkit/fixtures/photos.ts';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import { openapiAgent, type OpenApiAgent } from '../support/openapi.ts';
import { startTestApp, type TestApp } from '../../testkit/test-app.ts';

const UNIT = 'BA-Nord';
/** A hang guard for a loaded CI machine; never a speed check. */
const slow = 300_000;
const page = germanPage(1240);

interface Harness {
  t: TestApp;
  api: OpenApiAgent;
  capturer: string;
  reader: string;
}

async function harness(env: Record<string, string>): Promise<Harness> {
  const t = await startTestApp({ OCR: 'on', ...env });
  return {
    t,
    api: openapiAgent(t.app),
    capturer: await t.token({ sub: 'u-scan', roles: ['capture', 'read'], units: [UNIT] }),
    reader: await t.token({ sub: 'u-arch', roles: ['export', 'read'], units: [UNIT] }),
  };
}

async function capture(h: Harness, title: string): Promise<{ id: string; textLayer: { status: string } }> {
  const res = await attachCapture(h.api.post('/v1/documents').set('Authorization', `Bearer ${h.capturer}`), { title, source: 'scanner' }, [
    { body: page, contentType: 'image/png' },
  ]).expect(201);
  return res.body;
}

/** Polls the document until its text layer left `pending` (the job's outcome decides, no clock). */
async function settled(h: Harness, id: string): Promise<Record<string, any>> {
  for (;;) {
    const res = await h.api.get(`/v1/documents/${id}`).set('Authorization', `Bearer ${h.reader}`).expect(200);
    if (res.body.textLayer.status !== 'pending') return res.body;
    await sleep(100);
  }
}

async function content(h: Harness, id: string): Promise<Buffer> {
  const res = await h.api.get(`/v1/documents/${id}/content`).set('Authorization', `Bearer ${h.reader}`).responseType('blob').expect(200);
  return res.body as Buffer;
}

async function trail(h: Harness, id: string): Promise<Array<{ type: string; details: object }>> {
  const auditor = await h.t.token({ sub: 'u-audit', roles: ['audit'], units: [UNIT] });
  const res = await h.api.get(`/v1/documents/${id}/audit`).set('Authorization', `Bearer ${auditor}`).expect(200);
  return res.body.entries;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('the text layer job after the 201', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({});
  });
  afterAll(async () => {
    await h?.t.close();
  });

  it('answers pending, then the current rendition carries the page words; q= and final=true find it; the manifest signs it', async () => {
    const created = await capture(h, 'Eingang Scan');
    expect(created.textLayer).toEqual({ status: 'pending' });
    const first = await content(h, created.id);
    const doc = await settled(h, created.id);
    expect(doc.textLayer).toMatchObject({ status: 'ready' });
    expect(doc.textLayer.words).toBeGreaterThan(20);
    expect(doc.rendition.textLayer).toBe(true);
    const final = await content(h, created.id);
    expect(sha256(final)).toBe(doc.rendition.sha256);
    expect(sha256(final)).not.toBe(sha256(first));
    expect(execFileSync('pdftotext', ['-', '-'], { input: first }).toString()).not.toContain('Ordnungsamt');
    expect(execFileSync('pdftotext', ['-', '-'], { input: final }).toString()).toContain('Ordnungsamt');

    const search = await h.api.get('/v1/documents').query({ q: 'ordnungsamt' }).set('Authorization', `Bearer ${h.reader}`).expect(200);
    expect(search.body.items.map((d: { id: string }) => d.id)).toEqual([created.id]);
    const handedOver = await h.api.get('/v1/documents').query({ final: 'true' }).set('Authorization', `Bearer ${h.reader}`).expect(200);
    expect(handedOver.body.items.map((d: { id: string }) => d.id)).toEqual([created.id]);

    const manifest = await h.api.get(`/v1/documents/${created.id}/manifest`).set('Authorization', `Bearer ${h.reader}`).expect(200);
    expect(JSON.stringify(decodeJwt(manifest.text))).toContain(doc.rendition.sha256);

    const added = (await trail(h, created.id)).find((e) => e.type === 'text_layer_added');
    expect(added?.details).toMatchObject({ previousSha256: sha256(first), renditionSha256: doc.rendition.sha256 });
  }, slow);
});

describe('a text layer job that cannot finish', () => {
  let h: Harness;
  beforeAll(async () => {
    // A budget no page can meet: every run fails, retried once after a short backoff.
    h = await harness({ OCR_TIME_BUDGET_MS: '1', OCR_ATTEMPTS: '2', JOB_BACKOFF_MS: '50' });
  });
  afterAll(async () => {
    await h?.t.close();
  });

  it('ends failed with the reason after its retries; the document stays readable as captured and is handed over', async () => {
    const created = await capture(h, 'Eingang Budget');
    const first = await content(h, created.id);
    const doc = await settled(h, created.id);
    expect(doc.textLayer.status).toBe('failed');
    expect(doc.textLayer.reason).toContain('Zeitbudget');
    expect(doc.rendition.sha256).toBe(sha256(first));
    expect(sha256(await content(h, created.id))).toBe(sha256(first));
    const handedOver = await h.api.get('/v1/documents').query({ final: 'true' }).set('Authorization', `Bearer ${h.reader}`).expect(200);
    expect(handedOver.body.items.map((d: { id: string }) => d.id)).toEqual([created.id]);
    const types = (await trail(h, created.id)).map((e) => e.type);
    expect(types.filter((t) => t.startsWith('text_layer'))).toEqual(['text_layer_failed']);
  }, slow);
});
