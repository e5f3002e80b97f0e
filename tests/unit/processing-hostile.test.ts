import { describe, expect, it } from 'vitest';
import { processDocument } from '../../src/processing/index.ts';
import type { InputFile } from '../../src/processing/types.ts';
import { cameraJpeg, pngPixelBomb } from '../../testkit/fixtures/images.ts';
import { readPages } from '../fixtures/inspect.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { encryptPdf, textPdf, zeroPagePdf } from '../../testkit/fixtures/pdfs.ts';

/** Refused with its code and a detail; a refusal that first decoded the whole bomb would run into the test's timeout. */
async function refused(files: InputFile[], code: string, options = testOptions()) {
  await expect(processDocument(files, options)).rejects.toMatchObject({ code, detail: expect.any(String) });
}

describe('hostile and broken inputs', () => {
  it('refuses garbage and unsupported types', async () => {
    await refused([{ bytes: new Uint8Array(4096).fill(0x41) }], 'unsupported_media_type');
    await refused([{ bytes: Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1') }], 'unsupported_media_type');
  });

  it('refuses a declared type the bytes contradict, naming both', async () => {
    const jpeg = await cameraJpeg({ width: 200, height: 100 });
    await expect(processDocument([{ bytes: jpeg, declaredType: 'application/pdf' }], testOptions())).rejects.toMatchObject({
      code: 'media_type_mismatch',
      detail: expect.stringMatching(/application\/pdf.*image\/jpeg/),
    });
  });

  it('disarms a JPEG/PDF polyglot: handled as the JPEG it starts with, the PDF tail is not carried over', async () => {
    const tail = Buffer.from(await textPdf(1));
    const polyglot = Buffer.concat([await cameraJpeg({ width: 400, height: 300 }), tail]);
    await refused([{ bytes: polyglot, declaredType: 'application/pdf' }], 'media_type_mismatch');
    const result = await processDocument([{ bytes: polyglot, declaredType: 'image/jpeg' }], testOptions());
    expect(result.originals[0]!.mediaType).toBe('image/jpeg');
    const pages = await readPages(result.rendition);
    expect(pages[0]!.texts.some((t) => t.str.includes('Inhalt'))).toBe(false);
  });

  it('refuses truncated images and pixel bombs', async () => {
    const jpeg = await cameraJpeg({ width: 800, height: 600 });
    await refused([{ bytes: jpeg.subarray(0, jpeg.length / 2) }], 'unprocessable');
    await refused([{ bytes: pngPixelBomb() }], 'image_too_large');
  });

  it('refuses a truncated PDF nothing can read, and a PDF without pages', async () => {
    const pdf = await textPdf(3);
    await refused([{ bytes: pdf.subarray(0, Math.floor(pdf.length * 0.6)) }], 'unprocessable');
    await refused([{ bytes: await zeroPagePdf() }], 'unprocessable');
  });

  it('refuses a user-password PDF, rebuilds an owner-password-only one from pixels', async () => {
    const pdf = await textPdf(1);
    await refused([{ bytes: encryptPdf(pdf, { owner: 'o', user: 'u' }) }], 'encrypted_pdf');
    const result = await processDocument([{ bytes: encryptPdf(pdf, { owner: 'o' }) }], testOptions());
    expect(result.findings).toContainEqual(expect.objectContaining({ code: 'rasterized', count: 1 }));
    const [page] = await readPages(result.rendition);
    expect(page!.texts.some((t) => t.str === 'VS-NUR FÜR DEN DIENSTGEBRAUCH')).toBe(true);
    expect(page!.texts.some((t) => t.str.includes('Inhalt'))).toBe(false); // only pixels remain
  });

  it('rebuilds from pixels on request (sanitize: rasterize)', async () => {
    const result = await processDocument([{ bytes: await textPdf(2) }], testOptions({ sanitize: 'rasterize' }));
    expect(result.pageCount).toBe(2);
    expect(result.findings).toContainEqual(expect.objectContaining({ code: 'rasterized', count: 2 }));
  });

  it('enforces the page limit and the time budget', async () => {
    const pdf = await textPdf(30);
    await refused([{ bytes: pdf }], 'page_limit_exceeded', testOptions({ limits: { maxPages: 20, timeBudgetMs: 60_000 } }));
    const images = await Promise.all([1, 2, 3].map(async () => ({ bytes: await cameraJpeg({ width: 200, height: 100 }) })));
    await refused(images, 'page_limit_exceeded', testOptions({ limits: { maxPages: 2, timeBudgetMs: 60_000 } }));
    await refused([{ bytes: pdf }], 'processing_timeout', testOptions({ sanitize: 'rasterize', limits: { maxPages: 100, timeBudgetMs: 200 } }));
  });

  it('hashes every original as received and the rendition', async () => {
    const pdf = await textPdf(1);
    const result = await processDocument([{ bytes: pdf }], testOptions());
    const { createHash } = await import('node:crypto');
    expect(result.originals[0]!.sha256).toBe(createHash('sha256').update(pdf).digest('hex'));
    expect(result.renditionSha256).toBe(createHash('sha256').update(result.rendition).digest('hex'));
  });
});
