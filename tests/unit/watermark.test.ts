import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { RawPage } from '../../src/processing/rasterize.ts';
import { watermark, watermarkLines, watermarkTile } from '../../src/processing/watermark.ts';

const text = { readerName: 'Erika Mustermann', readerId: 'u1', documentId: '01JDV8K0000000000000000000', at: new Date('2026-07-01T12:00:00Z') };

function whitePage(width: number, height: number): RawPage {
  return { pixels: new Uint8Array(width * height * 4).fill(255), width, height };
}

/** Share of pixels darker than paper, and the darkest value seen. */
async function ink(image: Uint8Array): Promise<{ share: number; darkest: number }> {
  const { data } = await sharp(image).greyscale().raw().toBuffer({ resolveWithObject: true });
  let marked = 0;
  let darkest = 255;
  for (const v of data) {
    if (v < 245) marked++;
    darkest = Math.min(darkest, v);
  }
  return { share: marked / data.length, darkest };
}

describe('watermark', () => {
  it('names reader, id, Berlin date and time and the document', () => {
    expect(watermarkLines(text)).toEqual(['Erika Mustermann (u1)', '01.07.2026, 14:00 Uhr', 'Dokument 01JDV8K0000000000000000000']);
    expect(watermarkLines({ ...text, at: new Date('2026-01-15T12:00:00Z') })[1]).toBe('15.01.2026, 13:00 Uhr');
  });

  it('never cuts the reader id: a long name is shortened, a long id gets lines of its own', () => {
    const name = 'Dr. Maximiliane Erika Sophie von und zu Mustermann-Beispielhausen';
    const [line] = watermarkLines({ ...text, readerName: name, readerId: 'u-4711' });
    expect(line).toMatch(/… \(u-4711\)$/);
    expect(line!.length).toBeLessThanOrEqual(60);
    const longId = 'f3c1a2b4-5d6e-4f70-8a9b-0c1d2e3f4a5b@idp.behoerde.example.de/realms/x';
    const lines = watermarkLines({ ...text, readerName: name, readerId: longId });
    expect(lines.slice(1, -2).join('')).toBe(`(${longId})`);
    expect(lines[0]).toMatch(/^Dr\. Maximiliane/);
  });

  it('burns a light, repeated mark into every region of the page, keeping its size', async () => {
    const out = await watermark(whitePage(1200, 1700), text);
    expect(out).toMatchObject({ mediaType: 'image/webp', width: 1200, height: 1700 });
    const whole = await ink(out.bytes);
    // Visible, yet semi-transparent: never near black, covering a small share of the page.
    expect(whole.share).toBeGreaterThan(0.01);
    expect(whole.share).toBeLessThan(0.2);
    expect(whole.darkest).toBeGreaterThan(120);
    for (const [left, top] of [[0, 0], [600, 0], [0, 850], [600, 850]] as const) {
      const quarter = await sharp(out.bytes).extract({ left, top, width: 600, height: 850 }).toBuffer();
      expect((await ink(quarter)).share).toBeGreaterThan(0.005);
    }
  });

  it('escapes names so they cannot change the SVG', () => {
    const { svg } = watermarkTile(1000, { ...text, readerName: '<b>Mallory</b> & "Co"\u0000' });
    expect(svg).toContain('&#60;b&#62;Mallory&#60;/b&#62; &#38; &#34;Co&#34;');
    expect(svg).not.toContain('\u0000');
  });
});
