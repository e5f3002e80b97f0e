/**
 * Quality of `enhance: document` on generated cases (testkit/fixtures/photos.ts): German pages
 * photographed with a known perspective, rotation, shadow and desk. Corners must land within 1 % of the
 * page diagonal; what tesseract reads from the corrected page within 2 % character error rate.
 */
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/kernel/errors.ts';
import { findPage } from '../../src/processing/document-look.ts';
import { processDocument } from '../../src/processing/index.ts';
import { embeddedJpegs } from '../fixtures/inspect.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { characterErrorRate, germanPage, germanText, photoCase, photograph } from '../../testkit/fixtures/photos.ts';

/** A hang guard for a loaded CI machine (ImageMagick, OCR and processing share two cores with others); never a speed check. */
const slow = 300_000;

const pageWidth = 1100;
const pageHeight = Math.round(pageWidth * Math.SQRT2);
const page = germanPage(pageWidth);

function ocr(image: Buffer): string {
  return execFileSync('tesseract', ['stdin', 'stdout', '-l', 'deu', '--psm', '3'], { input: image, env: { ...process.env, OMP_THREAD_LIMIT: '1' } }).toString();
}

describe('page detection on generated photos', () => {
  const cases = [
    { degrees: 3, keystone: 0.03, shadow: 0.6, desk: '#8a5a32' },
    { degrees: -5.5, keystone: 0.05, shadow: 0.5, desk: '#5b4636' },
    { degrees: 8, keystone: 0.02, shadow: 0.7, desk: '#7d6b4f' },
  ];
  it.each(cases)('finds the corners within 1 % of the page diagonal (rotated $degrees°, keystone $keystone, shadow $shadow)', async (c) => {
    const shot = photoCase({ photoWidth: 2000, photoHeight: 1500, pageWidth, scale: 0.85, ...c });
    const photo = photograph(page, shot, pageWidth, pageHeight);
    const found = await findPage(sharp(photo), 2000, 1500);
    expect(found.sure).toBe(true);
    if (!found.sure) return;
    const diagonal = Math.hypot(shot.corners[0][0] - shot.corners[2][0], shot.corners[0][1] - shot.corners[2][1]);
    for (const [i, corner] of found.corners.entries()) {
      const truth = shot.corners[i]!;
      expect(Math.hypot(corner[0] - truth[0], corner[1] - truth[1]) / diagonal).toBeLessThan(0.01);
    }
  }, slow);

  it('flattens, crops and whitens the photographed page so that OCR reads it within 2 % character error rate', async () => {
    const shot = photoCase({ photoWidth: 3000, photoHeight: 2250, pageWidth: 1700, degrees: 6, scale: 0.9, keystone: 0.04 });
    const photo = photograph(germanPage(1700), shot, 1700, Math.round(1700 * Math.SQRT2));
    const result = await processDocument([{ bytes: photo }], testOptions({ enhance: 'document', source: 'camera' }));
    expect(result.findings.map((f) => f.code)).toContain('page_detected');
    const [jpeg] = await embeddedJpegs(result.rendition);
    const meta = await sharp(jpeg!).metadata();
    // The page, not the photo: A4 proportions, and white paper where the desk was.
    expect(meta.height! / meta.width!).toBeCloseTo(Math.SQRT2, 1);
    const corner = await sharp(jpeg!).extract({ left: 5, top: meta.height! - 40, width: 30, height: 30 }).raw().toBuffer();
    expect(Math.min(...corner)).toBeGreaterThan(200);
    expect(characterErrorRate(germanText.join('\n'), ocr(Buffer.from(jpeg!)))).toBeLessThanOrEqual(0.02);
  }, slow);

  it.each([
    { what: 'low contrast (a white desk)', desk: '#f4f4f4', scale: 0.85, degrees: 4, reason: 'nicht sicher erkannt' },
    { what: 'the page filling the frame', desk: '#8a5a32', scale: 1.15, degrees: 3, reason: 'füllt das Bild' },
  ])('keeps the whole photo and says so when unsure: $what', async (c) => {
    const shot = photoCase({ photoWidth: 2000, photoHeight: 1500, pageWidth, scale: c.scale, degrees: c.degrees, keystone: 0.02, desk: c.desk });
    const photo = photograph(page, shot, pageWidth, pageHeight);
    const result = await processDocument([{ bytes: photo }], testOptions({ enhance: 'document', source: 'camera' }));
    const unsure = result.findings.find((f) => f.code === 'page_not_detected');
    expect(unsure?.message).toContain(c.reason);
    expect(unsure?.message).toContain('nothing cropped');
    const [jpeg] = await embeddedJpegs(result.rendition);
    const meta = await sharp(jpeg!).metadata();
    // Nothing cropped: the photo's whole frame (at most grown by a deskew's canvas).
    expect([meta.width! >= 2000, meta.height! >= 1500]).toEqual([true, true]);
  }, slow);

  it('uses corners a client sends instead of detecting, and refuses corners that are no page', async () => {
    const shot = photoCase({ photoWidth: 2000, photoHeight: 1500, pageWidth, scale: 0.85, degrees: -4, keystone: 0.03 });
    const photo = photograph(page, shot, pageWidth, pageHeight);
    const result = await processDocument([{ bytes: photo, corners: shot.corners }], testOptions({ enhance: 'document', source: 'camera' }));
    expect(result.findings.map((f) => f.code)).toContain('page_corners_applied');
    const [jpeg] = await embeddedJpegs(result.rendition);
    const meta = await sharp(jpeg!).metadata();
    expect(meta.height! / meta.width!).toBeCloseTo(Math.SQRT2, 1);
    const crossed = [shot.corners[0], shot.corners[2], shot.corners[1], shot.corners[3]];
    const refusal = await processDocument([{ bytes: photo, corners: crossed }], testOptions({ enhance: 'document', source: 'camera' })).catch((e: unknown) => e);
    expect(isAppError(refusal) && refusal.code).toBe('validation_failed');
    expect(isAppError(refusal) && refusal.texts?.de).toContain('oben links');
  }, slow);
});

describe('deskew for scans', () => {
  it('straightens a page scanned 3° askew so OCR reads it within 1 % character error rate', async () => {
    const flat = germanPage(2000);
    const tilted = execFileSync('convert', ['png:-', '-background', 'white', '-rotate', '3', 'png:-'], { input: flat });
    const result = await processDocument([{ bytes: tilted }], testOptions({ enhance: 'document', source: 'scanner' }));
    const deskewed = result.findings.find((f) => f.code === 'deskewed');
    const degrees = Number(/straightened by ([\d.]+)°/.exec(deskewed?.message ?? '')?.[1]);
    expect(degrees).toBeGreaterThan(2.8);
    expect(degrees).toBeLessThan(3.2);
    const [jpeg] = await embeddedJpegs(result.rendition);
    expect(characterErrorRate(germanText.join('\n'), ocr(Buffer.from(jpeg!)))).toBeLessThanOrEqual(0.01);
  }, slow);
});
