/**
 * The in-process luma decode (grey-decode.ts, libjpeg-turbo through @julusian/jpeg-turbo) against
 * Debian's own libjpeg-turbo build (djpeg), the JPEG variants it meets, and the scan count that keeps
 * scan bombs from every decoder (jpeg.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { Piscina } from 'piscina';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/kernel/errors.ts';
import { workerExecArgv } from '../../src/kernel/worker-threads.ts';
import { jpegLuma } from '../../src/processing/grey-decode.ts';
import { processDocument } from '../../src/processing/index.ts';
import { assertScanCount, maxScans, scanCount } from '../../src/processing/jpeg.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { germanPage, photoCase, photograph } from '../../testkit/fixtures/photos.ts';
import { cmykJpeg, handMadeJpeg, scanBombJpeg, truncated } from '../fixtures/hostile-images.ts';

const [width, height] = [1600, 1200];
const [atLimit, overLimit] = await Promise.all([scanBombJpeg(maxScans), scanBombJpeg(maxScans + 1)]);
const photo = photograph(germanPage(1000), photoCase({ photoWidth: width, photoHeight: height, pageWidth: 1000, degrees: 4, scale: 0.9, keystone: 0.03 }), 1000, Math.round(1000 * Math.SQRT2));

/** The same JPEG rewritten losslessly by jpegtran (`args`: -arithmetic, -restart 1, -progressive). */
function jpegtran(jpeg: Uint8Array, args: string[]): Buffer {
  return execFileSync('jpegtran', args, { input: jpeg, maxBuffer: 2 ** 28 });
}

/** djpeg's luma (`dct`: `fast` is the binding's integer IDCT, `int` the accurate one OpenCV and djpeg use by default). */
function djpegLuma(jpeg: Uint8Array, dct: 'fast' | 'int'): Uint8Array {
  const pgm = execFileSync('djpeg', ['-grayscale', '-dct', dct, '-pnm'], { input: jpeg, maxBuffer: 2 ** 28 });
  return pgm.subarray(pgm.length - width * height);
}

function difference(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  expect(a.length).toBe(b.length);
  let [max, sum] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  return { max, mean: sum / a.length };
}

function refusal(step: () => unknown): { de?: string; en?: string } | undefined {
  try {
    step();
  } catch (err) {
    if (isAppError(err)) return err.texts;
    throw err;
  }
  return undefined;
}

describe('luma decode in-process', () => {
  it('matches djpeg with the same fast IDCT, and the accurate IDCT within the fast one’s error', () => {
    const luma = jpegLuma(photo, width, height)!;
    expect([luma.width, luma.height]).toEqual([width, height]);
    // The same algorithm (libjpeg-turbo's ifast IDCT) in another build and version: 1 allows a SIMD rounding.
    expect(difference(luma.data, djpegLuma(photo, 'fast')).max).toBeLessThanOrEqual(1);
    // The fast IDCT trades accuracy for speed: a few levels at edges (7 measured on a 12 MP photo), well under one on average.
    const accurate = difference(luma.data, djpegLuma(photo, 'int'));
    expect(accurate.max).toBeLessThanOrEqual(12);
    expect(accurate.mean).toBeLessThan(1);
  });

  for (const [name, args] of [
    ['made progressive', ['-progressive']],
    ['arithmetic-coded', ['-arithmetic']],
    ['with a restart marker every MCU row', ['-restart', '1']],
    ['in grey (one component)', ['-grayscale']],
  ] as const) {
    it(`decodes the photo ${name} as djpeg does`, () => {
      const variant = jpegtran(photo, [...args]);
      expect(difference(jpegLuma(variant, width, height)!.data, djpegLuma(variant, 'fast')).max).toBeLessThanOrEqual(1);
    });
  }

  it('decodes in worker threads, where the processing pool runs it (two at once)', async () => {
    const pool = new Piscina({ filename: new URL('../support/luma-worker.ts', import.meta.url).href, minThreads: 2, maxThreads: 2, execArgv: workerExecArgv() });
    try {
      const decoded = await Promise.all([1, 2].map(() => pool.run({ jpeg: photo, width, height }) as Promise<unknown>));
      expect(decoded).toEqual([[width, height, width * height], [width, height, width * height]]);
    } finally {
      await pool.destroy();
    }
  });

  it('decodes a lossless JPEG (SOF3), which Debian’s djpeg cannot read, to its known pixels', () => {
    const luma = jpegLuma(handMadeJpeg('lossless'), 64, 48)!;
    expect(luma.data.every((v) => v === 128)).toBe(true);
  });

  it('leaves to sharp what it does not decode cleanly: truncated, CMYK, 12-bit, not a JPEG, another size', async () => {
    expect(jpegLuma(truncated(photo, 0.6), width, height)).toBeUndefined();
    expect(jpegLuma(await cmykJpeg(), 240, 320)).toBeUndefined();
    expect(jpegLuma(handMadeJpeg('12-bit'), 64, 48)).toBeUndefined();
    expect(jpegLuma(Buffer.from('not a JPEG at all'), 1, 1)).toBeUndefined();
    expect(jpegLuma(photo, width + 1, height)).toBeUndefined();
  });
});

/** `jpeg` with a segment `marker` of the bogus `length` (below 2, so no body) right after SOI. */
function lengthBelowTwo(jpeg: Buffer, marker: number, length: number): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from([0xff, marker, 0, length]), jpeg.subarray(2)]);
}

