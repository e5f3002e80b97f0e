import { PDFName } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { processDocument } from '../../src/processing/index.ts';
import { allDicts, nameValue, readPages } from '../fixtures/inspect.ts';
import { testOptions } from '../../testkit/fixtures/options.ts';
import { hostilePdf, markers } from '../../testkit/fixtures/pdfs.ts';

const forbiddenActions = ['JavaScript', 'Launch', 'ImportData', 'SubmitForm', 'GoToR', 'GoToE', 'RichMediaExecute', 'Rendition'];
const forbiddenKeys = ['JS', 'AA', 'OpenAction', 'EF', 'EmbeddedFiles', 'XFA', 'JavaScript', 'AF', 'PieceInfo'];

describe('PDF sanitizing, checked like an attacker would', () => {
  it('leaves no active content anywhere in the file, referenced or not', async () => {
    const result = await processDocument([{ bytes: await hostilePdf() }], testOptions());
    const dicts = await allDicts(result.rendition);
    for (const dict of dicts) {
      expect(forbiddenActions).not.toContain(nameValue(dict, 'S'));
      expect(['EmbeddedFile', 'Filespec']).not.toContain(nameValue(dict, 'Type'));
      expect(['FileAttachment', 'RichMedia', 'Screen']).not.toContain(nameValue(dict, 'Subtype'));
      for (const key of forbiddenKeys) expect(dict.keys().map((k) => k.decodeText())).not.toContain(key);
    }
    const raw = Buffer.from(result.rendition).toString('latin1');
    for (const marker of Object.values(markers)) expect(raw).not.toContain(marker);
    expect(raw).not.toContain('Mustermann');
    // The one metadata stream is the rendition's own XMP (PDF/A), none of the upload's.
    expect(dicts.filter((d) => d.has(PDFName.of('Metadata')))).toHaveLength(1);
    expect(raw.match(/<x:xmpmeta/g)).toHaveLength(1);
  });

  it('keeps the text and the plain https link, drops the javascript: one', async () => {
    const result = await processDocument([{ bytes: await hostilePdf() }], testOptions());
    const [page] = await readPages(result.rendition);
    expect(page!.texts.some((t) => t.str === 'Sichtbarer Inhalt')).toBe(true);
    const uris = (await allDicts(result.rendition)).filter((d) => nameValue(d, 'S') === 'URI');
    expect(uris).toHaveLength(1);
    expect(uris[0]!.toString()).toContain('bsi.bund.de');
  });

  it('reports what it removed as structured findings', async () => {
    const { findings } = await processDocument([{ bytes: await hostilePdf() }], testOptions());
    const count = (code: string) => findings.find((f) => f.code === code)?.count;
    // document-level, OpenAction, catalog AA, page AA, chained after a GoTo link
    expect(count('javascript_removed')).toBe(5);
    expect(count('launch_removed')).toBe(1);
    expect(count('import_data_removed')).toBe(1);
    expect(count('submit_form_removed')).toBe(1);
    expect(count('remote_goto_removed')).toBe(2);
    expect(count('file_attachment_removed')).toBe(1);
    expect(count('rich_media_removed')).toBe(1);
    expect(count('xfa_removed')).toBe(1);
    expect(count('unsafe_uri_removed')).toBeGreaterThanOrEqual(1);
    expect(count('unreferenced_objects_deleted')).toBeGreaterThan(0);
    for (const f of findings) expect(f.part).toBe(1);
  });
});
