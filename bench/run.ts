/**
 * `npm run bench`: every benchmark section in one run, on one throwaway Ceph RGW, and the report
 * docs/BENCHMARKS.md (machine, versions, medians, ratios against their targets). A section that fails
 * is reported as failed and the run exits non-zero after writing the report.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { startCephRgw } from '../tests/support/ceph-rgw.ts';
import type { BenchComparison, BenchSection } from './report.ts';

interface Section {
  file: string;
  load(): Promise<{ bench(): Promise<BenchSection> }>;
}

const sections: Section[] = [
  { file: 'storage.ts', load: () => import('./storage.ts') },
  { file: 'jwe.ts', load: () => import('./jwe.ts') },
  { file: 'processing.ts', load: () => import('./processing.ts') },
  { file: 'capture.ts', load: () => import('./capture.ts') },
  { file: 'viewer.ts', load: () => import('./viewer.ts') },
];

/** The load test is another engineer's; it joins the report when its file is there. */
function optionalSections(): Section[] {
  const file = 'load.ts';
  if (!existsSync(fileURLToPath(new URL(`./${file}`, import.meta.url)))) return [];
  const specifier = `./${file}`;
  return [{ file, load: () => import(specifier) as Promise<{ bench(): Promise<BenchSection> }> }];
}

type Outcome = { file: string; section: BenchSection; seconds: number } | { file: string; error: string; seconds: number };

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim();
  } catch {
    return 'not installed';
  }
}

async function packageVersion(name: string): Promise<string> {
  const file = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
  return (JSON.parse(await readFile(file, 'utf8')) as { version: string }).version;
}

async function versions(): Promise<[string, string][]> {
  const python = (code: string) => firstLine('/usr/bin/python3', ['-c', code]);
  return [
    ['Node.js', process.version],
    ['sharp / libvips', `${await packageVersion('sharp')} / ${sharp.versions.vips}`],
    ['pdf-lib', await packageVersion('pdf-lib')],
    ['pdfjs-dist', await packageVersion('pdfjs-dist')],
    ['jose', await packageVersion('jose')],
    ['qpdf', firstLine('qpdf', ['--version'])],
    ['PyMuPDF', python('import fitz; print(fitz.VersionBind, "(MuPDF", fitz.VersionFitz + ")")')],
    ['ImageMagick', firstLine('convert', ['-version'])],
    ['jwcrypto', python('import importlib.metadata as m; print(m.version("jwcrypto"))')],
    ['Chromium', firstLine('/usr/bin/chromium', ['--version'])],
    ['Ceph RGW', firstLine('radosgw', ['--version'])],
  ];
}

