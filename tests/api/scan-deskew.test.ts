/**
 * Deskew for scans, through the API with the text layer job on: a generated German page scanned 2°, 4°
 * and −6° askew, as a PNG and as an image-only PDF (img2pdf, as a scanner writes it), comes back in the
 * final rendition straight (ImageMagick's `-deskew` on a poppler render measures within 0.2°) and read
 * (pdftotext within 1 % character error rate), its scanned pixels untouched; a straight scan is not turned.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { characterErrorRate, germanPage, germanText } from '../../testkit/fixtures/photos.ts';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

const UNIT = 'BA-Nord';
/** A hang guard for a loaded CI machine (OCR of several pages); never a speed check. */
const slow = 600_000;
const page = germanPage(1240);

const t = withTestApp({
  env: { OCR: 'on' },
  agent: openapiAgent,
  users: {
    capturer: { sub: 'u-scan', roles: ['capture', 'read'], units: [UNIT] },
    reader: { sub: 'u-arch', roles: ['export', 'read'], units: [UNIT] },
  },
});

function tilted(degrees: number): Buffer {
  // ImageMagick turns clockwise for positive angles, onto a canvas that grows, on white: a sheet fed askew.
  return degrees === 0 ? page : execFileSync('convert', ['png:-', '-background', 'white', '-rotate', String(degrees), '-alpha', 'off', '-colorspace', 'gray', '-depth', '8', 'png:-'], { input: page, maxBuffer: 1e8 });
}

function imageOnlyPdf(png: Buffer): Buffer {
  const script = 'import sys, img2pdf; sys.stdout.buffer.write(img2pdf.convert(sys.stdin.buffer.read(), layout_fun=img2pdf.get_layout_fun((img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297)))))';
  return execFileSync('/usr/bin/python3', ['-c', script], { input: png, maxBuffer: 1e8 });
}

