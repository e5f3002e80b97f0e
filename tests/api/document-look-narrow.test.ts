/**
 * Review finding (#13): `enhance: document` (the default for `source: camera`) refuses a valid but very
 * narrow image (a 20000×2 strip, a 3×65000 receipt scan) as "damaged or truncated, send it again", which
 * the client cannot fix by resending; `enhance: none` takes the same bytes (201). The preview and skew
 * resizes in document-look.ts round a side to 0 px and sharp throws; guarded() calls that a broken image.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

const UNIT = 'BA-Streifen';

describe('a narrow photo with the document look', () => {
  const t = withTestApp({ agent: openapiAgent, users: { camera: { sub: 'u-cam', roles: ['capture'], units: [UNIT] } } });

  it.each([
    [20000, 2],
    [3, 65000],
  ])('%i×%i: taken like with enhance none, the whole photo kept with a finding (not refused as "damaged")', async (width, height) => {
    const jpeg = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).jpeg().toBuffer();
    const send = (metadata: object) => attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.camera}`), { title: 'Streifen', ...metadata }, [{ body: jpeg, contentType: 'image/jpeg' }]);
    expect((await send({ source: 'camera', enhance: 'none' })).status).toBe(201);
    const res = await send({ source: 'camera' });
    // Too thin to hold a page: the whole photo is kept, and the finding says why.
    expect(res.status).toBe(201);
    const notDetected = res.body.transferNote.findings.find((f: { code: string }) => f.code === 'page_not_detected');
    expect(notDetected.message).toContain('zu schmal für eine Seite');
  });
});