function loadText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function cell(value: string | number): string {
  return String(value).replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Two decimals, a third where there is one (0.253 must not read as a met 0.25). */
function ratioText(ratio: number): string {
  const rounded = ratio.toFixed(3);
  return rounded.endsWith('0') ? ratio.toFixed(2) : rounded;
}

function comparisonRow(c: BenchComparison): string {
  return `| ${cell(c.name)} | ${ratioText(c.ratio)} | ${cell(c.target)} | ${c.met ? 'met' : '**missed**'} |`;
}

function sectionText(outcome: Outcome): string {
  if ('error' in outcome) {
    return `## ${outcome.file}: failed\n\nThe section threw after ${outcome.seconds.toFixed(0)} s:\n\n\`\`\`\n${outcome.error}\n\`\`\`\n`;
  }
  const { section, seconds } = outcome;
  const extras = [...new Set(section.rows.flatMap((r) => Object.keys(r.extra ?? {})))];
  const lines = [
    `## ${section.title}`,
    '',
    `Rerun alone: \`${section.command}\` (this section took ${seconds.toFixed(0)} s).`,
    '',
    `| Measurement | Median ms | Runs |${extras.map((e) => ` ${e} |`).join('')}`,
    `|---|---:|---:|${extras.map(() => '---:|').join('')}`,
    ...section.rows.map((r) => `| ${cell(r.name)} | ${ms(r.medianMs)} | ${r.runs} |${extras.map((e) => ` ${cell(r.extra?.[e] ?? '')} |`).join('')}`),
    '',
  ];
  if (section.comparisons.length > 0) {
    lines.push('| Comparison | Ratio | Target | Result |', '|---|---:|---|---|', ...section.comparisons.map(comparisonRow), '');
  }
  const missed = section.comparisons.filter((c) => !c.met);
  if (missed.length > 0) {
    lines.push('Missed targets, why, and what would close the gap:', '', ...missed.map((c) => `- **${c.name}** (${ratioText(c.ratio)}, target ${c.target}): ${c.note ?? 'no explanation given by the section'}`), '');
  }
  if (section.notes?.length) lines.push('Notes:', '', ...section.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

function summary(outcomes: Outcome[]): string {
  const rows = outcomes.flatMap((o) =>
    'error' in o ? [`| ${o.file} | — | — | **section failed** |`] : o.section.comparisons.map(comparisonRow),
  );
  return ['| Comparison | Ratio | Target | Result |', '|---|---:|---|---|', ...rows, ''].join('\n');
}

async function report(outcomes: Outcome[], before: string, after: string, started: Date, totalSeconds: number): Promise<string> {
  const cpu = cpus();
  const machine = [
    `- CPU: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores`,
    `- RAM: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Linux ${release()}`,
    `- Load average (1 / 5 / 15 min): ${before} before, ${after} after the run. The machine is shared with other engineers' test runs; ratios are measured within one run and are steadier than absolute times.`,
    `- Run: ${started.toISOString()}, ${(totalSeconds / 60).toFixed(1)} min.`,
  ];
  return [
    '# VS-Capture benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts); do not edit by hand. Every section ran in the same run, on the same machine, against one throwaway Ceph RGW.',
    '',
    '## Machine',
    '',
    ...machine,
    '',
    '## Versions',
    '',
    '| Component | Version |',
    '|---|---|',
    ...(await versions()).map(([name, version]) => `| ${name} | ${cell(version)} |`),
    '',
    '## All targets',
    '',
    summary(outcomes),
    ...outcomes.map(sectionText),
    '## Reproduce',
    '',
    '- Everything: `npm run bench` (installs missing Debian packages first when run as root: qpdf, PyMuPDF, ImageMagick, jwcrypto, Chromium, Ceph), then writes this file.',
    '- One section: the command under its heading, e.g. `npx tsx bench/processing.ts`; it prints the section as JSON. Sections that need S3 use `S3_ENDPOINT`, `S3_ACCESS_KEY`, `S3_SECRET_KEY` when set, or start their own Ceph RGW.',
    '- Medians are over the runs shown after warm-up runs; compare ratios, not absolute times, between machines.',
    '',
  ].join('\n');
}

async function runSection(section: Section): Promise<Outcome> {
  const t0 = performance.now();
  console.error(`[bench] ${section.file} …`);
  try {
    const result = await (await section.load()).bench();
    return { file: section.file, section: result, seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`[bench] ${section.file} failed: ${error}`);
    return { file: section.file, error, seconds: (performance.now() - t0) / 1000 };
  }
}

const started = new Date();
const t0 = performance.now();
const before = loadText();
const rgw = await startCephRgw();
const outcomes: Outcome[] = [];
try {
  Object.assign(process.env, { S3_ENDPOINT: rgw.endpoint, S3_ACCESS_KEY: rgw.accessKey, S3_SECRET_KEY: rgw.secretKey, S3_REGION: rgw.region });
  for (const section of [...sections, ...optionalSections()]) outcomes.push(await runSection(section));
} finally {
  await rgw.stop();
}
const out = fileURLToPath(new URL('../docs/BENCHMARKS.md', import.meta.url));
await writeFile(out, await report(outcomes, before, loadText(), started, (performance.now() - t0) / 1000));
console.error(`[bench] wrote ${out}`);
if (outcomes.some((o) => 'error' in o)) process.exitCode = 1;
