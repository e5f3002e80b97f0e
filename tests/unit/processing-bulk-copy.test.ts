import { randomBytes } from 'node:crypto';
import { PDFDocument } from 'pdf-lib';
import { describe, expect, it } from 'vitest';
import { bulkCopyLargeStreams } from '../../src/processing/bulk-copy.ts';

/** A document with one large and one small stream, saved the same way every time. */
async function sample(payload: Uint8Array): Promise<PDFDocument> {
  const doc = await PDFDocument.create();
  // Fixed dates: two saves straddling a second would differ in CreationDate/ModDate alone.
  doc.setCreationDate(new Date('2026-01-01T00:00:00Z'));
  doc.setModificationDate(new Date('2026-01-01T00:00:00Z'));
  doc.addPage();
  doc.context.register(doc.context.stream(payload, { Filter: 'DCTDecode' }));
  doc.context.register(doc.context.stream('BT ET'));
  return doc;
}

describe('bulkCopyLargeStreams', () => {
  it('writes byte for byte what pdf-lib writes', async () => {
    const payload = randomBytes(200_000);
    const save = (doc: PDFDocument) => doc.save({ useObjectStreams: false });
    const plain = await save(await sample(payload));
    const bulk = await sample(payload);
    bulkCopyLargeStreams(bulk.context);
    expect(Buffer.from(await save(bulk)).equals(Buffer.from(plain))).toBe(true);
  });
});
