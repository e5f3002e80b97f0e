/**
 * OCR over a document's pages in lanes: the pages are split into runs of consecutive pages, as many runs
 * as lanes (more when a run would exceed what one tesseract process reads, ocr.ts `processBounds`), and
 * each lane prepares the pages of its run one by one and reads them with one process, so the models load
 * once a run instead of once a page. A run whose pages together exceed the pixel bound is read by more
 * processes, one after the other.
 */
import { processBounds, type OcrWord } from './ocr.ts';
import type { TiffPage } from './tiff.ts';

export interface LaneWork<T> {
  /** Makes page `i` (0-based) ready to read: what the caller keeps of it, and the image to read. */
  prepare(i: number): Promise<{ kept: T; image: TiffPage }>;
  /** Reads pages with one process (ocr.ts `recognizePages`); words by page. */
  read(images: TiffPage[]): Promise<OcrWord[][]>;
}

/** Consecutive runs of `count` pages, a multiple of `lanes` of them, none longer than `processBounds.pages`, lengths differing by one at most. */
function runsOf(count: number, lanes: number): number[][] {
  const runs = Math.min(count, lanes * Math.ceil(count / (lanes * processBounds.pages)));
  return Array.from({ length: runs }, (_, r) => {
    const [from, to] = [Math.floor((r * count) / runs), Math.floor(((r + 1) * count) / runs)];
    return Array.from({ length: to - from }, (_, k) => from + k);
  });
}

/** Reads one run: its pages prepared in order, handed to a process whenever the next page would exceed the pixel bound, and at the end. */
async function readRun<T>(run: number[], work: LaneWork<T>, results: Array<{ kept: T; words: OcrWord[] }>): Promise<void> {
  let batch: Array<{ i: number; kept: T; image: TiffPage }> = [];
  let pixels = 0;
  const flush = async () => {
    const words = await work.read(batch.map((b) => b.image));
    for (const [k, b] of batch.entries()) results[b.i] = { kept: b.kept, words: words[k]! };
    [batch, pixels] = [[], 0];
  };
  for (const i of run) {
    const page = await work.prepare(i);
    const size = page.image.width * page.image.height;
    if (batch.length > 0 && pixels + size > processBounds.pixels) await flush();
    batch.push({ i, ...page });
    pixels += size;
  }
  if (batch.length > 0) await flush();
}

/** Pages 0..count-1 prepared and read in `lanes` lanes; per page what `prepare` kept and its words, in page order. */
export async function readInLanes<T>(count: number, lanes: number, work: LaneWork<T>): Promise<Array<{ kept: T; words: OcrWord[] }>> {
  const results = new Array<{ kept: T; words: OcrWord[] }>(count);
  lanes = Math.max(1, lanes);
  const runs = runsOf(count, lanes);
  let next = 0;
  const lane = async () => {
    while (next < runs.length) await readRun(runs[next++]!, work, results);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, runs.length) }, lane));
  return results;
}
