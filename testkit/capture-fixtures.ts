import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import sharp from 'sharp';
import type { JWK } from 'jose';
import type { Test } from 'supertest';

/** A unique string that must never be found outside the encrypted store. */
export function newMarker(): string {
  return `MARKER-${randomBytes(8).toString('hex')}`;
}

/** A small photo-like JPEG whose EXIF description carries `marker`. */
export async function jpegWithMarker(marker: string, width = 640, height = 480): Promise<Buffer> {
  const noise = randomBytes(width * height * 3);
  return sharp(noise, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 80 })
    .withExif({ IFD0: { ImageDescription: marker, Make: 'TestCam' } })
    .toBuffer();
}

/** A text PDF whose uncompressed content stream spells `text` on each page. */
export async function pdfWithText(text: string, pages = 1): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let i = 0; i < pages; i++) {
    doc.addPage([595, 842]).drawText(`${text} ${i + 1}`, { x: 50, y: 700, size: 14, font });
  }
  return Buffer.from(await doc.save({ useObjectStreams: false }));
}

/** Files under `dir` whose bytes contain `needle`. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await readFile(file)).includes(needle)) hits.push(file);
  }
  return hits;
}

export interface Part {
  body: Buffer | string;
  contentType: string;
}

/** Attaches a capture's parts to a supertest request the way a container app sends them. */
export function attachCapture(req: Test, metadata: object | string, files: Part[]): Test {
  const meta = typeof metadata === 'string' ? metadata : JSON.stringify(metadata);
  req.field('metadata', meta);
  for (const [i, file] of files.entries()) {
    req.attach('file', Buffer.from(file.body), { filename: `part-${i + 1}`, contentType: file.contentType });
  }
  return req;
}

/** The public JWK of the given algorithm/curve from a JWKS. */
export function pickKey(jwks: { keys: JWK[] }, alg: string, crv?: string): JWK {
  const key = jwks.keys.find((k) => k.alg === alg && (crv === undefined || k.crv === crv));
  if (!key) throw new Error(`no ${alg} ${crv ?? ''} key in JWKS`);
  return key;
}