async function captureScan(body: Buffer, contentType: string): Promise<string> {
  const res = await attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.capturer}`), { title: 'Eingang Scan schief', source: 'scanner' }, [{ body, contentType }]).expect(201);
  return res.body.id;
}

/** Polls until the text layer job decided (no clock). */
async function settled(id: string): Promise<Record<string, any>> {
  for (;;) {
    const res = await t.api.get(`/v1/documents/${id}`).set('Authorization', `Bearer ${t.tokens.reader}`).expect(200);
    if (res.body.textLayer.status !== 'pending') return res.body;
    await sleep(100);
  }
}

async function content(id: string): Promise<Buffer> {
  const res = await t.api.get(`/v1/documents/${id}/content`).set('Authorization', `Bearer ${t.tokens.reader}`).responseType('blob').expect(200);
  return res.body as Buffer;
}

/** SHA-256 of every image's stored bytes, as pikepdf reads them: the same list means no pixel was resampled. */
function imageHashes(pdf: Buffer): string[] {
  const script = 'import io, sys, hashlib, pikepdf\npdf = pikepdf.open(io.BytesIO(sys.stdin.buffer.read()))\nfor o in pdf.objects:\n    if isinstance(o, pikepdf.Stream) and o.get("/Subtype") == "/Image": print(hashlib.sha256(o.read_raw_bytes()).hexdigest())';
  return execFileSync('/usr/bin/python3', ['-c', script], { input: pdf }).toString().trim().split('\n').sort();
}

/** Page 1's content streams as pikepdf decodes them: a hash each, and whether one holds a `cm` that turns (b or c not 0). */
function pageStreams(pdf: Buffer): Array<{ sha256: string; turns: boolean }> {
  const script = [
    'import io, sys, json, hashlib, re, pikepdf',
    'pdf = pikepdf.open(io.BytesIO(sys.stdin.buffer.read()))',
    'c = pdf.pages[0].obj.Contents',
    'streams = list(c) if isinstance(c, pikepdf.Array) else [c]',
    'num = r"(-?[0-9.]+)"',
    'cm = re.compile((num + r"\\s+") * 6 + "cm")',
    'def turns(data): return any(float(m.group(2)) != 0 or float(m.group(3)) != 0 for m in cm.finditer(data.decode("latin1")))',
    'print(json.dumps([{"sha256": hashlib.sha256(s.read_bytes()).hexdigest(), "turns": turns(s.read_bytes())} for s in streams]))',
  ].join('\n');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: pdf }).toString());
}

/** The page between the marking bands (A4: 24 pt header, 18 pt footer), in points, for poppler's crop options. */
const area = ['-x', '0', '-y', '26', '-W', '595', '-H', '796'];

/** The tilt ImageMagick's -deskew finds on poppler's render of the page's content area, in degrees. */
function measuredTilt(pdf: Buffer): number {
  const png = execFileSync('pdftoppm', ['-png', '-gray', '-r', '150', '-f', '1', '-l', '1', '-x', '0', '-y', String(Math.round((26 * 150) / 72)), '-W', '1240', '-H', String(Math.round((796 * 150) / 72)), '-'], { input: pdf, maxBuffer: 1e8 });
  return Number(execFileSync('convert', ['png:-', '-deskew', '40%', '-format', '%[deskew:angle]', 'info:'], { input: png }).toString());
}

describe('deskew for scans (text layer job)', () => {
  const cases = [2, 4, -6].flatMap((degrees) => [
    { degrees, kind: 'PNG' as const },
    { degrees, kind: 'image-only PDF' as const },
  ]);
  it.each(cases)('a $kind scanned $degrees° askew ends straight and read within 1 % character error rate', async ({ degrees, kind }) => {
    const png = tilted(degrees);
    const id = kind === 'PNG' ? await captureScan(png, 'image/png') : await captureScan(imageOnlyPdf(png), 'application/pdf');
    const first = await content(id);
    // The measure works: it finds the tilt in the captured rendition (its sign convention aside).
    expect(Math.abs(Math.abs(measuredTilt(first)) - Math.abs(degrees))).toBeLessThan(0.5);
    const doc = await settled(id);
    expect(doc.textLayer.status).toBe('ready');
    const final = await content(id);
    expect(Math.abs(measuredTilt(final))).toBeLessThanOrEqual(0.2);
    const text = execFileSync('pdftotext', ['-r', '72', ...area, '-', '-'], { input: final }).toString();
    expect(characterErrorRate(germanText.join('\n'), text)).toBeLessThanOrEqual(0.01);
    const finding = doc.transferNote.findings.find((f: { code: string }) => f.code === 'deskewed');
    expect(finding?.message).toMatch(new RegExp(`^Seite 1 um ${Math.abs(degrees)},[0-9]° gerade gerichtet / page 1 straightened by ${Math.abs(degrees)}\\.[0-9]°$`));
    // Turned by the page, not resampled: the scan's image is the one captured.
    expect(imageHashes(final)).toEqual(imageHashes(first));
    expect([pageStreams(first).some((c) => c.turns), pageStreams(final).some((c) => c.turns)]).toEqual([false, true]);
  }, slow);

  it('leaves a straight scan unturned', async () => {
    const id = await captureScan(tilted(0), 'image/png');
    const first = await content(id);
    const doc = await settled(id);
    expect(doc.textLayer.status).toBe('ready');
    const final = await content(id);
    expect(doc.transferNote.findings.map((f: { code: string }) => f.code)).not.toContain('deskewed');
    expect(Math.abs(measuredTilt(final))).toBeLessThanOrEqual(0.2);
    expect(imageHashes(final)).toEqual(imageHashes(first));
    // Only the text layer came: the captured content streams are all there unchanged, and nothing turns the page.
    const before = pageStreams(first);
    const after = pageStreams(final);
    expect(after.map((c) => c.sha256)).toEqual(expect.arrayContaining(before.map((c) => c.sha256)));
    expect(after.filter((c) => c.turns)).toEqual([]);
  }, slow);
});
