/**
 * Issue #13, side by side in one run: (1) perspective correction of a 12 MP camera photo (decode grey,
 * warp the found page flat) against OpenCV in Python (cv2.imdecode grey + warpPerspective, bilinear, the
 * same corners and output size), both timed in-process, whole and split into decode and warp (the warp
 * also as CPU time per run, over BENCH_WARP_RUNS repetitions, for a shared machine); (2) OCR pages per minute per core: our text
 * layer (tesseract 5 through stdin/stdout, one process per lane reading its pages as one multi-page TIFF, one thread) against OCRmyPDF --jobs 1 on
 * the same generated German A4 pages at 300 dpi, both as the whole job on one core, in wall time and in CPU
 * time (process and children: cpu-time.ts), which a loaded machine disturbs less.
 * Run alone: npx tsx bench/photo-ocr.ts   (BENCH_RUNS, BENCH_PAGES, BENCH_WARP_RUNS lower the work)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { createDeadline } from '../src/processing/budget.ts';
import { decodeStored, findPage, warpFlat } from '../src/processing/document-look.ts';
import { processDocument } from '../src/processing/index.ts';
import { jpegLuma } from '../src/processing/grey-decode.ts';
import { flatSize } from '../src/processing/perspective.ts';
import { addTextLayer } from '../src/processing/text-layer.ts';
import { testOptions } from '../testkit/fixtures/options.ts';
import { germanPage, photoCase, photograph } from '../testkit/fixtures/photos.ts';
import { cpuMedian, type CpuMedian } from './cpu-time.ts';
import { sectionMarkdown, timeMedian, type BenchComparison, type BenchRow, type BenchSection } from '../testkit/bench-report.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PAGES = Number(process.env.BENCH_PAGES ?? 4);

const cvScript = `
import sys, time, json, numpy as np, cv2
cv2.setNumThreads(1)
data = open(sys.argv[1], 'rb').read()
src = np.float32(json.loads(sys.argv[2])); w, h, runs = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
dst = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
decode = lambda: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
img = decode()
warp = lambda: cv2.warpPerspective(img, cv2.getPerspectiveTransform(src, dst), (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
def measure(fn, n):
    fn(); times = []; cpu = time.process_time()
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append((time.perf_counter() - t) * 1000)
    return {'medianMs': sorted(times)[len(times) // 2], 'cpuMs': (time.process_time() - cpu) * 1000 / n}
print(json.dumps({'both': measure(lambda: (decode(), warp()), runs), 'decode': measure(decode, runs), 'warp': measure(warp, int(sys.argv[6]))}))
`;

/** Repetitions of the warp alone for its CPU time: it is short, and the machine may be shared. */
const WARP_RUNS = Number(process.env.BENCH_WARP_RUNS ?? 30);

type Timed = { medianMs: number; cpuMs: number };

interface Measured {
  rows: BenchRow[];
  comparisons: BenchComparison[];
}

