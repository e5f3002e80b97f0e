import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { processDocument } from '../../src/processing/index.ts';
import { cameraJpeg, cameraMake, cameraSerial, encodeAs, heicPhoto, multipageTiff, solidPng } from '../../testkit/fixtures/images.ts';
import { embeddedJpegs, renderedPagePng } from '../fixtures/inspect.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';

/** Mean luminance of the top and bottom tenth of a rendered page's image area. */
async function topAndBottom(pdf: Uint8Array, pageIndex = 0): Promise<{ top: number; bottom: number }> {
  const { bytes, width, height } = await renderedPagePng(pdf, pageIndex, 400);
  // Skip the marking bands (about 4 % of the height each).
  const band = async (top: number) => {
    const grey = await sharp(bytes).extract({ left: 0, top, width, height: Math.round(height * 0.05) }).greyscale().raw().toBuffer();
    return grey.reduce((sum, v) => sum + v, 0) / grey.length;
  };
  return { top: await band(Math.round(height * 0.06)), bottom: await band(Math.round(height * 0.88)) };
}

async function centreColour(pdf: Uint8Array, pageIndex: number): Promise<string> {
  const { bytes, width, height } = await renderedPagePng(pdf, pageIndex, 200);
  const { data } = await sharp(bytes).extract({ left: Math.floor(width / 2), top: Math.floor(height / 2), width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
  return [...data.subarray(0, 3)].map((v) => (v > 128 ? 'f' : '0')).join('');
}

describe('camera photos', () => {
  for (const enhance of ['none', 'document'] as const) {
    it(`applies EXIF orientation 6 and keeps no EXIF, GPS or serial (enhance ${enhance})`, async () => {
      const photo = await cameraJpeg({ width: 1600, height: 1200, orientation: 6 });
      const result = await processDocument([{ bytes: photo }], testOptions({ enhance }));
      const { top, bottom } = await topAndBottom(result.rendition);
      expect(top).toBeLessThan(bottom - 50); // the dark bar is at the top: upright
      for (const jpeg of await embeddedJpegs(result.rendition)) {
        const meta = await sharp(jpeg).metadata();
        expect([meta.exif, meta.icc, meta.xmp, meta.iptc]).toEqual([undefined, undefined, undefined, undefined]);
      }
      const raw = Buffer.from(result.rendition).toString('latin1');
      for (const leak of ['Exif', cameraMake, cameraSerial, 'GPS']) expect(raw).not.toContain(leak);
      expect(result.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['exif_orientation_applied', 'metadata_removed']));
      expect(result.findings.find((f) => f.code === 'metadata_removed')!.message).toContain('GPS');
    });
  }

  it('keeps an unenhanced camera JPEG without re-encoding, only its metadata segments gone', async () => {
    const photo = await cameraJpeg({ width: 1600, height: 1200, orientation: 6 });
    const result = await processDocument([{ bytes: photo }], testOptions());
    expect(result.findings.some((f) => f.code === 'jpeg_kept')).toBe(true);
    const [embedded] = await embeddedJpegs(result.rendition);
    const scan = photo.indexOf(Buffer.from([0xff, 0xda]));
    expect(Buffer.from(embedded!).includes(photo.subarray(scan, scan + 4096))).toBe(true);
  });

  it('caps at 300 dpi on A4 and never upscales; records low resolution', async () => {
    const big = await processDocument([{ bytes: await cameraJpeg({ width: 3600, height: 5200, gps: false }) }], testOptions());
    const [capped] = await embeddedJpegs(big.rendition);
    const meta = await sharp(capped!).metadata();
    expect(meta.width).toBeLessThanOrEqual(2481); // 8.27 in × 300 dpi
    expect(big.findings.some((f) => f.code === 'resolution_capped')).toBe(true);
    const small = await processDocument([{ bytes: await solidPng(600, 800, '#808080') }], testOptions());
    const [kept] = await embeddedJpegs(small.rendition);
    expect((await sharp(kept!).metadata()).width).toBe(600);
    expect(small.findings).toContainEqual(expect.objectContaining({ code: 'low_resolution', page: 1 }));
  });

  // Stored as a camera held each way would store it (mirrors too), with the EXIF orientation that undoes it.
  const undo: Record<number, string[]> = { 1: [], 2: ['-flop'], 3: ['-rotate', '180'], 4: ['-flip'], 5: ['-transpose'], 6: ['-rotate', '270'], 7: ['-transverse'], 8: ['-rotate', '90'] };
  const names = ['', 'TopLeft', 'TopRight', 'BottomRight', 'BottomLeft', 'LeftTop', 'RightTop', 'RightBottom', 'LeftBottom'];
  /** Mean grey of a share of an image: left, top, width, height as fractions. */
  async function meanOf(image: Uint8Array, box: [number, number, number, number]): Promise<number> {
    const { width, height } = await sharp(image).metadata();
    const [l, t, w, h] = box;
    const region = { left: Math.round(l * width!), top: Math.round(t * height!), width: Math.round(w * width!), height: Math.round(h * height!) };
    const grey = await sharp(image).extract(region).toColourspace('b-w').raw().toBuffer();
    return grey.reduce((sum, v) => sum + v, 0) / grey.length;
  }
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('crops with client corners in displayed pixels under EXIF orientation %i (enhance document)', async (orientation) => {
    // Upright 1200×900: a small dark block top left, another bottom right outside the corners' 960×720.
    const upright = execFileSync('convert', ['-size', '1200x900', 'xc:#e0e0e0', '-fill', '#101010', '-draw', 'rectangle 0,0 60,45', '-draw', 'rectangle 1050,780 1199,899', 'png:-']);
    const turned = execFileSync('convert', ['png:-', ...undo[orientation]!, 'png:-'], { input: upright });
    // ImageMagick writes the orientation only into an EXIF block that is already there.
    const tagged = await sharp(turned).withExif({ IFD0: { Make: cameraMake } }).jpeg({ quality: 92 }).toBuffer();
    const stored = execFileSync('convert', ['jpg:-', '-orient', names[orientation]!, 'jpg:-'], { input: tagged });
    expect((await sharp(stored).metadata()).orientation ?? 1).toBe(orientation);
    // ImageMagick, not our code, confirms the fixture shows upright.
    const shown = execFileSync('convert', ['jpg:-', '-auto-orient', 'png:-'], { input: stored });
    expect(await meanOf(shown, [0, 0, 0.04, 0.04])).toBeLessThan(60);
    const corners = [[0, 0], [960, 0], [960, 720], [0, 720]] as const;
    const result = await processDocument([{ bytes: stored, corners }], testOptions({ enhance: 'document', source: 'camera' }));
    const [page] = await embeddedJpegs(result.rendition);
    const meta = await sharp(page!).metadata();
    expect(meta.width! / meta.height!).toBeCloseTo(960 / 720, 1);
    expect(await meanOf(page!, [0, 0, 0.05, 0.05])).toBeLessThan(120);
    for (const far of [[0.85, 0, 0.15, 0.15], [0, 0.85, 0.15, 0.15], [0.85, 0.85, 0.15, 0.15]] as const) expect(await meanOf(page!, [...far])).toBeGreaterThan(180);
  });

  it('turns a document enhancement into one grey channel', async () => {
    const result = await processDocument([{ bytes: await cameraJpeg({ width: 800, height: 600 }) }], testOptions({ enhance: 'document' }));
    const [jpeg] = await embeddedJpegs(result.rendition);
    expect((await sharp(jpeg!).metadata()).channels).toBe(1);
  });
});

describe('several images and pages', () => {
  it('makes one PDF from several images, pages in order', async () => {
    const files = await Promise.all(['#ff0000', '#00ff00', '#0000ff'].map(async (c) => ({ bytes: await solidPng(300, 400, c), declaredType: 'image/png' })));
    const result = await processDocument(files, testOptions());
    expect(result.pageCount).toBe(3);
    expect(result.originals.map((o) => o.pages)).toEqual([1, 1, 1]);
    expect(await Promise.all([0, 1, 2].map((i) => centreColour(result.rendition, i)))).toEqual(['f00', '0f0', '00f']);
    expect(result.findings.filter((f) => f.code === 'low_resolution').map((f) => f.page)).toEqual([1, 2, 3]);
  });

  it('takes every page of a multi-page TIFF, in order', async () => {
    const result = await processDocument([{ bytes: await multipageTiff(['#00ff00', '#ff0000']) }], testOptions());
    expect(result.pageCount).toBe(2);
    expect(await Promise.all([0, 1].map((i) => centreColour(result.rendition, i)))).toEqual(['0f0', 'f00']);
  });

  it.each(['webp', 'avif', 'png', 'tiff'] as const)('accepts %s and strips its metadata', async (format) => {
    const result = await processDocument([{ bytes: await encodeAs(format, 640, 480) }], testOptions());
    expect(result.originals[0]!.mediaType).toBe(`image/${format}`);
    expect(Buffer.from(result.rendition).toString('latin1')).not.toContain(cameraSerial);
  });

  it('decodes an HEVC HEIC (iPhone) photo via libheif WebAssembly', async () => {
    const result = await processDocument([{ bytes: await heicPhoto(600, 800), declaredType: 'image/heic' }], testOptions());
    expect(result.originals[0]!.mediaType).toMatch(/^image\/hei[cf]$/);
    const { top, bottom } = await topAndBottom(result.rendition);
    expect(top).toBeLessThan(bottom - 50);
  });
});
