/**
 * Issue #13, side by side in one run: (1) perspective correction of a 12 MP camera photo (decode grey,
 * warp the found page flat) against OpenCV in Python (cv2.imdecode grey + warpPerspective, bilinear, the
 * same corners and output size), both timed in-process; (2) OCR pages per minute per core: our text
 * layer (tesseract 5 through stdin/stdout, one page per process, one thread) against OCRmyPDF --jobs 1 on
 * the same generated German A4 pages at 300 dpi, both as the whole job on one core.
 * Run alone: npx tsx bench/photo-ocr.ts   (BENCH_RUNS, BENCH_PAGES lower the work)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createDeadline } from '../src/processing/budget.ts';
import { findPage } from '../src/processing/document-look.ts';
import { processDocument } from '../src/processing/index.ts';
import { flatSize, warpToPage } from '../src/processing/perspective.ts';
import { addTextLayer } from '../src/processing/text-layer.ts';
import { testOptions } from '../tests/fixtures/options.ts';
import { germanPage, photoCase, photograph } from '../tests/fixtures/photos.ts';
import { timeMedian } from './report.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PAGES = Number(process.env.BENCH_PAGES ?? 4);

const cvScript = `
import sys, time, json, numpy as np, cv2
cv2.setNumThreads(1)
data = open(sys.argv[1], 'rb').read()
src = np.float32(json.loads(sys.argv[2])); w, h, runs = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
def once():
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
once(); times = []
for _ in range(runs):
    t = time.perf_counter(); once(); times.append((time.perf_counter() - t) * 1000)
print(sorted(times)[len(times) // 2])
`;

async function perspective(dir: string): Promise<string[]> {
  const pageWidth = 2480;
  const shot = photoCase({ photoWidth: 4000, photoHeight: 3000, pageWidth, degrees: 5, scale: 0.9, keystone: 0.04 });
  const photo = photograph(germanPage(pageWidth), shot, pageWidth, Math.round(pageWidth * Math.SQRT2));
  const found = await findPage(sharp(photo), 4000, 3000);
  if (!found.sure) throw new Error('page not found in the benchmark photo');
  const { width, height } = flatSize(found.corners);
  const ours = await timeMedian(async () => {
    const { data, info } = await sharp(photo).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    warpToPage({ data, width: info.width, height: info.height }, found.corners, width, height);
  }, RUNS);
  const detect = await timeMedian(() => findPage(sharp(photo), 4000, 3000), RUNS);
  const file = join(dir, 'photo.jpg');
  writeFileSync(file, photo);
  const cv = Number(execFileSync('/usr/bin/python3', ['-c', cvScript, file, JSON.stringify(found.corners), String(width), String(height), String(RUNS)]).toString());
  return [
    `| 12 MP photo: decode grey + warp to ${width}×${height} | ${ours.toFixed(0)} ms | OpenCV 4.6 (Python, 1 thread) ${cv.toFixed(0)} ms | ${(ours / cv).toFixed(2)}× (target ≤ 1.5×) |`,
    `| 12 MP photo: page detection (our own, preview 1000 px) | ${detect.toFixed(0)} ms | – | – |`,
  ];
}

async function ocr(dir: string): Promise<string[]> {
  const pages = Array.from({ length: PAGES }, () => germanPage(2480));
  const rendition = (await processDocument(pages.map((bytes) => ({ bytes })), testOptions())).rendition;
  const ours = await timeMedian(() => addTextLayer(rendition, { concurrency: 1, deadline: createDeadline(3_600_000) }), Math.min(RUNS, 3));
  const pngs = pages.map((p, i) => {
    const f = join(dir, `p${i}.png`);
    writeFileSync(f, p);
    return f;
  });
  const input = join(dir, 'pages.pdf');
  // The same page images as a plain image PDF, as a scanner writes it (img2pdf: no re-encoding).
  execFileSync('/usr/bin/python3', ['-c', 'import sys, img2pdf; open(sys.argv[1], "wb").write(img2pdf.convert(sys.argv[2:], layout_fun=img2pdf.get_layout_fun((img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297)))))', input, ...pngs]);
  const peer = await timeMedian(
    async () => execFileSync('ocrmypdf', ['-q', '--jobs', '1', '-l', 'deu+eng', '--output-type', 'pdf', '--optimize', '0', input, join(dir, 'out.pdf')], { env: { ...process.env, OMP_THREAD_LIMIT: '1' } }),
    Math.min(RUNS, 3),
  );
  const perMin = (ms: number) => (PAGES / ms) * 60_000;
  return [`| OCR text layer, ${PAGES} A4 pages at 300 dpi, deu+eng, one core | ${perMin(ours).toFixed(1)} pages/min | OCRmyPDF --jobs 1: ${perMin(peer).toFixed(1)} pages/min | ${(perMin(ours) / perMin(peer)).toFixed(2)}× (target ≥ 1.0×) |`];
}

const dir = mkdtempSync(join(tmpdir(), 'vsc-bench-photo-'));
try {
  const rows = [...(await perspective(dir)), ...(await ocr(dir))];
  console.log(['| what | VS-Capture | peer | ratio |', '|---|---|---|---|', ...rows].join('\n'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