async function perspective(dir: string): Promise<Measured> {
  const pageWidth = 2480;
  const shot = photoCase({ photoWidth: 4000, photoHeight: 3000, pageWidth, degrees: 5, scale: 0.9, keystone: 0.04 });
  const photo = photograph(germanPage(pageWidth), shot, pageWidth, Math.round(pageWidth * Math.SQRT2));
  const found = await findPage(sharp(photo), 4000, 3000);
  if (!found.sure) throw new Error('page not found in the benchmark photo');
  const { width, height } = flatSize(found.corners);
  // What the pipeline runs (document-look.ts): metadata, grey decode of the JPEG's luma, the warp at <= 300 dpi.
  const decode = async () => {
    const input = sharp(photo);
    return decodeStored(input, await input.metadata(), photo);
  };
  const ours = await timeMedian(async () => {
    const page = warpFlat(await decode(), found.corners);
    if (page.width !== width || page.height !== height) throw new Error(`warped to ${page.width}×${page.height}, expected ${width}×${height}`);
  }, RUNS);
  const stored = await decode();
  const oursWarp = await cpuMedian(async () => warpFlat(stored, found.corners), WARP_RUNS);
  const detect = await timeMedian(() => findPage(sharp(photo), 4000, 3000), RUNS);
  // The grey decode alone, both ways grey-decode.ts could go, in CPU time.
  const luma = await cpuMedian(async () => {
    if (!jpegLuma(photo, 4000, 3000)) throw new Error('libjpeg-turbo did not decode the benchmark photo');
  }, 4 * RUNS);
  const viaSharp = await cpuMedian(() => sharp(photo).flatten({ background: '#ffffff' }).toColourspace('b-w').raw().toBuffer(), 4 * RUNS);
  const file = join(dir, 'photo.jpg');
  writeFileSync(file, photo);
  const cv = JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', cvScript, file, JSON.stringify(found.corners), String(width), String(height), String(RUNS), String(WARP_RUNS)]).toString(),
  ) as Record<'both' | 'decode' | 'warp', Timed>;
  const what = `12 MP photo: decode grey + perspective warp to ${width}×${height}`;
  const opencv = `OpenCV ${cvVersion()} in Python`;
  const cpu = (t: { cpuMs: number }) => ({ cpuMs: Number(t.cpuMs.toFixed(1)) });
  return {
    rows: [
      { name: `${what} — VS-Capture (libjpeg-turbo luma in-process with its fast integer IDCT, warp with a WebAssembly SIMD kernel, 1 thread)`, medianMs: ours, runs: RUNS },
      { name: `${what} — ${opencv} (imdecode grey with the accurate integer IDCT + warpPerspective, 1 thread)`, medianMs: cv.both.medianMs, runs: RUNS, extra: cpu(cv.both) },
      { name: `12 MP photo: decode grey alone — ${opencv} (imdecode IMREAD_GRAYSCALE: libjpeg-turbo, accurate integer IDCT)`, medianMs: cv.decode.medianMs, runs: RUNS, extra: cpu(cv.decode) },
      { name: `12 MP photo: warp alone to ${width}×${height} — VS-Capture (WebAssembly SIMD kernel, 4 pixels a step)`, medianMs: oursWarp.wallMs, runs: WARP_RUNS, extra: cpu(oursWarp) },
      { name: `12 MP photo: warp alone to ${width}×${height} — ${opencv} (warpPerspective INTER_LINEAR, 1 thread)`, medianMs: cv.warp.medianMs, runs: WARP_RUNS, extra: cpu(cv.warp) },
      { name: '12 MP photo: page detection (ours, 1000 px preview; OpenCV has no equivalent single call)', medianMs: detect, runs: RUNS },
      { name: '12 MP photo: grey decode alone — VS-Capture (libjpeg-turbo 3.0 luma in-process, TurboJPEG with TJFLAG_FASTDCT: the fast integer IDCT)', medianMs: luma.wallMs, runs: 4 * RUNS, extra: cpu(luma) },
      { name: '12 MP photo: grey decode alone — sharp (libvips: full colour decode, then grey; CPU: all its threads)', medianMs: viaSharp.wallMs, runs: 4 * RUNS, extra: cpu(viaSharp) },
    ],
    comparisons: [
      {
        name: `${what}: VS-Capture / OpenCV`,
        ratio: ours / cv.both.medianMs,
        target: '<= 1.5',
        met: ours / cv.both.medianMs <= 1.5,
        note: 'both decode only the JPEG\'s luma with libjpeg-turbo in-process (ours with the fast integer IDCT the binding sets, OpenCV with the accurate one) and warp bilinearly (the decode and warp rows split the time).',
      },
      {
        name: `warp alone, CPU time per run: VS-Capture / OpenCV (the issue's target is the row above)`,
        ratio: oursWarp.cpuMs / cv.warp.cpuMs,
        target: '<= 1.5',
        met: oursWarp.cpuMs / cv.warp.cpuMs <= 1.5,
      },
      {
        name: '12 MP photo: grey decode CPU time, libjpeg-turbo luma / sharp',
        ratio: luma.cpuMs / viaSharp.cpuMs,
        target: '< 1.0 (keep the luma decode)',
        met: luma.cpuMs < viaSharp.cpuMs,
        note: 'libjpeg-turbo decodes only the luma; where it costs more CPU than sharp, grey-decode.ts should decode with sharp.',
      },
    ],
  };
}

const cvCornersScript = `
import sys, json, numpy as np, cv2
img = cv2.imread(sys.argv[1])
s = 1000 / max(img.shape[:2]); small = cv2.resize(img, None, fx=s, fy=s)
g = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
edges = cv2.dilate(cv2.Canny(g, 50, 150), None)
contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
best = None
for c in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
    a = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
    if len(a) == 4: best = (a.reshape(4, 2) / s).tolist(); break
print(json.dumps(best))
`;

/** Corner accuracy on generated photos: ours against the usual OpenCV recipe (Canny, largest 4-point contour), as the worst corner's distance in % of the page diagonal. */
async function cornerAccuracy(dir: string): Promise<string> {
  const page = germanPage(1100);
  const cases = [
    [3, 0.03, 0.6],
    [-5.5, 0.05, 0.5],
    [8, 0.02, 0.7],
    [-7, 0.06, 0.45],
  ] as const;
  const cells: string[] = [];
  for (const [degrees, keystone, shadow] of cases) {
    const shot = photoCase({ photoWidth: 2000, photoHeight: 1500, pageWidth: 1100, degrees, scale: 0.85, keystone, shadow });
    const photo = photograph(page, shot, 1100, Math.round(1100 * Math.SQRT2));
    const file = join(dir, 'corners.jpg');
    writeFileSync(file, photo);
    const diagonal = Math.hypot(shot.corners[0][0] - shot.corners[2][0], shot.corners[0][1] - shot.corners[2][1]);
    const worst = (points: ReadonlyArray<readonly [number, number]> | null) =>
      points ? `${((Math.max(...shot.corners.map((t) => Math.min(...points.map((p) => Math.hypot(p[0] - t[0], p[1] - t[1]))))) / diagonal) * 100).toFixed(2)} %` : 'not found';
    const ours = await findPage(sharp(photo), 2000, 1500);
    const cv = JSON.parse(execFileSync('/usr/bin/python3', ['-c', cvCornersScript, file]).toString()) as Array<[number, number]> | null;
    cells.push(`${degrees}°, keystone ${keystone}, shadow ${shadow}: ours ${ours.sure ? worst(ours.corners) : 'unsure'}, OpenCV ${worst(cv)}`);
  }
  return `Corner accuracy (worst corner, % of the page diagonal; target ≤ 1 %): ${cells.join('; ')}.`;
}

