/**
 * The OCR text layer, through the worker pool as the job after the 201 will call it: pdftotext (poppler)
 * finds the page's words in reading order within 1 % character error rate (umlauts, ß and § counted),
 * the pixels stay the same, the PDF/A checks still hold, and a page with real text keeps its own. A
 * page that is one image is read from the image itself: the marking beside it is not read into the
 * layer, and the words lie on the ink poppler draws, wherever the image sits on the page.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processDocument } from '../../src/processing/index.ts';
import { createProcessingPool } from '../../src/processing/pool.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { pdffonts, pdfinfo, pikepdfReport, qpdfCheck, renderAll, type GrayPage } from '../fixtures/pdf-readers.ts';
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

/** Word boxes pdftotext finds on page 1 between the A4 marking bands (24 pt header, 18 pt footer), in points from the top-left. */
function wordBoxes(pdf: Uint8Array): Array<{ x0: number; y0: number; x1: number; y1: number }> {
  const html = execFileSync('pdftotext', ['-bbox', '-f', '1', '-l', '1', '-', '-'], { input: pdf }).toString();
  const boxes = [...html.matchAll(/<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">/g)].map((m) => ({ x0: Number(m[1]), y0: Number(m[2]), x1: Number(m[3]), y1: Number(m[4]) }));
  return boxes.filter((b) => b.y0 > 24 && b.y1 < 841.89 - 18);
}

/** The box around the dark pixels of a page rendered at `dpi`, between the same bands, in points from the top-left. */
function inkBox(page: GrayPage, dpi: number): { x0: number; y0: number; x1: number; y1: number } {
  const [top, bottom] = [Math.ceil((24 * dpi) / 72), Math.floor(((841.89 - 18) * dpi) / 72)];
  const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (let y = top; y < bottom; y++) {
    for (let x = 0; x < page.width; x++) {
      if (page.data[y * page.width + x]! >= 128) continue;
      [box.x0, box.x1, box.y0, box.y1] = [Math.min(box.x0, x), Math.max(box.x1, x + 1), Math.min(box.y0, y), Math.max(box.y1, y + 1)];
    }
  }
  const pt = 72 / dpi;
  return { x0: box.x0 * pt, y0: box.y0 * pt, x1: box.x1 * pt, y1: box.y1 * pt };
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

  it.each([2480, 1240])('reads a %i px wide page image, not the marking beside it, and puts its words on their ink', async (widthPx) => {
    const single = widthPx === 2480 ? rendition : (await processDocument([{ bytes: germanPage(widthPx) }], testOptions())).rendition;
    const read = widthPx === 2480 ? layered : await pool.addTextLayer(single, slow);
    const added = read.pages[0]!.join(' ');
    expect(characterErrorRate(germanText.join(' '), added)).toBeLessThanOrEqual(0.01);
    for (const marking of ['DIENSTGEBRAUCH', 'Beispiele', '01JDOC0000000000000000TEST']) expect(added).not.toContain(marking);
    expect(pdftotext(read.pdf, 1).match(/DIENSTGEBRAUCH/g)).toHaveLength(1);
    // Where the words were read from: their boxes span the ink poppler draws, to within about a letter's side bearing.
    const words = wordBoxes(read.pdf);
    const ink = inkBox((await renderAll('poppler', single, 150))[0]!, 150);
    const span = { x0: Math.min(...words.map((w) => w.x0)), x1: Math.max(...words.map((w) => w.x1)), y0: Math.min(...words.map((w) => w.y0)), y1: Math.max(...words.map((w) => w.y1)) };
    expect(Math.abs(span.x0 - ink.x0)).toBeLessThan(2);
    expect(Math.abs(span.x1 - ink.x1)).toBeLessThan(2);
    expect(Math.abs(span.y0 - ink.y0)).toBeLessThan(4);
    expect(Math.abs(span.y1 - ink.y1)).toBeLessThan(4);
  }, slow);

  it('leaves a page that already carries text as it was', async () => {
    const textOnly = (await processDocument([{ bytes: await textPdf(1) }], testOptions())).rendition;
    const kept = await pool.addTextLayer(textOnly, slow);
    expect(kept.pages).toEqual([[]]);
    expect(Buffer.from(kept.pdf).equals(Buffer.from(textOnly))).toBe(true);
    expect(pdftotext(kept.pdf, 1).match(/Inhalt Seite 1/g)).toHaveLength(1);
  }, slow);
});
