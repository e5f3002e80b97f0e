/**
 * The OCR text layer, through the worker pool as the job after the 201 will call it: pdftotext (poppler)
 * finds the page's words in reading order within 1 % character error rate (umlauts, ß and § counted),
 * the pixels stay the same, the PDF/A checks still hold, and a page with real text keeps its own.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processDocument } from '../../src/processing/index.ts';
import { createProcessingPool } from '../../src/processing/pool.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { pdffonts, pdfinfo, pikepdfReport, qpdfCheck, renderAll } from '../fixtures/pdf-readers.ts';
import { textPdf } from '../../testkit/fixtures/pdfs.ts';
import { characterErrorRate, germanPage, germanText } from '../../testkit/fixtures/photos.ts';

const pool = createProcessingPool({ threads: 1, maxQueue: 2 });
afterAll(() => pool.close());

function pdftotext(pdf: Uint8Array, page: number): string {
  return execFileSync('pdftotext', ['-f', String(page), '-l', String(page), '-', '-'], { input: pdf }).toString();
}

/** The page's text without the marking's header and footer lines. */
function bodyText(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.includes('DIENSTGEBRAUCH') && !l.includes('Seite 1 von') && !l.includes('Seite 2 von'))
    .join('\n');
}

/** A hang guard for a loaded CI machine (OCR of a page takes ~1 s alone, many times that when shared); never a speed check. */
const slow = 300_000;

describe('OCR text layer', () => {
  const second = ['Anlage zum Bescheid vom 3. März: Gebühren nach § 7 für Übersetzungen.', ...germanText.slice(1).reverse()];
  let rendition: Uint8Array;
  let layered: Awaited<ReturnType<typeof pool.addTextLayer>>;
  beforeAll(async () => {
    rendition = (await processDocument([{ bytes: germanPage(2480) }, { bytes: germanPage(2480, second) }], testOptions())).rendition;
    layered = await pool.addTextLayer(rendition, slow);
  }, slow);

  it('puts each page\'s words on that page, in reading order', () => {
    expect(layered.findings.map((f) => [f.code, f.page])).toEqual([
      ['text_layer_added', 1],
      ['text_layer_added', 2],
    ]);
    expect(characterErrorRate(germanText.join('\n'), bodyText(pdftotext(layered.pdf, 1)))).toBeLessThanOrEqual(0.01);
    expect(characterErrorRate(second.join('\n'), bodyText(pdftotext(layered.pdf, 2)))).toBeLessThanOrEqual(0.01);
  });

  it('is invisible and keeps the PDF/A checks', async () => {
    // Invisible: poppler and MuPDF draw the same pixels with and without the layer.
    for (const reader of ['poppler', 'MuPDF'] as const) {
      const [before, after] = [await renderAll(reader, rendition, 50), await renderAll(reader, layered.pdf, 50)];
      expect(after.map((p, i) => Buffer.from(p.data).equals(Buffer.from(before[i]!.data)))).toEqual([true, true]);
    }
    expect((await qpdfCheck(layered.pdf)).ok).toBe(true);
    expect((await pdffonts(layered.pdf)).every((f) => f.embedded)).toBe(true);
    const pike = await pikepdfReport(layered.pdf);
    expect([pike.outputIntent, pike.id, pike.pages]).toEqual([true, true, 2]);
    expect((await pdfinfo(layered.pdf)).xmp).toContain('pdfaid:part');
  }, slow);

  it('leaves a page that already carries text as it was', async () => {
    const textOnly = (await processDocument([{ bytes: await textPdf(1) }], testOptions())).rendition;
    const kept = await pool.addTextLayer(textOnly, slow);
    expect(kept.pages).toEqual([[]]);
    expect(Buffer.from(kept.pdf).equals(Buffer.from(textOnly))).toBe(true);
    expect(pdftotext(kept.pdf, 1).match(/Inhalt Seite 1/g)).toHaveLength(1);
  }, slow);
});
