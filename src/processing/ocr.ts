/**
 * OCR engine: tesseract 5 (Debian tesseract-ocr, tesseract-ocr-deu), one process per page, the image
 * on stdin and TSV on stdout (pipe.ts), so no page image or text ever touches the disk. One thread per
 * process (OMP_THREAD_LIMIT=1: two threads contended, 1.3 s → 4.9 s a page); time, memory and output bounded.
 */
import type { Pipe } from './helpers.ts';
import { pipeThrough } from './pipe.ts';

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
  /** Resolution of the image, so tesseract does not guess it. */
  dpi: number;
  /** tesseract `-l`; default `deu+eng`. */
  languages?: string;
  /** The process is killed after this long; default 60 s. */
  timeoutMs?: number;
  /** Address space limit of the process; default 1 GiB. */
  memoryBytes?: number;
  /** Runs the process; default here, in this thread (a pool worker passes the main thread's, helpers.ts). */
  pipe?: Pipe;
}

/** TSV of a page is a few hundred KB; more means something is wrong. */
const maxOutputBytes = 16 * 1024 * 1024;

/** Words with their lines from tesseract's TSV (level 4 rows are lines, level 5 rows words). */
export function parseTsv(tsv: string): OcrWord[] {
  const words: OcrWord[] = [];
  const lines = new Map<string, { index: number; top: number; height: number }>();
  for (const row of tsv.split('\n').slice(1)) {
    const cells = row.split('\t');
    if (cells.length < 12) continue;
    const [level, , block, par, line, , left, top, width, height, conf] = cells.map(Number) as number[];
    const key = `${block}.${par}.${line}`;
    if (level === 4) lines.set(key, { index: lines.size, top: top!, height: height! });
    const text = cells.slice(11).join('\t').trim();
    const owner = lines.get(key);
    if (level !== 5 || text === '' || !owner) continue;
    words.push({ text, left: left!, top: top!, width: width!, height: height!, line: owner.index, lineTop: owner.top, lineHeight: owner.height, confidence: conf! });
  }
  return words;
}

/** Reads one page image (PNG, PNM, JPEG or TIFF bytes). */
export async function recognize(image: Uint8Array, options: OcrOptions): Promise<OcrWord[]> {
  const languages = options.languages ?? 'deu+eng';
  const args = ['stdin', 'stdout', '-l', languages, '--dpi', String(Math.round(options.dpi)), '--psm', '3', 'tsv'];
  const tsv = await (options.pipe ?? pipeThrough)('tesseract', args, image, {
    timeoutMs: options.timeoutMs ?? 60_000,
    memoryBytes: options.memoryBytes ?? 1024 ** 3,
    maxOutputBytes,
    step: { de: 'Die Texterkennung', en: 'Text recognition' },
  });
  return parseTsv(tsv.toString('utf8'));
}
