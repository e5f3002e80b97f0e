/**
 * Review finding (#13/#14): `q=` finds documents by words of their pages only where OCR added them.
 * A born-digital PDF keeps its real text (embedded font, so the rendition carries it as text) and the
 * text layer adds nothing, so none of its page words reaches the blind index: pdftotext reads the word
 * in the rendition, the search does not find the document.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import fontkit from '@pdf-lib/fontkit';
import { PDFDocument } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { attachCapture } from '../../testkit/capture-fixtures.ts';
import { openapiAgent } from '../support/openapi.ts';
import { withTestApp } from '../../testkit/with-test-app.ts';

const UNIT = 'BA-Suche';

async function bornDigital(words: string): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.registerFontkit(fontkit);
  const font = await doc.embedFont(readFileSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf'), { subset: true });
  doc.addPage([595, 842]).drawText(words, { x: 50, y: 600, size: 18, font });
  return Buffer.from(await doc.save({ useObjectStreams: false }));
}

describe('search by the words of a born-digital page', () => {
  const t = withTestApp({ env: { OCR: 'on' }, agent: openapiAgent, users: { reader: { sub: 'u-read', roles: ['capture', 'read', 'export'], units: [UNIT] } } });

  it('finds the document by a word on its page once the text layer is in', async () => {
    const pdf = await bornDigital('Zauberspruch Eingebettet');
    const created = await attachCapture(t.api.post('/v1/documents').set('Authorization', `Bearer ${t.tokens.reader}`), { title: 'Bescheid' }, [{ body: pdf, contentType: 'application/pdf' }]).expect(201);
    const id = created.body.id as string;
    let doc: { textLayer: { status: string } };
    for (;;) {
      doc = (await t.api.get(`/v1/documents/${id}`).set('Authorization', `Bearer ${t.tokens.reader}`).expect(200)).body;
      if (doc.textLayer.status !== 'pending') break;
      await sleep(100);
    }
    expect(doc.textLayer.status).toBe('ready');
    const content = await t.api.get(`/v1/documents/${id}/content`).set('Authorization', `Bearer ${t.tokens.reader}`).responseType('blob').expect(200);
    expect(execFileSync('pdftotext', ['-', '-'], { input: content.body as Buffer }).toString()).toContain('Zauberspruch');
    const found = await t.api.get('/v1/documents').query({ q: 'zauberspruch' }).set('Authorization', `Bearer ${t.tokens.reader}`).expect(200);
    expect(found.body.items.map((d: { id: string }) => d.id)).toEqual([id]);
    // The marking is on every page: its words find no document.
    const marking = await t.api.get('/v1/documents').query({ q: 'dienstgebrauch' }).set('Authorization', `Bearer ${t.tokens.reader}`).expect(200);
    expect(marking.body.items).toEqual([]);
  });
});