/**
 * A restart-marked progressive bomb of `scans` scans whose every 72nd repeated scan starts with FF 02 FF FF: libjpeg
 * takes that reserved marker, hit inside a scan, for damage, searches on to the next marker and resumes at the restart
 * marker (jdmarker.c jpeg_resync_to_restart, a warning sharp does not fail on); read as a segment, its length would
 * cover the next 65 533 bytes and the ~140 scans in them (the next trap among them).
 */
async function reservedMarkerBomb(scans: number): Promise<Buffer> {
  const flat = await sharp({ create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer();
  const base = jpegtran(flat, ['-progressive', '-restart', '1']);
  const last = base.lastIndexOf(Buffer.from([0xff, 0xda]));
  // As in scanBombJpeg: the last scan again as a first scan of bit 0.
  const again = Buffer.from(base.subarray(last, base.length - 2));
  again[9] = 0x00;
  const header = 2 + again.readUInt16BE(2);
  const trap = Buffer.concat([again.subarray(0, header), Buffer.from([0xff, 0x02, 0xff, 0xff]), again.subarray(header)]);
  return Buffer.concat([base.subarray(0, base.length - 2), ...Array.from({ length: scans - scanCount(base) }, (_, i) => (i % 72 === 0 ? trap : again)), base.subarray(base.length - 2)]);
}

describe('scan count', () => {
  it('counts the scans libjpeg would run: a real progressive JPEG has about ten', async () => {
    expect(scanCount(photo)).toBe(1);
    expect(scanCount(jpegtran(photo, ['-progressive']))).toBe(10);
    expect(scanCount(await scanBombJpeg(2000))).toBe(2000);
  });

  it('finds scans past junk and stray restart markers between segments, as libjpeg does, and counts a truncated file without refusing it', async () => {
    const bomb = await scanBombJpeg(300);
    const sos = Buffer.from([0xff, 0xda]);
    /** Where the `n`th scan (1-based) starts. */
    const scanAt = (n: number): number => Array.from({ length: n }).reduce<number>((at) => bomb.indexOf(sos, at + 1), -1);
    const second = scanAt(2);
    // Junk (as "extraneous bytes" libjpeg skips with a warning) and a parameterless RST0 before the second scan.
    const hidden = Buffer.concat([bomb.subarray(0, second), Buffer.from([0x12, 0x34, 0xff, 0x00, 0xff, 0xd0, 0x56]), bomb.subarray(second)]);
    expect(scanCount(hidden)).toBe(300);
    // Cut inside the 201st scan's header: 200 complete scans before it.
    expect(scanCount(bomb.subarray(0, scanAt(201) + 5))).toBe(200);
  });

  it('finds scans past an APPn, COM or DNL of a length below 2, which libjpeg skips as empty and reads on', async () => {
    const bomb = await scanBombJpeg(300);
    for (const marker of [0xe1, 0xfe, 0xdc]) for (const length of [0, 1]) expect(scanCount(lengthBelowTwo(bomb, marker, length))).toBe(300);
  });

  it(`refuses more than ${maxScans} scans, in German and English, saying what to do`, async () => {
    expect(refusal(() => assertScanCount(atLimit))).toBeUndefined();
    const texts = refusal(() => assertScanCount(overLimit));
    expect(texts?.de).toContain(`${maxScans + 1} Scans`);
    expect(texts?.de).toContain('Speichern Sie das Foto erneut');
    expect(texts?.en).toContain('Save the photo again as a plain JPEG');
  });
});

describe('JPEG variants through processDocument', () => {
  for (const enhance of ['none', 'document'] as const) {
    it(`refuses a scan bomb for its scans (enhance ${enhance})`, async () => {
      const err = await processDocument([{ bytes: await scanBombJpeg(5000) }], testOptions({ enhance })).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('unprocessable');
      expect(isAppError(err) && err.texts?.en).toContain('5000 scans');
    });

    it(`refuses a scan bomb whose scans hide behind reserved markers inside restart-marked scans (enhance ${enhance})`, async () => {
      const bomb = await reservedMarkerBomb(3000);
      // libjpeg itself runs every scan (its trace says so once a scan).
      const trace = spawnSync('djpeg', ['-verbose', '-verbose', '-outfile', '/dev/null'], { input: bomb, encoding: 'latin1' }).stderr;
      expect(trace.split('Start Of Scan').length - 1).toBe(3000);
      const err = await processDocument([{ bytes: bomb }], testOptions({ enhance })).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('unprocessable');
      expect(isAppError(err) && err.texts?.en).toContain('3000 scans');
    });

    it(`refuses a scan bomb behind a comment of length 0, which libjpeg and sharp read through without a warning (enhance ${enhance})`, async () => {
      const err = await processDocument([{ bytes: lengthBelowTwo(await scanBombJpeg(5000), 0xfe, 0) }], testOptions({ enhance })).catch((e: unknown) => e);
      expect(isAppError(err) && err.code).toBe('unprocessable');
      expect(isAppError(err) && err.texts?.en).toContain('5000 scans');
    });
  }

  it('turns arithmetic-coded, restart-marked and lossless JPEGs into the scan look, and refuses a 12-bit one cleanly', async () => {
    for (const bytes of [jpegtran(photo, ['-arithmetic']), jpegtran(photo, ['-restart', '1']), handMadeJpeg('lossless')]) {
      const result = await processDocument([{ bytes }], testOptions({ enhance: 'document', source: 'camera' }));
      expect(result.pageCount).toBe(1);
    }
    const err = await processDocument([{ bytes: handMadeJpeg('12-bit') }], testOptions({ enhance: 'document' })).catch((e: unknown) => e);
    expect(isAppError(err) && err.code).toBe('unprocessable');
  });
});
