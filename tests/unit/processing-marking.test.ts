import { describe, expect, it } from 'vitest';
import { processDocument } from '../../src/processing/index.ts';
import { readPages, type SeenPage } from '../fixtures/inspect.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { textPdf, type PageShape } from '../../testkit/fixtures/pdfs.ts';

const level = 'VS-NUR FÜR DEN DIENSTGEBRAUCH';

function find(page: SeenPage, text: string) {
  const hit = page.texts.find((t) => t.str.includes(text));
  expect(hit, `"${text}" on the page`).toBeDefined();
  return hit!;
}

const shapes: Record<string, PageShape> = {
  'A4': {},
  'CropBox offset': { cropBox: [80, 120, 400, 500] },
  'MediaBox origin not 0': { mediaBox: [-300, 200, 595, 842] },
  'UserUnit 2 (small user space)': { size: [300, 420], userUnit: 2 },
  'landscape': { size: [842, 595] },
};

describe('VS-NfD marking as a reader sees it', () => {
  for (const [shapeName, shape] of Object.entries(shapes)) {
    for (const rotate of [0, 90, 180, 270]) {
      it(`is upright at the top, footer at the bottom, content uncovered: ${shapeName}, /Rotate ${rotate}`, async () => {
        const result = await processDocument([{ bytes: await textPdf(2, { ...shape, rotate }) }], testOptions());
        const pages = await readPages(result.rendition);
        expect(pages).toHaveLength(2);
        pages.forEach((page, i) => {
          const header = find(page, level);
          const footer = find(page, `Seite ${i + 1} von 2`);
          const body = find(page, `Inhalt Seite ${i + 1}`);
          expect(header.upright && footer.upright).toBe(true);
          for (const t of [header, footer]) {
            expect(t.x).toBeGreaterThanOrEqual(0);
            expect(t.x).toBeLessThan(page.width);
          }
          expect(header.y).toBeGreaterThan(0);
          expect(header.y).toBeLessThan(Math.max(30, page.height * 0.06));
          expect(footer.y).toBeGreaterThan(page.height * 0.94);
          expect(footer.y).toBeLessThanOrEqual(page.height);
          expect(body.y).toBeGreaterThan(header.y + 5);
          expect(body.y).toBeLessThan(footer.y - 5);
        });
      });
    }
  }

  it('prints office, Berlin date, page count and document id in the footer', async () => {
    const result = await processDocument([{ bytes: await textPdf(1) }], testOptions());
    const [page] = await readPages(result.rendition);
    // 23:30 UTC on New Year's Eve is already 1 January in Berlin.
    find(page!, 'Bundesamt für Beispiele · 01.01.2026 · Seite 1 von 1 · 01JDOC0000000000000000TEST');
  });

  it('gives OFFEN documents the footer but no level marking', async () => {
    const result = await processDocument([{ bytes: await textPdf(1) }], testOptions({}, { classification: 'OFFEN' }));
    const [page] = await readPages(result.rendition);
    expect(page!.texts.some((t) => t.str.includes('VS-'))).toBe(false);
    find(page!, 'Seite 1 von 1');
  });

  it.each(['VS-VERTRAULICH', 'GEHEIM', 'STRENG GEHEIM', 'whatever'])('refuses classification %s', async (level) => {
    const options = testOptions({}, { classification: level as 'VS-NfD' });
    await expect(processDocument([{ bytes: await textPdf(1) }], options)).rejects.toMatchObject({ code: 'classification_refused' });
  });

  it('takes configured templates and replaces only what the embedded font cannot print', async () => {
    const options = testOptions({}, { templates: { footer: '{office} → {page}/{pages}' }, issuingOffice: 'Amt Łódź 中' });
    const [page] = await readPages((await processDocument([{ bytes: await textPdf(1) }], options)).rendition);
    find(page!, 'Amt Łódź ? → 1/1');
    find(page!, level);
  });
});
