/**
 * OCR engine: tesseract 5 (Debian tesseract-ocr, tesseract-ocr-deu), several pages per process as one
 * multi-page TIFF on stdin (tiff.ts, each page at its own resolution) and TSV on stdout (pipe.ts), so no
 * page image or text ever touches the disk and the models (~0.2 s CPU for deu+eng) load once for all of
 * them. One thread per process (OMP_THREAD_LIMIT=1: two threads contended, 1.3 s → 4.9 s a page); time,
 * memory and output bounded, scaled by the pages it reads.
 */
import type { Pipe } from './helpers.ts';
import { pipeThrough } from './pipe.ts';
import { multiPageTiff, type TiffPage } from './tiff.ts';

export interface OcrWord {
  text: string;
  /** Box in pixels of the image that was read. */
  left: number;
  top: number;
  width: number;
  height: number;
  /** Reading-order index of the line the word belongs to (tesseract's block, paragraph, line). */
  line: number;
  /** The line's box, top and height in pixels: words of one line share a baseline. */
  lineTop: number;
  lineHeight: number;
  confidence: number;
}

export interface OcrOptions {
  /** tesseract `-l`; default `deu+eng`. */
  languages?: string;
  /** The process is killed after this long per page it reads; default 60 s. */
  timeoutMs?: number;
  /** Address space limit of the process; default 1 GiB and twice its input (tesseract holds stdin whole). */
  memoryBytes?: number;
  /** Runs the process; default here, in this thread (a pool worker passes the main thread's, helpers.ts). */
  pipe?: Pipe;
}

/** TSV of a page is a few hundred KB; more means something is wrong. */
const maxOutputBytesPerPage = 16 * 1024 * 1024;

/** What one process reads at most: its input and memory stay bounded however long the document (a 40 M pixel page always fits). */
export const processBounds = { pages: 8, pixels: 64_000_000 } as const;

/** Words with their lines from tesseract's TSV, by page (level 4 rows are lines, level 5 rows words; column 2 the page from 1). */
export function parseTsv(tsv: string, pageCount: number): OcrWord[][] {
  const pages = Array.from({ length: pageCount }, (): OcrWord[] => []);
  const lines = new Map<string, { index: number; top: number; height: number }>();
  const linesOf = new Array<number>(pageCount).fill(0);
  for (const row of tsv.split('\n').slice(1)) {
    const cells = row.split('\t');
    if (cells.length < 12) continue;
    const [level, page, block, par, line, , left, top, width, height, conf] = cells.map(Number) as number[];
    const words = pages[page! - 1];
    if (!words) continue;
    const key = `${page}.${block}.${par}.${line}`;
    if (level === 4) lines.set(key, { index: linesOf[page! - 1]!++, top: top!, height: height! });
    const text = cells.slice(11).join('\t').trim();
    const owner = lines.get(key);
    if (level !== 5 || text === '' || !owner) continue;
    words.push({ text, left: left!, top: top!, width: width!, height: height!, line: owner.index, lineTop: owner.top, lineHeight: owner.height, confidence: conf! });
  }
  return pages;
}

/** Reads grey pages with one tesseract process; words by page, in reading order. At most `processBounds` pages and pixels. */
export async function recognizePages(pages: TiffPage[], options: OcrOptions = {}): Promise<OcrWord[][]> {
  const pixels = pages.reduce((sum, p) => sum + p.width * p.height, 0);
  if (pages.length > processBounds.pages || (pages.length > 1 && pixels > processBounds.pixels)) throw new Error(`${pages.length} pages of ${pixels} pixels exceed what one tesseract process reads`);
  const languages = options.languages ?? 'deu+eng';
  // No --dpi: it would hold for every page; each page's TIFF resolution does (checked in tests/unit/processing-tiff.test.ts).
  const args = ['stdin', 'stdout', '-l', languages, '--psm', '3', 'tsv'];
  const tiff = multiPageTiff(pages);
  const tsv = await (options.pipe ?? pipeThrough)('tesseract', args, tiff, {
    timeoutMs: (options.timeoutMs ?? 60_000) * pages.length,
    memoryBytes: options.memoryBytes ?? 1024 ** 3 + 2 * tiff.length,
    maxOutputBytes: maxOutputBytesPerPage * pages.length,
    step: { de: 'Die Texterkennung', en: 'Text recognition' },
  });
  return parseTsv(tsv.toString('utf8'), pages.length);
}