function cvVersion(): string {
  return execFileSync('/usr/bin/python3', ['-c', 'import cv2; print(cv2.__version__)']).toString().trim();
}

async function ocr(dir: string): Promise<Measured> {
  const pages = Array.from({ length: PAGES }, () => germanPage(2480));
  const rendition = (await processDocument(pages.map((bytes) => ({ bytes })), testOptions())).rendition;
  const runs = Math.min(RUNS, 3);
  const ours = await cpuMedian(() => addTextLayer(rendition, { concurrency: 1, deadline: createDeadline(3_600_000) }), runs);
  const pngs = pages.map((p, i) => {
    const f = join(dir, `p${i}.png`);
    writeFileSync(f, p);
    return f;
  });
  const input = join(dir, 'pages.pdf');
  // The same page images as a plain image PDF, as a scanner writes it (img2pdf: no re-encoding).
  execFileSync('/usr/bin/python3', ['-c', 'import sys, img2pdf; open(sys.argv[1], "wb").write(img2pdf.convert(sys.argv[2:], layout_fun=img2pdf.get_layout_fun((img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297)))))', input, ...pngs]);
  const peer = await cpuMedian(
    async () => execFileSync('ocrmypdf', ['-q', '--jobs', '1', '-l', 'deu+eng', '--output-type', 'pdf', '--optimize', '0', input, join(dir, 'out.pdf')], { env: { ...process.env, OMP_THREAD_LIMIT: '1' } }),
    runs,
  );
  const perMin = (ms: number) => (PAGES / ms) * 60_000;
  const what = `OCR text layer, ${PAGES} German A4 pages at 300 dpi, deu+eng, one core`;
  const columns = (m: CpuMedian) => ({ cpuMs: Math.round(m.cpuMs), childrenCpuMs: Math.round(m.childrenMs), pagesPerMinute: Number(perMin(m.wallMs).toFixed(1)), pagesPerCpuMinute: Number(perMin(m.cpuMs).toFixed(1)) });
  return {
    rows: [
      { name: `${what} — VS-Capture (each page's JPEG's luma decoded in-process by libjpeg-turbo, skew measured on it, one tesseract for all pages of the lane (a multi-page TIFF on stdin); pdf-lib in-process; CPU: this process and its children)`, medianMs: ours.wallMs, runs, extra: columns(ours) },
      { name: `${what} — OCRmyPDF ${firstWord('ocrmypdf', ['--version'])} --jobs 1 (whole process; CPU: it and its children)`, medianMs: peer.wallMs, runs, extra: columns(peer) },
    ],
    comparisons: [
      {
        name: `${what}: pages per minute per core (CPU time), VS-Capture / OCRmyPDF`,
        ratio: peer.cpuMs / ours.cpuMs,
        target: '>= 1.0',
        met: ours.cpuMs <= peer.cpuMs,
        note: 'OCRmyPDF starts one tesseract per page, ours one per lane for all its pages (deu+eng, one thread; ~0.2 s CPU a start is loading the models); the rest is ours: the luma decode, the skew measurement and pdf-lib writing the words (childrenCpuMs: the helper processes alone).',
      },
      {
        name: `${what}: pages per minute (wall time, one page at a time), VS-Capture / OCRmyPDF`,
        ratio: peer.wallMs / ours.wallMs,
        target: '>= 1.0',
        met: ours.wallMs <= peer.wallMs,
        note: 'wall time moves with the machine\'s load; the CPU-time ratio above is the per-core figure.',
      },
    ],
  };
}

function firstWord(command: string, args: string[]): string {
  return execFileSync(command, args).toString().trim().split(/\s+/)[0] ?? '?';
}

export async function bench(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), 'vsc-bench-photo-'));
  try {
    const parts = [await perspective(dir), await ocr(dir)];
    const accuracy = await cornerAccuracy(dir);
    return {
      title: 'Photos and OCR (issue #13): perspective correction vs OpenCV, text layer vs OCRmyPDF',
      command: 'npx tsx bench/photo-ocr.ts',
      rows: parts.flatMap((p) => p.rows),
      comparisons: parts.flatMap((p) => p.comparisons),
      notes: ['Generated cases (testkit/fixtures/photos.ts): a German letter rendered with DejaVu Sans, photographed synthetically with ImageMagick (rotation, keystone, shadow, brown desk).', accuracy],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  console.log(sectionMarkdown(await bench(), (performance.now() - started) / 1000));
}
