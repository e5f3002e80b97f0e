/**
 * Camera photos through the capture API: `document` is the default look for `source: camera` (page
 * found, flattened, cropped), client corners are used instead of detection, `none` keeps the JPEG, and
 * unfit corners are refused in German (English on request). The rendition's text layer, as the OCR job
 * adds it after the 201 (tests/api/ocr-job.test.ts), reads the photographed page within 2 % character error rate in pdftotext.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createProcessingPool } from '../../src/processing/pool.ts';
import { characterErrorRate, germanPage, germanText, photoCase, photograph } from '../../testkit/fixtures/photos.ts';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

const UNIT = 'BA-Nord';
/** A hang guard for a loaded CI machine; never a speed check. */
const slow = 300_000;
const pageWidth = 1700;
const shot = photoCase({ photoWidth: 3000, photoHeight: 2250, pageWidth, degrees: 5, scale: 0.9, keystone: 0.04 });
const photo = photograph(germanPage(pageWidth), shot, pageWidth, Math.round(pageWidth * Math.SQRT2));

describe('camera photos through POST /v1/documents', () => {
  const t = withTestApp({
    agent: openapiAgent,
    users: {
      capturer: { sub: 'u-cam', roles: ['capture', 'read'], units: [UNIT] },
      reader: { sub: 'u-read', roles: ['export', 'read'], units: [UNIT] },
    },
  });
  const pool = createProcessingPool({ threads: 1, maxQueue: 1 });
  afterAll(() => pool.close());

  const capture = (metadata: object, files = [photo]) =>
    attachCapture(
      t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`),
      metadata,
      files.map((body) => ({ body, contentType: 'image/jpeg' })),
    );

  async function rendition(id: string): Promise<Uint8Array> {
    const res = await t.api.get(`/v1/documents/${id}/content`).set('Authorization', `Bearer ${t.tokens.reader}`).responseType('blob').expect(200);
    return new Uint8Array(res.body as Buffer);
  }

  it('finds, flattens and crops the page of a camera photo by default; its text layer reads within 2 % CER', async () => {
    const res = await capture({ title: 'Aushang', source: 'camera' }).expect(201);
    expect(res.body.transferNote.settings.enhance).toBe('document');
    const codes = res.body.transferNote.findings.map((f: { code: string }) => f.code);
    expect(codes).toContain('page_detected');
    const layered = await pool.addTextLayer(await rendition(res.body.id), slow);
    const text = execFileSync('pdftotext', ['-', '-'], { input: layered.pdf }).toString();
    const body = text.split('\n').filter((l) => !l.includes('DIENSTGEBRAUCH') && !l.includes('Seite 1 von 1')).join('\n');
    expect(characterErrorRate(germanText.join('\n'), body)).toBeLessThanOrEqual(0.02);
  }, slow);

  it('uses the corners the client found', async () => {
    const res = await capture({ title: 'Aushang', source: 'camera', corners: [shot.corners] }).expect(201);
    expect(res.body.transferNote.findings.map((f: { code: string }) => f.code)).toContain('page_corners_applied');
  }, slow);

  it('keeps the camera JPEG as taken with enhance none', async () => {
    const res = await capture({ title: 'Aushang', source: 'camera', enhance: 'none' }).expect(201);
    const codes = res.body.transferNote.findings.map((f: { code: string }) => f.code);
    expect(codes).toContain('jpeg_kept');
    expect(codes).not.toContain('page_detected');
  });

  it('refuses corners that are no page, and corners for more files than sent, saying what to do', async () => {
    const crossed = [shot.corners[0], shot.corners[2], shot.corners[1], shot.corners[3]];
    const bad = await capture({ title: 'Aushang', source: 'camera', corners: [crossed] }).expect(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.body.detail).toContain('oben links, oben rechts, unten rechts, unten links');
    const english = await capture({ title: 'Aushang', source: 'camera', corners: [crossed] }).set('Accept-Language', 'en').expect(400);
    expect(english.body.detail).toContain('top-left, top-right, bottom-right, bottom-left');
    const extra = await capture({ title: 'Aushang', source: 'camera', corners: [null, shot.corners] }).expect(400);
    expect(extra.body.detail).toContain('metadata.corners');
  });

  it('refuses corners it would not use (enhance none, also by default for an upload) instead of dropping them', async () => {
    for (const metadata of [{ source: 'camera', enhance: 'none' }, { source: 'upload' }]) {
      const unused = await capture({ title: 'Aushang', ...metadata, corners: [shot.corners] }).expect(400);
      expect(unused.headers['content-type']).toContain('application/problem+json');
      expect(unused.body.detail).toContain('nur mit enhance: document');
      const english = await capture({ title: 'Aushang', ...metadata, corners: [shot.corners] }).set('Accept-Language', 'en').expect(400);
      expect(english.body.detail).toContain('send enhance: document');
    }
    // null entries ask for nothing: taken as without corners.
    await capture({ title: 'Aushang', source: 'upload', corners: [null] }).expect(201);
  });
});
