/**
 * The multi-page grey TIFF tesseract reads several pages from (tiff.ts), checked with readers we did not
 * write: ImageMagick finds every page with its size, resolution and pixels, and tesseract reads each page
 * at that page's own resolution (its PDF output sizes each page by the resolution it read it at).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { multiPageTiff, type TiffPage } from '../../src/processing/tiff.ts';

/** A grey page of a pattern of its own, so pages cannot pass for each other. */
function page(width: number, height: number, dpi: number, seed: number): TiffPage {
  const data = new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = (i * seed + (i >> 7)) % 256;
  return { data, width, height, dpi };
}

describe('multi-page TIFF', () => {
  // Odd sizes: the IFD after an odd strip must still start on a word boundary.
  const pages = [page(301, 201, 300, 7), page(150, 75, 150, 13), page(217, 99, 218, 29)];
  const tiff = multiPageTiff(pages);

  it('holds every page with its own size, resolution and pixels, uncompressed 8-bit grey', () => {
    const described = execFileSync('identify', ['-format', '%p %w %h %x %y %U %[bit-depth] %C %[colorspace]\n', 'tiff:-'], { input: tiff }).toString();
    expect(described.trim().split('\n')).toEqual(pages.map((p, i) => `${i} ${p.width} ${p.height} ${p.dpi} ${p.dpi} PixelsPerInch 8 None Gray`));
    pages.forEach((p, i) => {
      const pixels = execFileSync('convert', [`tiff:-[${i}]`, '-depth', '8', 'gray:-'], { input: tiff });
      expect(Buffer.compare(pixels, Buffer.from(p.data))).toBe(0);
    });
  });

  it('is read by tesseract page by page, each at its own resolution', () => {
    const pdf = execFileSync('tesseract', ['stdin', 'stdout', '-l', 'eng', 'pdf'], { input: tiff, stdio: ['pipe', 'pipe', 'ignore'] });
    const info = execFileSync('pdfinfo', ['-l', '3', '-'], { input: pdf }).toString();
    const sizes = [...info.matchAll(/Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(sizes).toHaveLength(3);
    sizes.forEach(([w, h], i) => {
      expect(w).toBeCloseTo((pages[i]!.width * 72) / pages[i]!.dpi, 1);
      expect(h).toBeCloseTo((pages[i]!.height * 72) / pages[i]!.dpi, 1);
    });
  });

  it('refuses pages whose bytes do not match their size', () => {
    expect(() => multiPageTiff([{ data: new Uint8Array(10), width: 4, height: 4, dpi: 300 }])).toThrow(/16 bytes/);
    expect(() => multiPageTiff([])).toThrow(/at least one page/);
  });
});
