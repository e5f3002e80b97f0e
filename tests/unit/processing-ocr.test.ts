/** The OCR engine's process bounds (pipe.ts) and its reading of tesseract's TSV (ocr.ts), with the real tesseract. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/kernel/errors.ts';
import { recognizePages, type OcrWord } from '../../src/processing/ocr.ts';
import { pipeThrough } from '../../src/processing/pipe.ts';
import { germanPage } from '../../testkit/fixtures/photos.ts';

const limits = { timeoutMs: 600_000, memoryBytes: 1024 ** 3, maxOutputBytes: 1024 ** 2, step: { de: 'Der Testschritt', en: 'Test step' } };

async function refusal(work: Promise<unknown>): Promise<string> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  if (!isAppError(err)) throw new Error(`expected a refusal, got ${String(err)}`);
  expect(err.code).toBe('unprocessable');
  expect(err.texts?.de).toMatch(/ist gescheitert/);
  return err.detail ?? '';
}

describe('OCR engine', () => {
  it('reads words with their lines in reading order from a German page', async () => {
    const { data, info } = await sharp(germanPage(1800, ['Prüfung nach § 12', 'Größe der Straße'])).grayscale().raw().toBuffer({ resolveWithObject: true });
    const [words, blank] = await recognizePages([{ data, width: info.width, height: info.height, dpi: 1800 / 8.27 }, { data: new Uint8Array(400 * 300).fill(255), width: 400, height: 300, dpi: 300 }]) as [OcrWord[], OcrWord[]];
    expect(blank).toEqual([]);
    expect(words.map((w) => w.text).join(' ')).toMatch(/Prüfung nach . 12 Größe der Straße/);
    const lines = [...new Set(words.map((w) => w.line))];
    expect(lines).toEqual([0, 1]);
    for (const w of words) expect(w.width * w.height).toBeGreaterThan(0);
  }, 300_000);

  it('refuses when tesseract fails, with a reason', async () => {
    const page = { data: new Uint8Array(100 * 100).fill(255), width: 100, height: 100, dpi: 300 };
    // Too little memory to load the models.
    expect(await refusal(recognizePages([page], { memoryBytes: 16 * 1024 ** 2 }))).toMatch(/^Text recognition failed/);
  });

  it('stops a process that writes too much, runs too long or asks for too much memory', async () => {
    expect(await refusal(pipeThrough('cat', [], new Uint8Array(4 * 1024 ** 2), limits))).toContain('too much output');
    expect(await refusal(pipeThrough('sleep', ['600'], new Uint8Array(0), { ...limits, timeoutMs: 200 }))).toContain('SIGKILL');
    const hungry = pipeThrough('/usr/bin/python3', ['-c', 'x = bytearray(512 * 1024 * 1024)'], new Uint8Array(0), { ...limits, memoryBytes: 128 * 1024 ** 2 });
    expect(await refusal(hungry)).toContain('exit 1');
  });
});
