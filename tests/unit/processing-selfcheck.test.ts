import { PDFDocument, rgb } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { processDocument } from '../../src/processing/index.ts';
import { markingBands, markingTexts } from '../../src/processing/marking.ts';
import { unmarkedPages } from '../../src/processing/selfcheck.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { manyPages } from '../fixtures/hostile-pdfs.ts';
import { textPdf } from '../../testkit/fixtures/pdfs.ts';

const a4 = { widthPt: 595.28, heightPt: 841.89, bands: markingBands(595.28, 841.89) };

/** The rendition with something painted over one band of page `index`, after the marking (white by default). */
async function covered(rendition: Uint8Array, index: number, band: 'top' | 'bottom', color = rgb(1, 1, 1)): Promise<Uint8Array> {
  const doc = await PDFDocument.load(rendition);
  const page = doc.getPage(index);
  const y = band === 'top' ? a4.heightPt - a4.bands.header : 0;
  page.drawRectangle({ x: 0, y, width: a4.widthPt, height: band === 'top' ? a4.bands.header : a4.bands.footer, opacity: 1, borderWidth: 0, color });
  return doc.save();
}

describe('self-check of the marking as pdf.js shows it', () => {
  const options = testOptions();
  const texts = markingTexts(options.marking);

  it('finds the marking on every page of a rendition', async () => {
    const { rendition } = await processDocument([{ bytes: await textPdf(3) }], options);
    expect(await unmarkedPages(rendition, [a4, a4, a4], texts)).toEqual([]);
  });

  it('names the page whose header or footer is hidden', async () => {
    const { rendition } = await processDocument([{ bytes: await textPdf(3) }], options);
    expect(await unmarkedPages(await covered(rendition, 1, 'top'), [a4, a4, a4], texts)).toEqual([1]);
    expect(await unmarkedPages(await covered(rendition, 2, 'bottom'), [a4, a4, a4], texts)).toEqual([2]);
  });

  it('counts a band painted black as hidden, though it holds more dark pixels than the marking', async () => {
    const { rendition } = await processDocument([{ bytes: await textPdf(3) }], options);
    expect(await unmarkedPages(await covered(rendition, 0, 'bottom', rgb(0, 0, 0)), [a4, a4, a4], texts)).toEqual([0]);
    expect(await unmarkedPages(await covered(rendition, 2, 'top', rgb(0, 0, 0)), [a4, a4, a4], texts)).toEqual([2]);
  });

  // Ids whose "Seite 100 von 100" showed under 60% of the dark pixels of "Seite 1 von 100" at the check's resolution: refused before each page got a reference of its own text.
  it.each(['01M8T2RX1B6EEZ9W6FSEAVKJZD', '01M8T2S43WYZH6KTCTYQWJFWSX'])('accepts all 100 pages of an untouched document whatever their numbers (document %s)', async (documentId) => {
    const result = await processDocument([{ bytes: await manyPages(100) }], testOptions({}, { documentId }));
    expect(result.pageCount).toBe(100);
    expect(result.findings.filter((f) => f.code === 'marking_rebuilt')).toEqual([]);
  });
});
