/**
 * How the text layer spreads a document's pages over tesseract processes (ocr-lanes.ts), seen through
 * addTextLayer with a pipe that counts the processes it runs: one process per lane reads a run of pages,
 * never more helper processes at once than lanes, pages of different resolutions each at their own
 * (ImageMagick reads the TIFF each process got), every page's words land on that page (pdftotext -f N
 * -l N), and no process reads more than its bound of pages and pixels however long the document.
 */
import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDeadline } from '../../src/processing/budget.ts';
import type { Pipe } from '../../src/processing/helpers.ts';
import { processDocument } from '../../src/processing/index.ts';
import { processBounds } from '../../src/processing/ocr.ts';
import { pipeThrough } from '../../src/processing/pipe.ts';
import { addTextLayer } from '../../src/processing/text-layer.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { textPdf } from '../../testkit/fixtures/pdfs.ts';
import { characterErrorRate, germanPage } from '../../testkit/fixtures/photos.ts';

/** A hang guard for a loaded machine, never a speed check. */
const slow = 300_000;

/** The pages of each TIFF tesseract was handed, as ImageMagick reads them: width, height, dpi. */
type Described = Array<[number, number, number]>;

/** addTextLayer with `concurrency` lanes; what each tesseract process it ran was given to read. */
async function layered(pdf: Uint8Array, concurrency: number): Promise<{ result: Awaited<ReturnType<typeof addTextLayer>>; processes: Described[] }> {
  const processes: Described[] = [];
  let [running, most] = [0, 0];
  const pipe: Pipe = async (program, args, input, limits) => {
    if (program === 'tesseract') {
      const lines = execFileSync('identify', ['-format', '%w %h %x\n', 'tiff:-'], { input }).toString().trim().split('\n');
      processes.push(lines.map((l) => l.split(' ').map(Number) as [number, number, number]));
    }
    most = Math.max(most, ++running);
    try {
      return await pipeThrough(program, args, input, limits);
    } finally {
      running--;
    }
  };
  const result = await addTextLayer(pdf, { concurrency, pipe, deadline: createDeadline(slow) });
  // A lane runs one helper at a time (pdftoppm, djpeg, tesseract): never more at once than lanes.
  expect(most).toBeLessThanOrEqual(concurrency);
  return { result, processes };
}

function pdftotext(pdf: Uint8Array, page: number): string {
  return execFileSync('pdftotext', ['-f', String(page), '-l', String(page), '-', '-'], { input: pdf }).toString();
}

describe('OCR lanes', () => {
  const texts = [
    ['Erste Seite: Bescheid über die Gebühren nach Tarif 7.', 'Größe der Straße und des Grundstücks.'],
    ['Zweite Seite: Anlage zum Antrag vom 3. März.', 'Übersetzungen werden gesondert berechnet.'],
    ['Dritte Seite: Widerspruch gegen den Bescheid.', 'Frist von einem Monat nach Zustellung.'],
  ];
  // A4 photos placed at capture, each read from its own pixels: 2480, 1240 and 1800 px wide (300, 150 and about 218 dpi as photographed).
  const widths = [2480, 1240, 1800];
  let rendition: Uint8Array;
  beforeAll(async () => {
    rendition = (await processDocument(widths.map((w, i) => ({ bytes: germanPage(w, texts[i]) })), testOptions())).rendition;
  }, slow);

  it('reads a run of pages of different resolutions with one process per lane, each page\'s words on its page', async () => {
    const one = await layered(rendition, 1);
    expect(one.processes).toHaveLength(1);
    // Each photo is placed a little smaller than A4 between the marking bands: all at the same scale, so their dpi go as their widths.
    const read = one.processes[0]!;
    expect(read.map(([w]) => w)).toEqual(widths);
    const first = read[0]![2];
    expect(first).toBeGreaterThanOrEqual(300);
    for (const [w, , dpi] of read) expect(Math.abs(dpi - (first * w) / widths[0]!)).toBeLessThanOrEqual(1);
    texts.forEach((lines, i) => {
      const page = pdftotext(one.result.pdf, i + 1);
      expect(characterErrorRate(lines.join(' '), one.result.pages[i]!.join(' '))).toBeLessThanOrEqual(0.01);
      for (const [j, other] of texts.entries()) expect(page.includes(other[0]!.split(':')[0]!)).toBe(i === j);
    });
    expect(one.result.findings.map((f) => [f.code, f.page])).toEqual([1, 2, 3].map((n) => ['text_layer_added', n]));

    // Two lanes: two processes, the pages split between them, the same words on the same pages.
    const two = await layered(rendition, 2);
    expect(two.processes.map((p) => p.map(([w]) => w))).toEqual(expect.arrayContaining([[2480], [1240, 1800]]));
    expect(two.processes).toHaveLength(2);
    expect(two.result.pages).toEqual(one.result.pages);
  }, slow);

  it('bounds the pages and the pixels one process reads', async () => {
    // Nine A4 pages in one lane: more than one process may read, so two runs of four and five.
    const a4 = await layered(await textPdf(processBounds.pages + 1), 1);
    expect(a4.processes.map((p) => p.length)).toEqual([4, 5]);
    // Four A3 pages at 300 dpi (17.4 M pixels each): three fit one process's pixels, the fourth goes to the next.
    const a3 = await layered(await textPdf(4, { size: [841.89, 1190.55] }), 1);
    expect(a3.processes.map((p) => p.length)).toEqual([3, 1]);
    for (const pages of [...a4.processes, ...a3.processes]) {
      expect(pages.length).toBeLessThanOrEqual(processBounds.pages);
      expect(pages.reduce((sum, [w, h]) => sum + w * h, 0)).toBeLessThanOrEqual(processBounds.pixels);
    }
    // Their only text is their own: nothing read, nothing added.
    expect([...a4.result.pages, ...a3.result.pages].every((words) => words.length === 0)).toBe(true);
  }, slow);
});
