/**
 * The marking's fonts are parsed once per worker thread (pdfa.ts): a worker's later renditions must carry
 * their own subsets, exactly as a fresh worker makes them, and stay PDF/A for poppler and qpdf.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createProcessingPool } from '../../src/processing/pool.ts';
import { readPages } from '../fixtures/inspect.ts';
import { pdffonts, qpdfCheck } from '../fixtures/pdf-readers.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { textPdf } from '../../testkit/fixtures/pdfs.ts';
import type { MarkingOptions } from '../../src/processing/types.ts';

/** poppler's text of a PDF (page 1), read from stdin. */
const pdftotext = (pdf: Uint8Array) => execFileSync('pdftotext', ['-f', '1', '-l', '1', '-', '-'], { input: pdf }).toString('utf8');

/** Two offices whose footers need different glyphs (Q, Z, ö against B, ü). */
const offices = ['Bundesamt für Beispiele', 'Quellenamt Zwölf'];

describe('marking fonts parsed once per worker', () => {
  const warm = createProcessingPool({ threads: 1, maxQueue: 1 });
  const fresh = createProcessingPool({ threads: 1, maxQueue: 1 });
  afterAll(() => Promise.all([warm.close(), fresh.close()]));

  it('gives each of two renditions in a row its own font subset, byte for byte as a fresh worker does', async () => {
    const pdf = await textPdf(1);
    const make = async (pool: typeof warm, office: string) => Buffer.from((await pool.process([{ bytes: pdf }], testOptions({}, { issuingOffice: office }))).rendition);
    const first = await make(warm, offices[0]!);
    const second = await make(warm, offices[1]!);
    // The second office first in its own worker: parsed there for this rendition alone.
    const alone = await make(fresh, offices[1]!);

    expect(second.equals(alone), 'the warm worker\'s second rendition equals a fresh worker\'s').toBe(true);
    expect(second.equals(first)).toBe(false);
    for (const [rendition, office] of [[first, offices[0]!], [second, offices[1]!]] as const) {
      const fonts = await pdffonts(rendition);
      // pdf-lib names a subset by PostScript name and a tag: the level alone in the bold face, the footer in the regular one.
      const faces = fonts.map((f) => f.name.replace(/-\d+$/, ''));
      expect(faces.filter((face) => face === 'DejaVuSans-Bold')).toHaveLength(1);
      expect(faces).toContain('DejaVuSans');
      expect(fonts.filter((f) => !f.embedded), 'fonts not embedded').toEqual([]);
      const qpdf = await qpdfCheck(rendition);
      expect(qpdf.ok, qpdf.report).toBe(true);
      const [page] = await readPages(rendition);
      expect(page!.texts.some((t) => t.str.includes(office)), `footer names ${office}`).toBe(true);
    }
  });

  it('an OFFEN rendition (no header glyphs) then one with a header of other letters: each as a fresh worker makes it, poppler reads both texts', async () => {
    const pdf = await textPdf(1);
    const offen: Partial<MarkingOptions> = { classification: 'OFFEN', issuingOffice: 'Amt Ohne Kopf' };
    const custom: Partial<MarkingOptions> = { issuingOffice: 'Ämter Jütland', templates: { header: 'VS-NfD · ÆØÅ Ђ Ж {level}' } };
    const make = async (pool: typeof warm, marking: Partial<MarkingOptions>) => Buffer.from((await pool.process([{ bytes: pdf }], testOptions({}, marking))).rendition);
    const first = await make(warm, offen);
    const second = await make(warm, custom);
    // A worker of its own: the other pools have parsed the fonts already.
    const unused = createProcessingPool({ threads: 1, maxQueue: 1 });
    const alone = await make(unused, custom).finally(() => unused.close());
    expect(second.equals(alone), 'the warm worker\'s rendition equals a fresh worker\'s').toBe(true);
    expect(pdftotext(first)).toContain('Amt Ohne Kopf');
    expect(pdftotext(first)).not.toContain('VS-NfD');
    const text = pdftotext(second);
    expect(text).toContain('ÆØÅ Ђ Ж');
    expect(text).toContain('Ämter Jütland');
  });
});
